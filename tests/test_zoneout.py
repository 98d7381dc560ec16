"""Zoneout (Krueger et al. 2016), issue 24's worked example of a regulariser added in one file
(rnnbench/regularisers/zoneout.py): the sampled step and its expectation against the paper's equation
written by hand, the LSTM's two state tensors, training, and the configurations it refuses."""
from __future__ import annotations

import pytest
import torch

from rnnbench.errors import ConfigError
from rnnbench.models import build_model
from rnnbench.regularisers import build_spec
from rnnbench.train import train
from tests.conftest import ENDED, compose_cfg

DT = torch.float64


def _model(*overrides, model="srnn"):
    cfg = compose_cfg("dataset=jsb", f"model={model}", "model.hidden=6", "regulariser=zoneout", *overrides)
    torch.manual_seed(0)
    return build_model(cfg.model, 88, 88, cfg.regulariser).to(DT)


def _x():
    torch.manual_seed(1)
    return torch.bernoulli(torch.full((3, 5, 88), 0.1, dtype=DT))


def _by_hand(model, x, d):
    """sRNN with zoneout (Krueger et al. eq. 3): h_t = d_t h_{t-1} + (1 - d_t) tanh(x_t W_in + h_{t-1} W_rec + b)."""
    w = model.core.weights()
    h, hs = model.core.initial_state(x.shape[0])[0], []
    for t in range(x.shape[1]):
        new = torch.tanh(x[:, t] @ w["w_in"] + w["b"] + h @ w["w_rec"])
        h = d(t) * h + (1 - d(t)) * new
        hs.append(h)
    return torch.stack(hs, 1) @ model.w_out + model.b_out


@pytest.mark.parametrize("realise", ["step", "sequence"])
def test_a_sampled_step_keeps_each_unit_with_probability_z(realise):
    model = _model("regulariser.cell.rate=0.3", f"regulariser.realise={realise}")
    x = _x()
    torch.manual_seed(7)
    got = model(x, sample=True)
    torch.manual_seed(7)  # the only draw: d (T or 1, S = 1, B, H), 1 = keep the last value
    d = torch.bernoulli(torch.full((5 if realise == "step" else 1, 1, 3, 6), 0.3, dtype=DT))
    want = _by_hand(model, x, lambda t: d[t if realise == "step" else 0, 0])
    assert torch.allclose(got, want, atol=1e-12)
    assert not torch.allclose(got, _by_hand(model, x, lambda t: 0.0), atol=1e-6)  # some units were zoned


def test_deterministic_evaluation_uses_the_expectation():
    model = _model("regulariser.cell.rate=0.3").eval()
    x = _x()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        assert torch.allclose(model(x), _by_hand(model, x, lambda t: 0.3), atol=1e-12)
        assert not torch.allclose(model(x), _by_hand(model, x, lambda t: 0.0), atol=1e-6)  # not the plain net


def test_the_lstm_zones_h_and_c_with_masks_of_their_own():
    model = _model("regulariser.cell.rate=0.5", model="lstm")
    x = _x()
    torch.manual_seed(3)
    got = model(x, sample=True)
    torch.manual_seed(3)
    d = torch.bernoulli(torch.full((5, 2, 3, 6), 0.5, dtype=DT))  # (T, S = h and c, B, H)
    core, w = model.core, model.core.weights()
    h, c = core.initial_state(3)
    hs = []
    for t in range(5):
        i, f, g, o = (x[:, t] @ w["w_in"] + w["b"] + h @ w["w_rec"]).chunk(4, -1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)  # the cell's own output, from the unzoned c_t
        h, c = d[t, 0] * h + (1 - d[t, 0]) * h_new, d[t, 1] * c + (1 - d[t, 1]) * c_new
        hs.append(h)
    assert torch.allclose(got, torch.stack(hs, 1) @ model.w_out + model.b_out, atol=1e-12)


@pytest.mark.parametrize("model", ["srnn", "lstm", "gru"])
def test_zoneout_trains_on_every_cell(quick_cfg, tmp_path, model):
    res = train(quick_cfg(f"model={model}", "regulariser=zoneout", "train.max_epochs=1", "eval.mc_samples=2"), tmp_path)
    assert res["status"] in ENDED and res["regulariser"] == "zoneout"
    assert res["test_nll_mc"] != res["test_nll"]  # Monte Carlo samples d; deterministic evaluation uses z


@pytest.mark.parametrize("overrides, message", [
    (("regulariser.realise=moments",), r"regulariser.cell.noise=zoneout is sampled \(or its expectation\); use regulariser.realise=step or sequence"),
    (("regulariser.cell.rate=1.0",), r"regulariser.cell.rate is zoneout's probability of keeping a unit's last value and must be in \[0, 1\)"),
    (("regulariser.input.noise=zoneout", "regulariser.input.rate=0.1"),
     r"regulariser.input.noise=zoneout acts on the cell's state \(regulariser.cell\) only"),
])
def test_what_zoneout_refuses(overrides, message):
    cfg = compose_cfg("dataset=jsb", "regulariser=zoneout", *overrides)
    with pytest.raises(ConfigError, match=message):
        build_spec(cfg.regulariser, "srnn")


def test_a_noise_the_cell_state_does_not_take_names_the_ones_it_does():
    cfg = compose_cfg("dataset=jsb", "regulariser=zoneout", "regulariser.cell.noise=additive")
    with pytest.raises(ConfigError, match=r"regulariser.cell.noise=additive is not a noise of the cell's state; "
                                          r"valid: dropout, zoneout"):
        build_spec(cfg.regulariser, "srnn")
