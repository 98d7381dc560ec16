"""The CPU draws of weight noise (rnnbench/regularisers/cpu_draws.py, issue 31): the distribution of
W~ per step is that of 001 §8-9 (first two moments of every entry, exact Bernoulli probabilities, a
normal's quantiles), one matrix per step or one per sequence shared by the minibatch, a run is a
function of torch's seed, and the vmapped population keeps torch's own per-member streams.

Statistical checks use fixed seeds and bounds of several standard errors: deterministic, and far
from the edge for a correct sampler (the margins are stated at each check)."""
import math
import shutil

import numpy as np
import pytest
import torch

from rnnbench.regularisers import build_spec, cpu_draws, native
from rnnbench.regularisers.sampling import NoiseDraw, per_step, stacked
from tests.conftest import compose_cfg

STEPS = 4000  # draws of a 5 x 5 matrix: 100,000 numbers per check


def _draws(noise: str, rate: float, realise: str = "step", steps: int = STEPS, dtype=torch.float64, seed=0):
    spec = build_spec(compose_cfg("regulariser=noise", f"regulariser.realise={realise}",
                                  f"regulariser.recurrent.noise={noise}", f"regulariser.recurrent.rate={rate}",
                                  "regulariser.inverted=false").regulariser, "srnn")
    g = torch.Generator().manual_seed(1)
    w = (torch.randn(5, 5, generator=g, dtype=torch.float64) + 0.5).to(dtype)
    torch.manual_seed(seed)
    return w, NoiseDraw(spec, False, steps, "cpu", dtype).weight(spec.site("recurrent"), w)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("noise, rate", [("additive", 0.3), ("multiplicative", 0.3), ("dropconnect", 0.3)])
def test_first_two_moments_of_every_entry_per_step(noise, rate, dtype):
    w, draws = _draws(noise, rate, dtype=dtype)
    assert isinstance(draws, cpu_draws.Steps) and len(draws) == STEPS  # a fresh matrix at every step (001 §8.2)
    x = stacked(draws).double()
    w = w.double()
    q = 1 - rate
    mean, var = {"additive": (w, torch.full_like(w, rate**2)),  # W + Delta (001 eq. 11)
                 "multiplicative": (w, rate**2 * w**2),  # W + W o Delta (001 eq. 12)
                 "dropconnect": (q * w, q * (1 - q) * w**2)}[noise]  # zeta W, zeta ~ Bernoulli(q) (001 §9)
    se_mean = (var / STEPS).sqrt()
    assert ((x.mean(0) - mean).abs() <= 5 * se_mean + 1e-6).all()  # every entry within 5 standard errors
    # the sample variance's standard error is at most var * sqrt(2 + excess kurtosis) / sqrt(n); 6 such
    # errors (a Bernoulli's kurtosis at q = 0.7 is < 1) bound it with a wide margin for every entry
    assert ((x.var(0) - var).abs() <= 6 * var * math.sqrt(3 / STEPS) + 1e-6).all()


@pytest.mark.parametrize("noise", ["additive", "multiplicative", "dropconnect"])
def test_per_sequence_is_one_draw_held_and_shared(noise):
    w, draws = _draws(noise, 0.2, realise="sequence", steps=7)
    assert len(draws) == 1  # one draw per update (001 §8.1), held for every step
    steps = per_step(draws, 7)
    assert len(steps) == 7 and all(s is steps[0] for s in steps)
    assert steps[0].shape == w.shape  # no batch axis: the minibatch shares the matrix


def test_steps_are_independent():
    _, draws = _draws("additive", 1.0)
    eps = stacked(draws) - _draws("additive", 0.0)[0]
    a, b = eps[:-1].flatten(), eps[1:].flatten()  # lag-one correlation of every entry
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 5 / math.sqrt(a.numel())


def test_steps_are_drawn_as_the_unroll_reaches_them_from_the_stream_seeded_at_the_draw():
    # cpu_draws.Steps: the seed is taken from torch's stream when the batch's noise is drawn, each matrix
    # when its step comes; what torch draws in between (the other sites) does not change them
    eager = stacked(_draws("multiplicative", 0.2, steps=5, seed=3)[1])
    _, lazy = _draws("multiplicative", 0.2, steps=5, seed=3)
    torch.rand(1000)  # other draws of the same batch, made after the weight's
    it = iter(lazy)
    first = next(it)
    assert torch.equal(first, eager[0]) and torch.equal(torch.stack([first, *it]), eager)
    with pytest.raises(RuntimeError, match="drawn once"):
        iter(lazy)  # a second pass would continue the stream: refused


def test_the_draw_is_a_function_of_torchs_seed():
    same = [stacked(_draws("additive", 0.1, steps=3, seed=s)[1]) for s in (4, 4, 5)]
    assert torch.equal(same[0], same[1]) and not torch.equal(same[0], same[2])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("q", [0.7, 0.5 + 0.5 / 2**16, 13107 / 2**16 + 0.4 / 2**16, 1.0, 0.0])
def test_bernoulli_probability_is_exact_below_the_word_resolution(q, dtype):
    # q = k / 2^16 + f / 2^16: in float64 the words equal to k keep with probability f (the tie refinement); in float32
    # a 53-bit threshold
    torch.manual_seed(0)
    n = 2**22
    keep = cpu_draws.keep_mask(cpu_draws.stream(), q, (n,), dtype).double()
    assert set(keep.unique().tolist()) <= {0.0, 1.0}
    assert abs(keep.mean().item() - q) <= 5 * math.sqrt(q * (1 - q) / n)
    ties_only = 0.25 / 2**16  # k = 0: only the tie words (1 in 2^16) can keep, with probability 0.25
    keep = cpu_draws.keep_mask(cpu_draws.stream(), ties_only, (n,), dtype).double()
    assert abs(keep.sum().item() - n * ties_only) <= 5 * math.sqrt(n * ties_only)  # 16 expected


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_normal_quantiles(dtype):
    torch.manual_seed(0)
    n = 2**20 + 1  # odd: the last pair's second number is dropped
    z = cpu_draws.normal(cpu_draws.stream(), (n,), dtype, 2.0).double() / 2.0
    assert z.dtype == torch.float64 and z.shape == (n,)
    for p in (0.001, 0.025, 0.16, 0.5, 0.84, 0.975, 0.999):
        # the empirical CDF at the normal's p-quantile, within 5 binomial standard errors
        x = math.sqrt(2) * torch.erfinv(torch.tensor(2 * p - 1, dtype=torch.float64)).item()
        assert abs((z <= x).double().mean().item() - p) <= 5 * math.sqrt(p * (1 - p) / n)


def test_the_vmapped_population_keeps_torchs_per_member_streams():
    from torch.func import vmap
    spec = build_spec(compose_cfg("regulariser=noise", "regulariser.recurrent.rate=0.1").regulariser, "srnn")
    w = torch.zeros(3, 4, 4)

    def one(wm):
        return stacked(NoiseDraw(spec, False, 2, "cpu", torch.float32).weight(spec.site("recurrent"), wm))

    out = vmap(one, randomness="different")(w)
    assert out.shape == (3, 2, 4, 4) and not torch.equal(out[0], out[1])  # members draw independently


def test_float32_normals_are_box_muller_on_the_24_bit_words_of_the_stream():
    # the numbers of a float32 draw, pinned: each number of the seeded SFC64 streams, its low and high 32-bit
    # halves' 24-bit words k1, k2, gives the pair std sqrt(-2 log((k1 + 1) 2^-24)) (cos, sin)(2 pi k2 2^-24), in turn
    n, pairs = 11, 6
    z = cpu_draws.normal(cpu_draws.Bits(7), (n,), torch.float32, 0.5)
    # four chunks of ceil(6 / 4) = 2 pairs (the last empty), each from its eight streams in turn: number lo + i from
    # stream i % 8 of its chunk's
    lanes = [np.random.SFC64(s) for s in np.random.SeedSequence(7).spawn(32)]
    raw = np.array([lanes[8 * (i // 2) + i % 2].random_raw() for i in range(pairs)], dtype=np.uint64)
    k = torch.from_numpy((raw.view(np.uint32) & 0xFFFFFF).astype(np.float64))
    k1, k2 = k[0::2], k[1::2]
    r = 0.5 * torch.sqrt(-2 * torch.log((k1 + 1) * 2.0**-24))
    pair = [r * torch.cos(2 * math.pi * k2 * 2.0**-24), r * torch.sin(2 * math.pi * k2 * 2.0**-24)]
    want = torch.stack(pair, dim=1).reshape(-1)[:n]
    assert z.dtype == torch.float32 and torch.allclose(z.double(), want, rtol=1e-5, atol=1e-6)


def _numpy_path(monkeypatch) -> None:
    monkeypatch.setattr(native, "library", lambda: None)


needs_kernel = pytest.mark.skipif(native.library() is None, reason="no C compiler: the kernel is not built")


@needs_kernel
@pytest.mark.parametrize("pairs", [1, 7, 513, 80_000])
def test_the_kernel_draws_numpys_numbers_and_the_fallbacks_normals(monkeypatch, pairs):
    # the same stream through the kernel and through numpy + torch, calls in a row (the state carries on): the 64-bit
    # numbers and the float32 normals (std and mean not float32 numbers: both paths round them alike) equal bit for bit
    fast = cpu_draws.Bits(11)
    got = [fast.raw(pairs), fast.normal_f32(pairs, 0.3, 1.0), fast.normal_f32(pairs, 2.0, 0.0), fast.raw(3)]
    _numpy_path(monkeypatch)
    slow = cpu_draws.Bits(11)
    want = [slow.raw(pairs), slow.normal_f32(pairs, 0.3, 1.0), slow.normal_f32(pairs, 2.0, 0.0), slow.raw(3)]
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[3], want[3])
    assert np.array_equal(np.random.SFC64(11).random_raw(pairs), got[0])  # numpy's own stream
    for g, w in zip(got[1:3], want[1:3]):
        assert g.dtype == torch.float32 and g.shape == (pairs, 2) and torch.equal(g, w)


@needs_kernel
@pytest.mark.parametrize("n", [1, 9, 4099, 2_000_003])
def test_the_kernel_keeps_what_the_fallback_keeps_on_any_number_of_threads(monkeypatch, n):
    threads = torch.get_num_threads()
    try:
        fast = []
        for t in (1, 2):
            torch.set_num_threads(t)
            lanes = cpu_draws.Bits(6).lanes
            fast.append(torch.cat([lanes.keep(n, 0.3), lanes.keep(n, 0.25 / 2**16)]))  # the streams carry on
    finally:
        torch.set_num_threads(threads)
    _numpy_path(monkeypatch)
    lanes = cpu_draws.Bits(6).lanes
    slow = torch.cat([lanes.keep(n, 0.3), lanes.keep(n, 0.25 / 2**16)])
    assert slow.dtype == torch.float32 and all(torch.equal(f, slow) for f in fast)


@needs_kernel
def test_the_kernel_and_the_fallback_agree_on_four_million_normals_on_any_number_of_threads(monkeypatch):
    # the kernel's four chunks run on torch's threads, each from its own streams: the threads change the time, not a bit
    threads = torch.get_num_threads()
    try:
        fast = []
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            fast.append(cpu_draws.Bits(5).normal_f32(2_000_003, 0.1, 1.0))
    finally:
        torch.set_num_threads(threads)
    _numpy_path(monkeypatch)
    slow = cpu_draws.Bits(5).normal_f32(2_000_003, 0.1, 1.0)
    assert all(torch.equal(f, slow) for f in fast)


def test_the_float32_transform_is_box_muller_to_a_few_ulps_on_every_kind_of_word():
    # the polynomials against float64 Box-Muller on the same 24-bit words: random words, and the edges (u = 2^-24 and 1,
    # the mantissa's halving at sqrt 2, every quarter turn's boundaries); the high byte is ignored
    g = torch.Generator().manual_seed(0)
    edges = [0, 1, 2, 0x3FFFFF, 0x400000, 0x1FFFFF, 0x200000, 0x5FFFFF, 0x600000, 0x7FFFFF, 0x800000, 0xBFFFFF,
             0xC00000, 0xDFFFFF, 0xE00000, 0xFFFFFE, 0xFFFFFF, 0x6A09E6, 0x6A09E7, -1, -2**31]
    k1 = torch.cat([torch.randint(-2**31, 2**31 - 1, (200_000,), generator=g, dtype=torch.int32),
                    torch.tensor(edges, dtype=torch.int32).repeat_interleave(len(edges))])
    k2 = torch.cat([torch.randint(-2**31, 2**31 - 1, (200_000,), generator=g, dtype=torch.int32),
                    torch.tensor(edges, dtype=torch.int32).repeat(len(edges))])
    z = cpu_draws._normal_f32(torch.stack([k1, k2], dim=1), 1.0, 0.0).double().T
    u, theta = ((k1 & 0xFFFFFF) + 1).double() * 2.0**-24, (k2 & 0xFFFFFF).double() * (2 * math.pi * 2.0**-24)
    r = torch.sqrt(-2 * torch.log(u))
    want = torch.stack([r * torch.cos(theta), r * torch.sin(theta)])
    # a float32 ulp of r (at most 5.8: 4.8e-7) a few times over, plus a few ulps of the smallest numbers
    assert (z - want).abs().max().item() <= 4 * 2.0**-24 * (1 + r.max().item())
    assert z[:, -len(edges) ** 2:][:, k1[-len(edges) ** 2:] == 0xFFFFFF].abs().max() == 0  # u = 1: r = 0


@needs_kernel
@pytest.mark.parametrize("noise", ["additive", "multiplicative", "dropconnect"])
def test_a_draw_does_not_depend_on_the_path(monkeypatch, noise):
    fast = stacked(_draws(noise, 0.2, steps=6, dtype=torch.float32, seed=2)[1])
    _numpy_path(monkeypatch)
    assert torch.equal(fast, stacked(_draws(noise, 0.2, steps=6, dtype=torch.float32, seed=2)[1]))


def test_without_a_compiler_or_when_switched_off_numpy_draws(monkeypatch, tmp_path, caplog):
    native.library.cache_clear()
    try:
        monkeypatch.setenv("RNNBENCH_NATIVE", "0")
        assert native.library() is None
        native.library.cache_clear()
        monkeypatch.setenv("RNNBENCH_NATIVE", "1")
        monkeypatch.setenv("RNNBENCH_NATIVE_CACHE", str(tmp_path))
        monkeypatch.setenv("CC", shutil.which("false") or "/bin/false")  # a compiler that fails
        with caplog.at_level("WARNING", logger="rnnbench"):
            assert native.library() is None
        assert "did not build" in caplog.text and not list(tmp_path.rglob("*.so"))  # no half-written library
        assert cpu_draws.Bits(3).raw(2).tolist() == np.random.SFC64(3).random_raw(2).tolist()
    finally:
        native.library.cache_clear()


@needs_kernel
def test_a_kernel_whose_openmp_build_fails_is_built_without_it(monkeypatch, tmp_path):
    # where torch's runtime is loaded but the compiler cannot build with OpenMP, the kernel is built without it
    native.library.cache_clear()
    try:
        monkeypatch.setenv("RNNBENCH_NATIVE_CACHE", str(tmp_path))
        monkeypatch.setattr(native, "_openmp", lambda: ["-fno-such-option-rnnbench"])
        lib = native.library()
        assert lib is not None and len(list(tmp_path.rglob("*.so"))) == 1
        fast = cpu_draws.Bits(4).normal_f32(1000, 1.0, 0.0)
        _numpy_path(monkeypatch)
        assert torch.equal(fast, cpu_draws.Bits(4).normal_f32(1000, 1.0, 0.0))
    finally:
        monkeypatch.undo()  # the real library() again, then its cache emptied
        native.library.cache_clear()
