"""STORN (002 ch. 4): the closed-form KL, the importance-sampled NLL, the reduction to the
deterministic RNN when the latent weights are zero, and what q conditions on."""
import math

import pytest
import torch

from rnnbench.data.batches import make_split
from rnnbench.data.synthetic import make_synthetic
from rnnbench.config import check_common
from rnnbench.errors import ConfigError
from rnnbench.metrics import evaluate, importance_nll
from rnnbench.models import STORN, build_model
from rnnbench.models.storn import gaussian_kl
from rnnbench.train import train
from tests.conftest import ENDED, compose_cfg

D = 88


def _storn(*overrides, dtype=torch.float64):
    cfg = compose_cfg("model=storn", "model.hidden=12", "model.storn.latent=3", *overrides)
    torch.manual_seed(0)
    return build_model(cfg.model, D, D, cfg.regulariser).to(dtype), cfg


def _test_split(n=6):
    cfg = compose_cfg("dataset=synthetic", "dataset.n_test=" + str(n), "dataset.max_len=30")
    return make_split(make_synthetic(cfg.dataset)["test"], predict_first=False, chunk_len=None)


def test_closed_form_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(5, generator=g, dtype=torch.float64)
    var = torch.rand(5, generator=g, dtype=torch.float64) * 2 + 0.1
    n = 400_000
    z = mu + var.sqrt() * torch.randn(n, 5, generator=g, dtype=torch.float64)
    log_q = -0.5 * ((z - mu) ** 2 / var + torch.log(2 * math.pi * var)).sum(-1)
    log_p = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
    mc = log_q - log_p
    stderr = float(mc.std()) / math.sqrt(n)
    assert float(mc.mean()) == pytest.approx(float(gaussian_kl(mu, var)), abs=4 * stderr)
    assert float(gaussian_kl(torch.zeros(3), torch.ones(3))) == 0.0  # q = prior


def test_importance_sampled_nll_is_below_the_elbo_and_falls_with_k():
    model, _ = _storn()
    with torch.no_grad():  # make the latent path matter: a wide posterior, strong latent weights
        model.generator.core.w_in[D:] *= 300
        model.recognition.w_out.normal_(0, 0.3)
    split = _test_split()
    estimates = {}
    for K in (1, 8, 64):
        runs = []
        for rep in range(6):
            torch.manual_seed(100 + rep)
            bound = importance_nll(model, split, K, torch.float64)
            is_nll, elbo = bound.nll, bound.elbo
            assert is_nll.nll <= elbo.nll + 1e-12  # Jensen, on the same draws
            runs.append((is_nll.nll, elbo.nll))
        estimates[K] = torch.tensor(runs)
    mean = {K: float(v[:, 0].mean()) for K, v in estimates.items()}
    elbo = float(torch.cat([v[:, 1] for v in estimates.values()]).mean())
    assert mean[1] == pytest.approx(float(estimates[1][:, 1].mean()), abs=1e-12)  # K = 1 is the ELBO
    assert mean[64] < mean[8] < mean[1] and mean[64] < elbo - 0.05, (mean, elbo)


def test_importance_sampling_reports_its_progress_in_steps_and_logs_it_without_a_terminal(caplog):
    """The final K-sample evaluation is long (19 min on one thread for Nottingham at K = 1000): each group of rows
    reports its real steps, which add up to the split's, and the estimate is the one without a reporter; with no
    terminal the reporter writes log lines (engine/loop.work_progress), never one past the end."""
    from rnnbench.engine.loop import work_progress

    model, _ = _storn()
    split = _test_split()
    done = []
    torch.manual_seed(0)
    reported = importance_nll(model, split, 4, torch.float64, max_rows=2, progress=done.append)
    torch.manual_seed(0)
    assert reported == importance_nll(model, split, 4, torch.float64, max_rows=2)
    assert len(done) > 1 and sum(done) == int(split.lengths.sum())
    with caplog.at_level("INFO", logger="rnnbench"), work_progress(False, "sampling", 10, "steps", every_s=0) as advance:
        for n in (3, 3, 4):
            advance(n)
    assert [r.getMessage().split(" in ")[0] for r in caplog.records] == ["sampling: 3 of 10 steps (30%)",
                                                                          "sampling: 6 of 10 steps (60%)"]


@pytest.mark.parametrize("regulariser", ["none", "fd"])
def test_zero_latent_weights_give_the_deterministic_rnn(regulariser):
    """002 §4.3.1: with W'_in = 0 the generating net is the sRNN; with q = the prior as well, the
    bound, the importance-sampled NLL and the RNN's NLL coincide."""
    model, cfg = _storn(f"regulariser={regulariser}", "model.storn.var_floor=0")
    rnn_cfg = compose_cfg("model=srnn", "model.hidden=12", "model.activation=sigmoid", f"regulariser={regulariser}")
    rnn = build_model(rnn_cfg.model, D, D, rnn_cfg.regulariser).to(torch.float64)
    with torch.no_grad():
        model.generator.core.w_in[D:] = 0.0  # W'_in = 0
        model.recognition.w_out.zero_()  # mu = 0, sigma^2 = 1^2: q = N(0, 1)
        model.recognition.b_out.copy_(torch.tensor([0.0] * 3 + [1.0] * 3))
        for name, p in rnn.named_parameters():
            src = dict(model.generator.named_parameters())[name]
            p.copy_(src[:D] if name == "core.w_in" else src)
    split = _test_split()
    reference = evaluate(rnn, split, 4, torch.float64)
    bound = evaluate(model, split, 4, torch.float64)
    bound5 = importance_nll(model, split, 5, torch.float64)
    is_nll, elbo = bound5.nll, bound5.elbo
    for value in (bound.nll, is_nll.nll, elbo.nll):
        assert value == pytest.approx(reference.nll, rel=1e-12, abs=1e-12)


def test_posterior_sees_the_frame_it_explains_and_nothing_later():
    """q(z_t | x_{1:t}): mu_t changes with x_t (the predicted frame) but not with x_{t+1..}."""
    model, _ = _storn()
    split = _test_split(2)
    inputs, targets, _, _ = split.rows(torch.arange(2), torch.float64)
    mu = model.posterior(inputs, targets).mu
    t = 10
    later = targets.clone()
    later[:, t + 1 :] = 1 - later[:, t + 1 :]
    assert torch.equal(model.posterior(inputs, later).mu[:, : t + 1], mu[:, : t + 1])
    now = targets.clone()
    now[:, t] = 1 - now[:, t]
    assert not torch.allclose(model.posterior(inputs, now).mu[:, t], mu[:, t])


def test_storn_trains_and_reports_is_and_elbo(quick_cfg, tmp_path):
    res = train(quick_cfg("model=storn", "model.storn.latent=4", "regulariser=fd", "optim=adadelta-nesterov",
                          "optim.lr=0.1", "eval.is_samples=16", "model.storn.kl_warmup=2"), tmp_path)
    assert res["status"] in ENDED and res["eval_modes"] == ["is16"] and res["selection_metric"] == "valid_elbo"
    for split in ("valid", "test"):
        assert math.isfinite(res[f"{split}_nll"]) and res[f"{split}_nll"] <= res[f"{split}_elbo"]
    assert res["test_nll"] < 88 * math.log(2)  # better than a coin per note
    state = torch.load(tmp_path / "best.pt", weights_only=True)
    assert state["generator.core.w_in"].shape == (D + 4, 16) and state["recognition.w_out"].shape == (16, 8)


def test_storn_config_errors(quick_cfg, tmp_path):
    with pytest.raises(ConfigError, match="eval.is_samples"):
        train(quick_cfg("model=storn", "eval.mc_samples=5"), tmp_path)
    with pytest.raises(ConfigError, match="applies to the sRNN only"):
        build_model(compose_cfg("model=storn", "model.storn.cell=lstm").model, D, D)
    with pytest.raises(ConfigError, match="model.storn.latent=0 is not valid"):  # the schema's range
        check_common(compose_cfg("model=storn", "model.storn.latent=0"))


def test_sigmoid_srnn_step():
    cfg = compose_cfg("model=srnn", "model.hidden=5", "model.activation=sigmoid")
    model = build_model(cfg.model, 3, 3).double()
    core = model.core
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    y, _ = core(x, (h,))
    assert torch.allclose(y, torch.sigmoid(x @ core.w_in + h @ core.w_rec + core.b), atol=0, rtol=1e-15)
    assert isinstance(build_model(compose_cfg("model=storn").model, D, D), STORN)
