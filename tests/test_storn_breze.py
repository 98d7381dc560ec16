"""STORN as its authors built it (breze StochasticRnn, Nov. 2014; protocols.md §1b), each point a
switch of model.storn, and the two estimators of its NLL: the honest importance-sampled bound and
breze's estimate_nll. The bound is checked against the exact NLL of a tiny STORN, computed by
Gauss-Hermite quadrature over the latent path and checked to sum to 1 over every binary sequence."""
import itertools
import math

import numpy as np
import pytest
import torch

from rnnbench.data.batches import make_split
from rnnbench.errors import ConfigError
from rnnbench.metrics import breze_importance_nll, frame_nll, importance_nll
from rnnbench.models import build_model
from rnnbench.models.storn import gaussian_log_ratio
from rnnbench.regularisers.moments import sigmoid_moments
from rnnbench.train import train
from tests.conftest import ENDED, compose_cfg

BREZE = ("regulariser=fd", "model.storn.generator_input=recognition_state", "model.storn.q_variance=fd",
         "model.storn.learned_rates=true")


def _storn(*overrides, n=4, hidden=5, latent=2):
    cfg = compose_cfg("model=storn", f"model.hidden={hidden}", f"model.storn.latent={latent}", *overrides)
    torch.manual_seed(0)
    return build_model(cfg.model, n, n, cfg.regulariser).double()


def _frames(n_seq=3, T=6, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(T, n, generator=g) < 0.4).to(torch.uint8) for _ in range(n_seq)]


def test_recognition_state_shapes_and_alignment():
    """The generator's prediction of frame t reads z_t and h^rec_{t-1}, which has not seen frame t;
    q(z_t) has seen frame t and nothing later."""
    model = _storn(*BREZE)
    split = make_split(_frames(), predict_first=True, chunk_len=None)
    inputs, targets, _, _ = split.rows(torch.arange(3), torch.float64)
    q = model.posterior(inputs, targets)
    B, T, _ = targets.shape
    assert q.mu.shape == q.var.shape == (B, T, 2) and q.context.shape == (B, T, 5)
    assert torch.equal(q.context[:, 0], torch.zeros(B, 5, dtype=torch.float64))  # breze: zeros at the first step
    assert model.generator.core.w_in.shape[0] == 2 + 5  # reads (z_t, h^rec_{t-1}), no frame
    z = torch.randn(B, T, 2, dtype=torch.float64)
    logits = model.decode(inputs, z, context=q.context)
    t = 3
    flipped_t, flipped_in = targets.clone(), inputs.clone()  # frame t is target t and input t + 1
    flipped_t[:, t] = 1 - flipped_t[:, t]
    flipped_in[:, t + 1] = 1 - flipped_in[:, t + 1]
    q2 = model.posterior(flipped_in, flipped_t)
    assert torch.equal(q2.mu[:, :t], q.mu[:, :t]) and not torch.allclose(q2.mu[:, t], q.mu[:, t])
    logits2 = model.decode(flipped_in, z, context=q2.context)
    assert torch.equal(logits2[:, : t + 1], logits[:, : t + 1])  # p(x_t | ...) does not see x_t
    assert not torch.allclose(logits2[:, t + 1], logits[:, t + 1])  # x_{t+1}'s does


def _fd_moments_reference(model, x, rates):
    """The recognition read-out's FD moments written out for an sRNN with sigmoid units (000 §2.2,
    002 §4.4): dropout (mean q mu, var q(1-q) mu^2 + q var) before each product, sums of independent
    terms, the sigmoid's moments at the pre-activation (002 §2.3.3)."""
    core, (p_in, p_rec, p_out) = model.recognition.core, rates
    q_in, q_rec, q_out = 1 - p_in, 1 - p_rec, 1 - p_out
    h_m = core.h0.expand(x.shape[0], -1)
    h_v = torch.zeros_like(h_m)
    out_m, out_v = [], []
    for t in range(x.shape[1]):
        xt = x[:, t]
        a_m = (q_in * xt) @ core.w_in + core.b + (q_rec * h_m) @ core.w_rec
        a_v = (q_in * (1 - q_in) * xt**2) @ core.w_in**2 + (q_rec * (1 - q_rec) * h_m**2 + q_rec * h_v) @ core.w_rec**2
        h_m, h_v = sigmoid_moments(a_m, a_v)
        w = model.recognition.w_out
        out_m.append((q_out * h_m) @ w + model.recognition.b_out)
        out_v.append((q_out * (1 - q_out) * h_m**2 + q_out * h_v) @ w**2)
    return torch.stack(out_m, 1), torch.stack(out_v, 1)


def test_q_variance_is_the_fd_variance_of_the_recognition_readout():
    model = _storn(*BREZE, "model.storn.var_floor=1e-6")
    with torch.no_grad():
        model.rate_logits.copy_(torch.tensor([-1.0, 0.3, 2.0], dtype=torch.float64))
        model.recognition.w_out.normal_(0, 0.5)
    rates = [float(r) for r in torch.sigmoid(model.rate_logits.detach()) * 0.49 + 0.01]
    split = make_split(_frames(), predict_first=True, chunk_len=None)
    inputs, targets, _, _ = split.rows(torch.arange(3), torch.float64)
    q = model.posterior(inputs, targets)
    mean, var = _fd_moments_reference(model, torch.cat([inputs, targets], -1), rates)
    assert torch.allclose(q.mu, mean, rtol=1e-12, atol=1e-14)
    assert torch.allclose(q.var, var + 1e-6, rtol=1e-12, atol=1e-14)
    assert float(var.detach().min()) > 0  # FD's variance, not a squared output


def test_learned_rates_stay_inside_the_interval_and_train():
    model = _storn(*BREZE)
    rates = model.recognition_rates()
    assert all(float(r.detach()) == pytest.approx(0.255) for r in rates.values())  # theta = 0, as breze draws it
    with torch.no_grad():
        model.rate_logits.copy_(torch.tensor([-12.0, 0.0, 12.0], dtype=torch.float64))
    rates = [float(r.detach()) for r in model.recognition_rates().values()]
    assert all(0.01 < r < 0.5 for r in rates) and rates[0] < 0.0101 and rates[2] > 0.4999
    split = make_split(_frames(), predict_first=True, chunk_len=None)
    inputs, targets, loss_mask, _ = split.rows(torch.arange(3), torch.float64)
    with torch.no_grad():
        model.rate_logits.zero_()
    model.train()
    model.frame_losses(inputs, targets, None, loss_mask)[loss_mask].mean().backward()
    assert model.rate_logits.grad is not None and bool(torch.all(model.rate_logits.grad != 0))


def test_storn_breze_reading_config_errors():
    with pytest.raises(ConfigError, match="q_variance=fd"):
        _storn("regulariser=none", "model.storn.q_variance=fd")
    with pytest.raises(ConfigError, match="learned_rates"):
        _storn("regulariser=variational", "model.storn.learned_rates=true")
    with pytest.raises(ConfigError, match="var_floor"):
        _storn("regulariser=fd", "model.storn.q_variance=fd", "model.storn.var_floor=0")


def test_log_ratio_with_breze_offset_is_the_written_out_density_ratio():
    g = torch.Generator().manual_seed(1)
    mu, var = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.rand(4, 3, generator=g, dtype=torch.float64)
    eps = torch.randn(4, 3, generator=g, dtype=torch.float64)
    z = mu + var.sqrt() * eps
    for off in (0.0, 1e-4):
        log_p = -0.5 * (z**2 + math.log(2 * math.pi))
        log_q = -0.5 * ((z - mu) ** 2 / (var + off) + torch.log(2 * math.pi * (var + off)))
        assert torch.allclose(gaussian_log_ratio(z, eps, var, off), (log_p - log_q).sum(-1), rtol=1e-12)


class _FixedWeights(torch.nn.Module):
    """A stand-in whose log weights are given: checks how each estimator aggregates them."""

    def __init__(self, log_w):
        super().__init__()
        self.log_w, self.offsets = log_w, []

    def log_weights(self, inputs, targets, loss_mask, step_mask=None, samples=1, latent_mask=None, q_var_offset=0.0):
        self.offsets.append(q_var_offset)
        return self.log_w[:samples, : inputs.shape[0]]


def test_breze_estimator_sums_sequences_before_the_log_sum_exp():
    split = make_split(_frames(n_seq=3, T=5), predict_first=True, chunk_len=None)  # 3 rows of 5 frames
    log_w = torch.randn(7, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 3 - 20
    model = _FixedWeights(log_w)
    frames = 15
    breze = breze_importance_nll(model, split, 7, torch.float64)
    assert breze == pytest.approx(-float(torch.logsumexp(log_w.sum(1), 0) - math.log(7)) / frames, rel=1e-12)
    assert model.offsets == [1e-4]  # log q at var + 1e-4
    honest = importance_nll(model, split, 7, torch.float64, skip_first=True)
    per_seq = -(torch.logsumexp(log_w, 0) - math.log(7))
    assert honest.nll.nll == pytest.approx(float(per_seq.sum()) / (frames - 3), rel=1e-12)  # T - 1 frames each
    assert model.offsets[-1] == 0.0 and honest.se > 0


def _gauss_hermite(n):
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return torch.tensor(x), torch.tensor(w / math.sqrt(2 * math.pi))


def _exact_nll(model, frames, nodes=24):
    """-log p(x_2..x_T | x_1) of one sequence by quadrature over z_1..z_T (latent 1, T steps)."""
    split = make_split([frames], predict_first=True, chunk_len=None)
    inputs, targets, loss_mask, _ = split.rows(torch.arange(1), torch.float64)
    T = targets.shape[1]
    x, w = _gauss_hermite(nodes)
    grid = torch.tensor(list(itertools.product(range(nodes), repeat=T)))
    z = x[grid].unsqueeze(-1)  # (N, T, 1)
    weight = w[grid].prod(1)  # the prior's quadrature weights
    with torch.no_grad():
        q = model.posterior(inputs, targets)
        logits = model.decode(inputs.expand(len(z), -1, -1), z, context=q.context.expand(len(z), -1, -1))
        log_px = -frame_nll(logits, targets.expand(len(z), -1, -1))[:, 1:].sum(1)  # frames 2..T
    return -float(torch.log((weight * log_px.exp()).sum()))


def test_honest_bound_falls_with_k_toward_the_exact_nll():
    """A tiny STORN of the breze reading (2 notes, 3 frames, 1 latent unit): the exact NLL by
    quadrature (its probabilities sum to 1 over all 2^4 continuations: z_t and the alignment are
    right), and the importance-sampled bound, averaged over repeats, above it and falling with K."""
    model = _storn(*BREZE, n=2, hidden=4, latent=1).eval()
    with torch.no_grad():
        model.generator.core.w_in[:1] *= 10  # make the latent path matter
        model.generator.w_out *= 100
        model.recognition.w_out.normal_(0, 1.0)  # a q of moderate width, not the posterior
    first = torch.tensor([[1, 0]], dtype=torch.uint8)
    total = 0.0
    for rest in itertools.product([0, 1], repeat=4):
        frames = torch.cat([first, torch.tensor(rest, dtype=torch.uint8).view(2, 2)])
        total += math.exp(-_exact_nll(model, frames))
    assert total == pytest.approx(1.0, abs=1e-6)
    frames = torch.tensor([[1, 0], [0, 1], [1, 1]], dtype=torch.uint8)
    exact = _exact_nll(model, frames) / 2  # per predicted frame (T - 1 = 2)
    split = make_split([frames] * 64, predict_first=True, chunk_len=None)  # 64 independent estimates
    means = {}
    for K in (1, 10, 100, 1000):
        torch.manual_seed(K)
        means[K] = importance_nll(model, split, K, torch.float64, skip_first=True, max_rows=1 << 16).nll.nll
    assert means[1] > means[10] > means[100] > means[1000] > exact - 2e-3, (means, exact)
    # q is not the posterior: the gap closes slowly (measured: 1.77 at K = 1, 0.59 at K = 1000)
    assert means[1000] - exact < 0.5 * (means[1] - exact), (means, exact)


def test_storn_breze_reading_trains_and_reports_both_estimators(quick_cfg, tmp_path):
    res = train(quick_cfg("model=storn", "model.storn.latent=4", *BREZE, "dataset.predict_first=true",
                          "optim=adadelta-nesterov", "optim.lr=0.1", "eval.is_samples=8", "eval.breze_samples=10"),
                tmp_path)
    assert res["status"] in ENDED and res["eval_modes"] == ["is8", "breze-is10"]
    for split in ("valid", "test"):
        assert math.isfinite(res[f"{split}_nll_breze"]) and res[f"{split}_nll_se"] > 0
        assert res[f"{split}_nll"] <= res[f"{split}_elbo"]
    assert set(res["recognition_rates"]) == {"input", "recurrent", "output"}
    assert all(0.01 < r < 0.5 for r in res["recognition_rates"].values())


def test_protocol_readings_refuse_the_other_model(quick_cfg, tmp_path):
    with pytest.raises(ConfigError, match="protocol=breze-storn"):
        train(quick_cfg("model=storn", "protocol=breze"), tmp_path / "a")
    with pytest.raises(ConfigError, match="applies to model=storn"):
        train(quick_cfg("model=srnn", "protocol=breze-storn"), tmp_path / "b")
    with pytest.raises(ConfigError, match="eval.breze_samples"):
        train(quick_cfg("model=srnn", "eval.breze_samples=10"), tmp_path / "c")


def test_learned_rates_drop_every_recognition_site_even_one_the_preset_leaves_clean():
    """Piano-midi's preset has no read-out dropout; breze's recognition net drops all three sites."""
    model = _storn(*BREZE, "regulariser.output.noise=none", "regulariser.output.rate=0")
    split = make_split(_frames(), predict_first=True, chunk_len=None)
    inputs, targets, _, _ = split.rows(torch.arange(3), torch.float64)
    q = model.posterior(inputs, targets)
    mean, var = _fd_moments_reference(model, torch.cat([inputs, targets], -1), [0.255] * 3)
    assert torch.allclose(q.var, var + model.var_floor, rtol=1e-12, atol=1e-14)
    assert model.generator.noise.site("output").noise == "none"  # the generator keeps the preset's sites


class _ShapeProbe(torch.nn.Module):
    """Records the (rows, steps) of every importance-sampling pass."""

    def __init__(self):
        super().__init__()
        self.passes = []

    def log_weights(self, inputs, targets, loss_mask, step_mask=None, samples=1, latent_mask=None, q_var_offset=0.0):
        self.passes.append((samples * inputs.shape[0], inputs.shape[1], inputs.shape[0], samples))
        return torch.zeros(samples, inputs.shape[0], dtype=torch.float64)


def test_importance_sampling_passes_keep_rows_times_steps_bounded():
    """MuseData's 4,273-step test piece ran a 24 GB machine out of memory at 512 rows per pass: the
    rows of a pass now shrink with their length, and every row still gets its K draws."""
    g = torch.Generator().manual_seed(3)
    frames = [(torch.rand(T, 4, generator=g) < 0.3).to(torch.uint8) for T in (1000, 300, 50, 40, 40)]
    split = make_split(frames, predict_first=False, chunk_len=None)
    probe = _ShapeProbe()
    importance_nll(probe, split, 10, torch.float64, max_rows=64)
    assert all(rows * steps <= 64 * 128 or rows == 1 for rows, steps, _, _ in probe.passes), probe.passes
    assert sum(k * n_rows for _, _, n_rows, k in probe.passes) == 10 * len(frames)  # K draws of every row
    assert (probe.passes[0][1], probe.passes[0][3]) == (999, 8)  # the long piece's 10 draws split 8 + 2
