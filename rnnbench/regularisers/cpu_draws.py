"""Weight-noise draws on the CPU at the cost of their arithmetic (001 §8-9, issue 31).

A weight-noise site resampled at every step (RNN-N, -MN, -DO, -FF) draws a whole matrix per time step,
T x H x H numbers per batch (16M at JSB's shape): with torch's CPU generator (mt19937, about 4 ns a
uniform, 6 ns a normal) the draw alone cost more than the plain sRNN step, and the (T, H, H) tensors
that the corrupted weights and their gradients made cost several passes through memory more. Here:

- the bits come from numpy's SFC64 (about 0.5 ns per 16 bits), seeded at each draw by one number
  from torch's default generator, so a run is still a function of its seed and a resumed run (the
  checkpoint holds torch's RNG state) draws what the uninterrupted one drew. The streams are advanced by a
  small C kernel where the machine can build it (native.py, sfc64.c); where it is not built, numpy and torch
  compute the same operations, so the numbers do not depend on the path. A float32 normal draw (``Lanes``)
  comes from 32 streams seeded from the same number: eight advanced side by side in one vector for each of
  four chunks of the matrix, the chunks on torch's threads, each turned into normals in the same pass while
  in cache (one stream, then torch's passes for the uniforms, log, sqrt, cos, sin and the products, were most
  of a per-step Gaussian draw);
- Bernoulli(q) is exact: in float32 (``Lanes.keep``) a number of the lanes keeps where its top 53 bits are
  below ceil(q 2^53); in float64 a 16-bit word u of the one stream keeps where u < floor(q 2^16), and the words
  equal to it (probability 2^-16) keep with the remaining fraction by a 53-bit uniform;
- N(0, 1) is Box-Muller on 24-bit uniforms, the transform torch's own CPU ``normal_`` uses: in float32
  with its log, cos and sin as polynomials accurate to a few ulps (the angle reduced exactly on the integer
  word), in float64 on 53-bit uniforms with torch's functions;
- each step's matrix is drawn where it is used (``Steps``: when the unroll reaches that step), one (H, H)
  block at a time in cache, never as one (T, H, H) tensor (weight_noise.py); autograd then adds the T
  per-step gradients into W's. The bits are those of drawing all T at once: the stream is seeded when
  the batch's noise is drawn, and its matrices come out of it in step order.

Used for single models on the CPU only (``applies``): CUDA keeps torch's (fast) generator, and a
stacked population under vmap keeps torch's per-member streams (randomness="different").
"""
from __future__ import annotations

import ctypes
import math
from typing import Union

import numpy as np
import torch
from torch._C._functorch import is_functorch_wrapped_tensor

from rnnbench.regularisers import native

_WORD = 2**16  # the resolution of the Bernoulli comparison; ties are refined below it


class Steps:
    """The n matrices of one per-step draw, each made by ``make()`` when the unroll reaches its step, in step
    order and once (a second pass would continue the stream: it is refused). ``len`` is n."""

    def __init__(self, n: int, make):
        self.n, self._make, self._drawn = n, make, False

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        if self._drawn:
            raise RuntimeError("a per-step weight draw is drawn once, step by step: iterate it once")
        self._drawn = True
        return (self._make() for _ in range(self.n))


# n weights of one update as the unroll takes them: a stacked (n, ...) tensor (torch's generator), a
# one-matrix list (a per-sequence CPU draw) or Steps (a per-step CPU draw: iterable once, not indexable)
Draw = Union[torch.Tensor, list[torch.Tensor], Steps]


def steps(n: int, make) -> Draw:
    """n draws of ``make()``: ``Steps`` for n > 1, a one-matrix list for a per-sequence draw (n = 1)."""
    return Steps(n, make) if n > 1 else [make()]


def applies(w: torch.Tensor) -> bool:
    """Whether ``w``'s noise is drawn here: a plain CPU tensor (not a vmapped population member's)."""
    return w.device.type == "cpu" and not is_functorch_wrapped_tensor(w)


def _u64p(a: np.ndarray):
    """The kernel's view of a uint64 numpy array (a stream state, or numbers to fill)."""
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64))


def _f32p(t: torch.Tensor):
    """The kernel's view of a contiguous float32 tensor it fills."""
    return ctypes.cast(t.data_ptr(), ctypes.POINTER(ctypes.c_float))


class Bits:
    """numpy's SFC64 stream, advanced by the native kernel (native.py) where it is built, by numpy otherwise:
    the same numbers either way. ``raw(n)``: its next n 64-bit numbers, as numpy's ``random_raw``."""

    def __init__(self, seed: int):
        self._seed = seed
        self._numpy = np.random.SFC64(seed)  # seeds the stream; draws it where the kernel is not built
        self._lib = native.library()
        # the kernel's copy of the state (a, b, c, counter); numpy's object is not used past this point
        self._state = self._numpy.state["state"]["state"].copy() if self._lib is not None else None
        self._lanes = None

    @property
    def lanes(self) -> "Lanes":
        """The float32 normals' streams, seeded from the same seed (``Lanes``)."""
        if self._lanes is None:
            self._lanes = Lanes(self._seed, self._lib)
        return self._lanes

    def raw(self, n: int) -> np.ndarray:
        if self._lib is None:
            return self._numpy.random_raw(n)
        out = np.empty(n, dtype=np.uint64)
        self._lib.sfc64_raw(_u64p(self._state), n, _u64p(out))
        return out

    def normal_f32(self, pairs: int, std: float, mean: float) -> torch.Tensor:
        """``pairs`` pairs of N(mean, std^2) float32 numbers, a (pairs, 2) tensor (``Lanes``)."""
        return self.lanes.draw(pairs, std, mean)


class Lanes:
    """The float32 normals' streams: 32 SFC64 streams seeded by numpy's SeedSequence(seed).spawn(32). A draw of
    ``pairs`` pairs cuts them into four chunks (one per thread, up to four), each from eight streams taken in turn
    (eight chains the kernel advances in one vector); each number (its low 32-bit half Box-Muller's k1, its high half
    k2) gives one pair."""

    LANES, GROUPS = 8, 4  # sfc64.c's LANES and GROUPS

    def __init__(self, seed: int, lib):
        self._lib = lib
        self._gens = [np.random.SFC64(s) for s in np.random.SeedSequence(seed).spawn(self.GROUPS * self.LANES)]
        if lib is not None:  # the kernel's copy of the states; numpy's objects are not used past this point
            self._state = np.ascontiguousarray([g.state["state"]["state"] for g in self._gens], np.uint64)

    def _raw(self, n: int) -> np.ndarray:
        """n numbers on numpy's path, as sfc64.c draws them: GROUPS chunks of ceil(n / GROUPS), chunk g's number
        lo + i from its stream i % LANES."""
        out, chunk = np.empty(n, dtype=np.uint64), -(-n // self.GROUPS)
        for g in range(self.GROUPS):
            lo, hi = min(g * chunk, n), min((g + 1) * chunk, n)
            for lane in range(self.LANES):
                gen = self._gens[g * self.LANES + lane]
                out[lo + lane:hi:self.LANES] = gen.random_raw(len(range(lo + lane, hi, self.LANES)))
        return out

    def keep(self, n: int, q: float) -> torch.Tensor:
        """The next n Bernoulli(q) numbers, 1.0 / 0.0 in float32, one 64-bit number each: kept where its top 53 bits
        are below ceil(q 2^53), a probability within 2^-53 of q."""
        thr = math.ceil(q * 2.0**53)  # q 2^53 is exact in a double
        if self._lib is None:
            return torch.from_numpy(((self._raw(n) >> np.uint64(11)) < np.uint64(thr)).astype(np.float32))
        out = torch.empty(n, dtype=torch.float32)
        self._lib.sfc64_keep_f32(_u64p(self._state), n, thr, _f32p(out))
        return out

    def draw(self, pairs: int, std: float, mean: float) -> torch.Tensor:
        """The next ``pairs`` pairs of N(mean, std^2) float32 numbers, a (pairs, 2) tensor."""
        if self._lib is None:
            return _normal_f32(torch.from_numpy(self._raw(pairs).view(np.int32)).view(pairs, 2), std, mean)
        out = torch.empty(pairs, 2, dtype=torch.float32)  # the kernel writes the numbers, then the normals, here
        self._lib.sfc64_normal_f32(_u64p(self._state), pairs, _NORMAL_F32_PTR, std, mean, _f32p(out))
        return out


# The float32 Box-Muller's constants, each a float32 (defined here once; the kernel takes them as an argument):
# sqrt 2 (where the mantissa is halved), ln 2, the series of log y = 2 atanh s (1/3 ... 1/9), the Taylor series
# of sin (-1/6 ... 1/9!) and cos (-1/2 ... -1/10!) on [-pi/4, pi/4], and the angle of one step of the 2^22 words
# of a quarter turn. Their order is sfc64.c's enum.
NORMAL_F32 = np.array([math.sqrt(2), math.log(2), 1 / 3, 1 / 5, 1 / 7, 1 / 9,
                       -1 / 6, 1 / 120, -1 / 5040, 1 / 362880,
                       -1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800, math.pi / 2 * 2.0**-22], dtype=np.float32)
_NORMAL_F32_PTR = NORMAL_F32.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
(SQRT2, LN2, L3, L5, L7, L9, S3, S5, S7, S9, C2, C4, C6, C8, C10, STEP) = (float(c) for c in NORMAL_F32)


def _horner(z: torch.Tensor, c: tuple) -> torch.Tensor:
    """c[-1] z^(n-1) + ... + c[0], each product and sum a float32 operation rounded once (sfc64.c's horner)."""
    p = z * c[-1] + c[-2]
    for ci in reversed(c[:-2]):
        p = z * p + ci
    return p


def _normal_f32(words: torch.Tensor, std: float, mean: float) -> torch.Tensor:
    """sfc64.c's box_muller_block with torch's kernels, operation for operation (each a float32 operation rounded
    once, the constants float32 numbers): the same bits as the kernel, where it is not built. ``words``: the
    (pairs, 2) int32 words k1, k2; the result is (pairs, 2) too. r = std sqrt(-2 log u), u = (k1 + 1) 2^-24 in
    (0, 1]; the angle 2 pi k2 2^-24, reduced exactly on the integer to a quarter turn q and x in [-pi/4, pi/4)."""
    std, mean = float(np.float32(std)), float(np.float32(mean))  # as the kernel's float arguments
    k1, k2 = words[:, 0] & 0xFFFFFF, words[:, 1] & 0xFFFFFF
    b = (k1 + 1).to(torch.float32).view(torch.int32)  # u 2^24 = m = 2^e y, exactly
    yb = (b & 0x7FFFFF) | 0x3F800000  # y in [1, 2)
    big = yb.view(torch.float32) > SQRT2
    y = (yb - big.to(torch.int32) * (1 << 23)).view(torch.float32)  # halved (exactly) above sqrt 2
    e = (b >> 23) - 127 + big.to(torch.int32) - 24
    s = (y - 1.0) / (y + 1.0)
    z = s * s
    p = _horner(z, (L3, L5, L7, L9))
    t = s + s
    lg = t + t * (z * p)
    lu = e.to(torch.float32) * LN2 + lg
    r = torch.from_numpy(np.sqrt((lu * -2.0).numpy())) * std  # numpy's sqrt is IEEE's (torch's float32 one is not)
    k = k2 + (1 << 21)
    q = (k >> 22) & 3
    x = ((k & 0x3FFFFF) - (1 << 21)).to(torch.float32) * STEP
    x2 = x * x
    sn = x + x * (x2 * _horner(x2, (S3, S5, S7, S9)))
    cs = 1.0 + x2 * _horner(x2, (C2, C4, C6, C8, C10))
    odd, neg = (q & 1).bool(), (q & 2).bool()  # odd q: (-sin, cos); q >= 2: negated
    cv, sv = torch.where(odd, -sn, cs), torch.where(odd, cs, sn)
    cv, sv = torch.where(neg, -cv, cv), torch.where(neg, -sv, sv)
    return torch.stack([r * cv + mean, r * sv + mean], dim=1)


def stream() -> Bits:
    """A bit stream for one draw, seeded from torch's default generator (one number of its stream)."""
    return Bits(int(torch.randint(0, 2**62, (1,)).item()))


def _uniform53(bits: Bits, n: int) -> np.ndarray:
    return (bits.raw(n) >> np.uint64(11)).astype(np.float64) * 2.0**-53  # [0, 1)


def keep_mask(bits: Bits, q: float, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """A 0/1 tensor of ``shape`` and ``dtype``, each entry 1 with probability ``q`` exactly, independently.
    float32 (and every narrower dtype, converted): ``Lanes.keep``, in the kernel's one pass. float64: 16-bit words of
    the one stream, the ties refined (made through uint8: torch's bool kernels on the CPU are several times slower)."""
    n = math.prod(shape)
    if q >= 1.0:
        return torch.ones(shape, dtype=dtype)
    if dtype != torch.float64:
        return bits.lanes.keep(n, q).view(shape).to(dtype)
    words = bits.raw((n + 3) // 4).view(np.uint16)[:n]
    k = int(q * _WORD)  # keep where u < k: probability k / 2^16
    keep = words < k
    ties = np.flatnonzero(words == k)  # probability 2^-16 each: keep with the fraction q 2^16 - k
    if ties.size:
        keep[ties] = _uniform53(bits, ties.size) < q * _WORD - k
    return torch.from_numpy(keep.view(np.uint8)).to(dtype).view(shape)


def normal(bits: Bits, shape: tuple, dtype: torch.dtype, std: float, mean: float = 0.0) -> torch.Tensor:
    """N(mean, std^2) of ``shape`` by Box-Muller: mean + std sqrt(-2 log u1) (cos, sin)(2 pi u2), u1 in (0, 1].
    float32 (and every narrower dtype, converted): 24-bit uniforms, the whole transform in the kernel's one pass
    (``Bits.normal_f32``). float64: 53-bit uniforms and torch's functions, every pass in place on two buffers."""
    n = math.prod(shape)
    pairs = (n + 1) // 2
    if dtype != torch.float64:
        return bits.normal_f32(pairs, std, mean).view(-1)[:n].view(shape).to(dtype)
    u = torch.from_numpy(_uniform53(bits, 2 * pairs)).view(2, pairs)
    u1, theta = 1.0 - u[0], u[1].mul_(2 * math.pi)
    r = u1.log_().mul_(-2.0).sqrt_().mul_(std)
    out = torch.empty(2, pairs, dtype=dtype)
    torch.cos(theta, out=out[0])
    torch.sin(theta, out=out[1])
    out.mul_(r)  # r broadcast over the pair's two numbers
    if mean:
        out.add_(mean)
    return out.view(-1)[:n].view(shape)
