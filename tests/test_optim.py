import numpy as np
import pytest
import torch

from rnnbench.errors import ConfigError
from rnnbench.optim import build_optimizer, lr_at_epoch
from rnnbench.optim.adadelta_nesterov import AdadeltaNesterov
from rnnbench.optim.rmsprop_nesterov import RmspropNesterov
from tests.conftest import compose_cfg

A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])


def _grad(w):  # gradient of 0.5 w'Aw - b'w
    return A @ w - B


def _minimise(opt, p, steps):
    """``steps`` updates of ``opt`` on 0.5 p'Ap - b'p."""
    At, Bt = torch.tensor(A), torch.tensor(B)

    def closure():
        opt.zero_grad()
        loss = 0.5 * p @ At @ p - Bt @ p
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)


def _climin_reference(w, steps, lr, momentum, decay):
    """climin.RmsProp._iterate, transcribed: moving_mean_squared starts at 1, eps 1e-8."""
    w, step, ms = w.copy(), np.zeros_like(w), 1.0
    for _ in range(steps):
        step1 = step * momentum
        w -= step1
        g = _grad(w)
        ms = decay * ms + (1 - decay) * g**2
        step2 = lr * g / np.sqrt(ms + 1e-8)
        w -= step2
        step = step1 + step2
    return w


def test_rmsprop_nesterov_matches_climin_update():
    w0 = np.array([0.3, -0.7])
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    _minimise(RmspropNesterov([p], lr=0.01, momentum=0.9, decay=0.8), p, 25)
    np.testing.assert_allclose(p.detach().numpy(), _climin_reference(w0, 25, 0.01, 0.9, 0.8), rtol=0, atol=1e-13)


def _climin_adadelta_reference(w, steps, lr, momentum, decay, offset):
    """climin.Adadelta._iterate (current climin: step1 = momentum * step), transcribed."""
    w, step, gms, sms = w.copy(), np.zeros_like(w), 0.0, 0.0
    for _ in range(steps):
        step1 = step * momentum
        w -= step1
        g = _grad(w)
        gms = decay * gms + (1 - decay) * g**2
        step2 = np.sqrt(sms + offset) / np.sqrt(gms + offset) * g * lr
        w -= step2
        step = step1 + step2
        sms = decay * sms + (1 - decay) * step**2
    return w


def test_adadelta_nesterov_matches_climin_update():
    w0 = np.array([0.3, -0.7])
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    _minimise(AdadeltaNesterov([p], lr=0.5, momentum=0.9, decay=0.9, offset=1e-4), p, 40)
    expected = _climin_adadelta_reference(w0, 40, 0.5, 0.9, 0.9, 1e-4)
    assert not np.allclose(expected, w0)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=0, atol=1e-13)


def test_gradient_is_taken_after_the_momentum_jump():
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = RmspropNesterov([p], lr=0.1, momentum=0.5, decay=0.0, eps=0.0)
    seen = []

    def closure():
        opt.zero_grad()
        seen.append(float(p.detach()))
        (p**2).sum().backward()
        return p.detach()

    opt.step(closure)  # w = 1 - 0.1 * sign(2) = 0.9; s = 0.1
    opt.step(closure)  # jump to 0.9 - 0.05 = 0.85 before the gradient
    assert seen == pytest.approx([1.0, 0.85])


def test_step_without_closure_is_an_error():
    opt = RmspropNesterov([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.0, decay=0.9)
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step(None)


def test_sgd_step_decay_schedule_of_zaremba():
    cfg = compose_cfg("optim=sgd", "optim.lr=1.0", "optim.decay_after=6", "optim.decay_factor=1.2").optim
    assert [lr_at_epoch(cfg, e) for e in (1, 6)] == [1.0, 1.0]
    assert lr_at_epoch(cfg, 7) == pytest.approx(1 / 1.2) and lr_at_epoch(cfg, 9) == pytest.approx(1 / 1.2**3)
    plain = compose_cfg("dataset=musedata", "optim.lr=0.003").optim  # no schedule: the rate as set, every epoch
    assert [lr_at_epoch(plain, e) for e in (1, 7, 50)] == [0.003, 0.003, 0.003]


@pytest.mark.parametrize("name", ["rmsprop-nesterov", "adam", "sgd", "adadelta", "adadelta-nesterov"])
def test_every_optimiser_builds(name):
    opt = build_optimizer(compose_cfg(f"optim={name}").optim, [torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(opt, torch.optim.Optimizer)


def test_impossible_optimiser_value_is_a_config_error():
    with pytest.raises(ConfigError, match="optim=rmsprop-nesterov: .*momentum=1.5"):
        build_optimizer(compose_cfg("optim.momentum=1.5").optim, [torch.nn.Parameter(torch.zeros(2))])
