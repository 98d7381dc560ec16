"""Moment propagation (fast dropout, moment DropConnect, moment weight noise) against Monte Carlo.

Reference: 100,000 samples of the noisy computation, drawn independently here (fresh noise at
every step, which is what moment propagation assumes). Stated tolerances, per unit:

  pre-activations (exact formulas, 002 eq. 18)   |mean err| <= 0.03 MC std,  var rel err <= 3%
  one layer, Gauss-Hermite quadrature            |mean err| <= 0.1 MC std,   median var rel err <= 5%
  one layer, the paper's closed forms            |mean err| <= 0.03,         |var err| <= 0.03 (sigmoid)
                                                 |mean err| <= 0.06,         |var err| <= 0.12 (tanh)
  three steps of each cell, quadrature           |mean err| <= 0.04,         |var err| <= 0.03
  three steps of each cell, the paper's forms    |mean err| <= 0.03,         |var err| <= 0.15
(measured on this setup: quadrature <= 0.015 / 0.015, paper <= 0.015 / 0.114)

The paper's variance formula (sigma(x)^2 ~ sigma(alpha (x - beta))) is itself off by ~0.013 at
x = 0, so its absolute variance error is large next to small variances: that is the method of
000/002, not a defect here. The quadrature rows check the propagation machinery tightly.
"""
import math

import pytest
import torch

from rnnbench.models import CORES
from rnnbench.regularisers.dropout import UnitDropout
from rnnbench.regularisers.moments import MOMENTS, QUADRATURE, MeanVar, linear_moments, sigmoid_moments
from rnnbench.regularisers.registry import SITE_NOISE
from rnnbench.regularisers.spec import Site



dropout_moments = UnitDropout.moments  # unit dropout's moment rule (rnnbench/regularisers/dropout.py)


def weight_moments(w, site, scale):
    """A weight-noise kind's moment rule (rnnbench/regularisers/weight_noise.py)."""
    return SITE_NOISE[site.noise].moments(w, site, scale)


N, CHUNK = 100_000, 10_000
DT = torch.float64
RATES = {"dropout": 0.3, "dropconnect": 0.3, "additive": 0.1, "multiplicative": 0.3}


def _mc(sample) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance over N samples of ``sample(n)`` (n, ...) drawn in chunks."""
    total = total_sq = 0.0
    for _ in range(N // CHUNK):
        y = sample(CHUNK)
        total = total + y.sum(0)
        total_sq = total_sq + (y * y).sum(0)
    mean = total / N
    return mean, (total_sq / N - mean * mean) * N / (N - 1)


def _corrupt(w: torch.Tensor, site: Site, n: int) -> torch.Tensor:
    if site.noise == "dropconnect":
        return w * torch.bernoulli(torch.full((n, *w.shape), site.keep, dtype=DT))
    eps = torch.randn(n, *w.shape, dtype=DT) * site.rate
    return w + eps if site.noise == "additive" else w + w * eps


def _layer(noise, inverted=False, D=64, H=8):
    torch.manual_seed(0)
    x = torch.rand(D, dtype=DT)
    w, b = torch.randn(D, H, dtype=DT) * 0.4, torch.randn(H, dtype=DT) * 0.3
    site = Site(noise, RATES[noise], drop=SITE_NOISE[noise].drop)
    scale = 1 / site.keep if inverted and noise in ("dropout", "dropconnect") else 1.0
    x_mv = MeanVar(x, torch.zeros_like(x))
    if noise == "dropout":
        moments = linear_moments(dropout_moments(x_mv, site, scale), w, None, b)
        sample = lambda n: (x * torch.bernoulli(torch.full((n, D), site.keep, dtype=DT)) * scale) @ w + b  # noqa: E731
    else:
        moments = linear_moments(x_mv, *weight_moments(w, site, scale), b)
        sample = lambda n: torch.einsum("d,ndh->nh", x, _corrupt(w, site, n) * scale) + b  # noqa: E731
    return moments, sample


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize("noise", list(RATES))
def test_pre_activation_moments_are_exact(noise, inverted):
    moments, sample = _layer(noise, inverted)
    mean, var = _mc(sample)
    assert ((moments.mean - mean).abs() / var.sqrt()).max() <= 0.03
    assert ((moments.var - var).abs() / var).max() <= 0.03


@pytest.mark.parametrize("f", ["sigmoid", "tanh"])
@pytest.mark.parametrize("noise", list(RATES))
def test_one_layer_moments_against_monte_carlo(noise, f):
    moments, sample = _layer(noise)
    fn = getattr(torch, f)
    mean, var = _mc(lambda n: fn(sample(n)))
    quad = getattr(QUADRATURE, f)(moments)
    assert ((quad.mean - mean).abs() / var.sqrt()).max() <= 0.1
    assert ((quad.var - var).abs() / var).median() <= 0.05
    paper = getattr(MOMENTS, f)(moments)
    tol_mean, tol_var = (0.03, 0.03) if f == "sigmoid" else (0.06, 0.12)
    assert (paper.mean - mean).abs().max() <= tol_mean
    assert (paper.var - var).abs().max() <= tol_var


def _cell_mc_vs_moments(name, noise, T=3, D=16, H=8):
    """Max |mean error| and |variance error| of h_T: {"quadrature": (..), "paper": (..)}."""
    torch.manual_seed(1)
    core = CORES[name](D, H).double()
    with torch.no_grad():
        for pname, p in core.named_parameters():
            p.normal_(0, 0.3 if pname.startswith("w_") else 0.1)
    w = core.weights()
    xs = torch.rand(T, D, dtype=DT)
    site = Site(noise, RATES[noise], drop=SITE_NOISE[noise].drop)

    def sample(n):  # fresh noise at every step on the input and recurrent sites
        state = tuple(s.expand(n, H) for s in core.initial_state(1))
        for t in range(T):
            if noise == "dropout":
                u = core.project(xs[t] * torch.bernoulli(torch.full((n, D), site.keep, dtype=DT)), w)
                v = core.recurrent_input(state[0] * torch.bernoulli(torch.full((n, H), site.keep, dtype=DT)), w)
            else:
                u = torch.einsum("d,ndg->ng", xs[t], _corrupt(w["w_in"], site, n)) + w["b"]
                v = torch.einsum("nh,nhg->ng", state[0], _corrupt(w["w_rec"], site, n)) + w.get("b_rec", 0.0)
            _, state = core.transition(u, v, state)
        return state[0]

    with torch.no_grad():
        mean, var = _mc(sample)
    errors = {}
    for label, ops in (("quadrature", QUADRATURE), ("paper", MOMENTS)):
        state = tuple(MeanVar(s, torch.zeros_like(s)) for s in core.initial_state(1))
        for t in range(T):
            x = MeanVar(xs[t : t + 1], torch.zeros(1, D, dtype=DT))
            if noise == "dropout":
                u = linear_moments(dropout_moments(x, site, 1.0), w["w_in"], None, w["b"])
                v = linear_moments(dropout_moments(state[0], site, 1.0), w["w_rec"], None, w.get("b_rec"))
            else:
                u = linear_moments(x, *weight_moments(w["w_in"], site, 1.0), w["b"])
                v = linear_moments(state[0], *weight_moments(w["w_rec"], site, 1.0), w.get("b_rec"))
            _, state = core.transition(u, v, state, ops=ops)
        state = tuple(MeanVar(s.mean.detach(), s.var.detach()) for s in state)
        errors[label] = (float((state[0].mean[0] - mean).abs().max()), float((state[0].var[0] - var).abs().max()))
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("noise", list(RATES))
@pytest.mark.parametrize("name", ["srnn", "lstm", "gru"])
def test_three_steps_of_each_cell_against_monte_carlo(name, noise):
    errors = _cell_mc_vs_moments(name, noise)
    assert errors["quadrature"][0] <= 0.04 and errors["quadrature"][1] <= 0.03
    assert errors["paper"][0] <= 0.03 and errors["paper"][1] <= 0.15


def test_tanh_moments_use_2mu_and_4v():
    # protocols.md: one public implementation fed (mu, v) instead of (2 mu, 4 v), computing tanh(a / 2).
    m = torch.linspace(-3, 3, 13, dtype=DT)
    zero = MOMENTS.tanh(MeanVar(m, torch.zeros_like(m)))
    assert torch.allclose(zero.mean, torch.tanh(m), atol=1e-12)  # exact for a deterministic input
    v = torch.full_like(m, 0.7)
    s = sigmoid_moments(2 * m, 4 * v)
    got = MOMENTS.tanh(MeanVar(m, v))
    assert torch.allclose(got.mean, 2 * s.mean - 1) and torch.allclose(got.var, 4 * s.var)


def test_sigmoid_closed_forms_of_the_paper():
    m, v = torch.tensor([0.5, -1.0], dtype=DT), torch.tensor([0.2, 2.0], dtype=DT)
    got = sigmoid_moments(m, v)
    alpha, beta = 4 - 2 * math.sqrt(2), -math.log(math.sqrt(2) - 1)
    mean = torch.sigmoid(m / torch.sqrt(1 + math.pi * v / 8))
    second = torch.sigmoid(alpha * (m - beta) / torch.sqrt(1 + math.pi * alpha**2 * v / 8))
    assert torch.allclose(got.mean, mean, atol=0) and torch.allclose(got.var, second - mean**2, atol=0)


def test_weight_noise_moments_of_002_section_2_7():
    w = torch.tensor([[0.5, -2.0]], dtype=DT)
    assert torch.allclose(weight_moments(w, Site("additive", 0.1), 1.0)[1], torch.full_like(w, 0.01))
    assert torch.allclose(weight_moments(w, Site("multiplicative", 0.1), 1.0)[1], 0.01 * w**2)
    mean, var = weight_moments(w, Site("dropconnect", 0.25, drop=True), 1.0)
    assert torch.allclose(mean, 0.75 * w) and torch.allclose(var, 0.75 * 0.25 * w**2)
    mean, var = weight_moments(w, Site("dropconnect", 0.25, drop=True), 1 / 0.75)  # inverted: E[W~] = W
    assert torch.allclose(mean, w) and torch.allclose(var, 0.25 / 0.75 * w**2)


def test_rate_is_the_drop_probability_everywhere():
    # protocols.md: one public implementation mixes up keep and drop probabilities in the recurrent step
    x = MeanVar(torch.tensor([2.0], dtype=DT), torch.tensor([0.5], dtype=DT))
    got = dropout_moments(x, Site("dropout", 0.2, drop=True), 1.0)  # drop 0.2, keep q = 0.8
    assert torch.allclose(got.mean, torch.tensor([1.6], dtype=DT))  # q mu
    assert torch.allclose(got.var, torch.tensor([0.8 * 0.2 * 4 + 0.8 * 0.5], dtype=DT))  # q(1-q) mu^2 + q sigma^2
