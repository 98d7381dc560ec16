"""Weight-noise draws on the CPU at the cost of their arithmetic (001 §8-9, issue 31).

A weight-noise site resampled at every step (RNN-N, -MN, -DO, -FF) draws a whole matrix per time step,
T x H x H numbers per batch (16M at JSB's shape): with torch's CPU generator (mt19937, about 4 ns a
uniform, 6 ns a normal) the draw alone cost more than the plain sRNN step, and the (T, H, H) tensors
that the corrupted weights and their gradients made cost several passes through memory more. Here:

- the bits come from numpy's SFC64 (about 0.5 ns per 16 bits), seeded at each draw by one number
  from torch's default generator, so a run is still a function of its seed and a resumed run (the
  checkpoint holds torch's RNG state) draws what the uninterrupted one drew. The stream is advanced by a
  small C kernel where the machine can build it (native.py, sfc64.c), which also makes a normal's uniforms
  in the same pass (numpy's random_raw and torch's mask-and-convert took more than half of the draw); it
  computes exactly what numpy and torch compute, so the numbers do not depend on the path;
- Bernoulli(q) is exact: a 16-bit word u keeps where u < floor(q 2^16), and the words equal to it
  (probability 2^-16) keep with the remaining fraction by a 53-bit uniform;
- N(0, 1) is Box-Muller on 24-bit uniforms (53-bit for float64), the transform torch's own CPU
  ``normal_`` uses;
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


class Bits:
    """numpy's SFC64 stream, advanced by the native kernel (native.py) where it is built, by numpy otherwise:
    the same numbers either way. ``raw(n)``: its next n 64-bit numbers, as numpy's ``random_raw``."""

    def __init__(self, seed: int):
        self._numpy = np.random.SFC64(seed)  # seeds the stream; draws it where the kernel is not built
        self._lib = native.library()
        # the kernel's copy of the state (a, b, c, counter); numpy's object is not used past this point
        self._state = self._numpy.state["state"]["state"].copy() if self._lib is not None else None

    def _ptr(self, a: np.ndarray):
        return a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64))

    def raw(self, n: int) -> np.ndarray:
        if self._lib is None:
            return self._numpy.random_raw(n)
        out = np.empty(n, dtype=np.uint64)
        self._lib.sfc64_raw(self._ptr(self._state), n, self._ptr(out))
        return out

    def box_muller_uniforms(self, pairs: int) -> torch.Tensor:
        """(u1, theta), a (2, pairs) float32 tensor from the next ``pairs`` numbers read as 2 pairs 32-bit words
        k (low half first), their low 24 bits: u1 = (k + 1) 2^-24 in (0, 1], theta = 2 pi k 2^-24."""
        if self._lib is None:
            # masked and made exact floats by torch's kernels, which use every thread (numpy's take one)
            words = torch.from_numpy(self._numpy.random_raw(pairs).view(np.int32))
            u = words.bitwise_and_(0xFFFFFF).to(torch.float32).view(2, pairs)
            u[0].add_(1.0).mul_(2.0**-24)
            u[1].mul_(2 * math.pi * 2.0**-24)
            return u
        u = torch.empty(2, pairs, dtype=torch.float32)  # the kernel writes the words, then their floats, here
        self._lib.sfc64_box_muller_uniforms(self._ptr(self._state), pairs,
                                            ctypes.cast(u.data_ptr(), ctypes.POINTER(ctypes.c_float)))
        return u


def stream() -> Bits:
    """A bit stream for one draw, seeded from torch's default generator (one number of its stream)."""
    return Bits(int(torch.randint(0, 2**62, (1,)).item()))


def _uniform53(bits: Bits, n: int) -> np.ndarray:
    return (bits.raw(n) >> np.uint64(11)).astype(np.float64) * 2.0**-53  # [0, 1)


def keep_mask(bits: Bits, q: float, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """A 0/1 tensor of ``shape`` and ``dtype``, each entry 1 with probability ``q`` exactly, independently
    (made through uint8: torch's bool kernels on the CPU are several times slower)."""
    n = math.prod(shape)
    if q >= 1.0:
        return torch.ones(shape, dtype=dtype)
    words = bits.raw((n + 3) // 4).view(np.uint16)[:n]
    k = int(q * _WORD)  # keep where u < k: probability k / 2^16
    keep = words < k
    ties = np.flatnonzero(words == k)  # probability 2^-16 each: keep with the fraction q 2^16 - k
    if ties.size:
        keep[ties] = _uniform53(bits, ties.size) < q * _WORD - k
    return torch.from_numpy(keep.view(np.uint8)).to(dtype).view(shape)


def normal(bits: Bits, shape: tuple, dtype: torch.dtype, std: float, mean: float = 0.0) -> torch.Tensor:
    """N(mean, std^2) of ``shape`` by Box-Muller: mean + std sqrt(-2 log u1) (cos, sin)(2 pi u2), u1 in (0, 1].
    Every pass is in place on two buffers (the uniforms and the result): a fresh tensor per pass cost more
    than its arithmetic."""
    n = math.prod(shape)
    pairs = (n + 1) // 2
    if dtype == torch.float64:
        u = torch.from_numpy(_uniform53(bits, 2 * pairs)).view(2, pairs)
        u1, theta = 1.0 - u[0], u[1].mul_(2 * math.pi)
    else:
        u1, theta = bits.box_muller_uniforms(pairs)  # float32, 24-bit uniforms, for every narrower dtype too
    r = u1.log_().mul_(-2.0).sqrt_().mul_(std)
    out = torch.empty(2, pairs, dtype=dtype)
    torch.cos(theta, out=out[0])
    torch.sin(theta, out=out[1])
    out.mul_(r)  # r broadcast over the pair's two numbers
    if mean:
        out.add_(mean)
    return out.view(-1)[:n].view(shape)
