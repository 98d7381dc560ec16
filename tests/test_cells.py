import pytest
import torch
from torch import nn

from rnnbench.models import CORES, build_model
from rnnbench.models.init import set_spectral_radius_, sparsify_, spectral_radius
from rnnbench.models.unroll import unroll
from tests.conftest import compose_cfg


def _core(name, D=5, H=4):
    torch.manual_seed(0)
    core = CORES[name](D, H).double()
    with torch.no_grad():
        for p in core.parameters():
            p.normal_(0, 0.5)
    return core


class _Unrolled(nn.Module):
    def __init__(self, core):
        super().__init__()
        self.core = core

    def forward(self, x):
        return unroll(self.core, x)[0]


def _unroll_with(core, w: dict, x):
    """The core unrolled over x with the weights ``w`` in place of its own (how a population runs its members)."""
    return torch.func.functional_call(_Unrolled(core), {f"core.{k}": v for k, v in w.items()}, (x,))


@pytest.mark.parametrize("name", ["srnn", "lstm", "gru"])
def test_cell_gradients_match_finite_differences(name):
    core = _core(name)
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    names = [n for n, _ in core.named_parameters()]

    def f(x, *params):
        return _unroll_with(core, dict(zip(names, params)), x)

    assert torch.autograd.gradcheck(f, (x.requires_grad_(), *[p.detach().requires_grad_() for p in core.parameters()]))


def _torch_reference(name, core):
    """nn.RNN / nn.LSTM / nn.GRU with the same weights (theirs are (G, D); ours (D, G))."""
    cls = {"srnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[name]
    ref = cls(core.input_size, core.hidden_size, batch_first=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(core.w_in.T)
        ref.weight_hh_l0.copy_(core.w_rec.T)
        ref.bias_ih_l0.copy_(core.b)
        ref.bias_hh_l0.copy_(core.b_rec if name == "gru" else torch.zeros_like(core.b))
    return ref


@pytest.mark.parametrize("name", ["srnn", "lstm", "gru"])
def test_cells_match_pytorch_modules(name):
    core = _core(name)
    ref = _torch_reference(name, core)
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    state = core.initial_state(3)
    ours, final = unroll(core, x, state)
    h0 = state[0].unsqueeze(0).contiguous()
    theirs, _ = ref(x, (h0, state[1].unsqueeze(0).contiguous()) if name == "lstm" else h0)
    assert torch.allclose(ours, theirs, atol=1e-12, rtol=0)
    assert torch.equal(final[0], ours[:, -1])


@pytest.mark.parametrize("name", ["srnn", "lstm", "gru"])
def test_step_equals_unroll(name):
    core = _core(name)
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    state = core.initial_state(2)
    ys = []
    for t in range(4):
        y, state = core(x[:, t], state)  # one raw step (haiku's core(x_t, state))
        ys.append(y)
    assert torch.allclose(torch.stack(ys, 1), unroll(core, x, core.initial_state(2))[0], atol=1e-14, rtol=0)


@pytest.mark.parametrize("rho", [0.9, 1.2])
def test_init_spectral_radius_equals_rho(rho):
    torch.manual_seed(1)
    model = build_model(compose_cfg("model.hidden=50", f"model.init.rho={rho}").model, 88, 88)
    assert spectral_radius(model.core.w_rec) == pytest.approx(rho, rel=1e-5)
    w = torch.randn(30, 30, dtype=torch.float64)
    assert spectral_radius(set_spectral_radius_(w, 1.05)) == pytest.approx(1.05, rel=1e-12)


def test_sparse_init_keeps_nu_incoming_weights_per_unit():
    torch.manual_seed(2)
    model = build_model(compose_cfg("model.hidden=40", "model.init.sparsity=15").model, 88, 88)
    assert ((model.core.w_in != 0).sum(0) == 15).all()  # incoming = column in x @ W
    assert ((model.core.w_rec != 0).sum(0) == 15).all()
    w = sparsify_(torch.ones(10, 3), 20)  # nu >= fan-in keeps the matrix dense
    assert bool((w == 1).all())


def test_gaussian_init_variance_and_biases():
    torch.manual_seed(3)
    cfg = compose_cfg("model.hidden=300", "model.init.sparsity=null", "model.init.var_in=0.04", "model.init.rho=null",
                      "model.init.var_rec=0.0001")
    model = build_model(cfg.model, 88, 88)
    assert model.core.w_in.var().item() == pytest.approx(0.04, rel=0.05)
    assert model.core.w_rec.var().item() == pytest.approx(1e-4, rel=0.05)
    assert bool((model.b_out == -0.8).all()) and bool((model.core.b == 0).all())


def test_lstm_forget_bias_lands_on_the_forget_gate():
    cfg = compose_cfg("model=lstm", "model.hidden=6", "model.init.forget_bias=1.0")
    b = build_model(cfg.model, 88, 88).core.b
    assert b[:6].eq(0).all() and b[6:12].eq(1).all() and b[12:].eq(0).all()


def test_no_torch_recurrent_modules_inside_cells():
    for cls in CORES.values():
        core = cls(3, 4)
        assert not any(isinstance(m, (nn.RNNBase,)) for m in core.modules())


@pytest.mark.parametrize("name", ["srnn", "lstm", "gru"])
def test_a_population_of_weight_sets_can_be_vmapped(name):
    # Cells read their weights from the dict they are given, so P parameter sets stacked along a
    # leading member dimension run in one batched call (the population engine builds on this).
    members = [_core(name) for _ in range(3)]
    for i, m in enumerate(members):
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(1 + 0.1 * i)
    stacked = {k: torch.stack([m.weights()[k] for m in members]) for k in members[0].weights()}
    core = members[0]
    x = torch.randn(2, 4, 5, dtype=torch.float64)

    def run(w):
        return _unroll_with(core, w, x)

    batched = torch.func.vmap(run)(stacked)  # (P, B, T, H)
    for i, m in enumerate(members):
        assert torch.allclose(batched[i], unroll(m, x, m.initial_state(2))[0], atol=1e-13, rtol=0)


@pytest.mark.parametrize("sparse_io", [True, False])
def test_sparse_init_scope(sparse_io):
    """model.init.sparse_io: nu incoming non-zeros per unit in W_in, W_rec and W_out, or in W_rec only."""
    cfg = compose_cfg("dataset=jsb", "model.hidden=40", "model.init.sparsity=5", f"model.init.sparse_io={sparse_io}")
    torch.manual_seed(0)
    model = build_model(cfg.model, 88, 88, cfg.regulariser)
    assert ((model.core.w_rec != 0).sum(0) == 5).all()
    for w in (model.core.w_in, model.w_out):
        nonzero = (w != 0).sum(0)
        assert (nonzero == 5).all() if sparse_io else (nonzero == w.shape[0]).all()


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5), (2, 3, 4, 5)])
def test_affine_is_x_w_plus_b_in_one_gemm(shape):
    """rnnbench/affine.py: x W + b over the rows of x of any leading shape, its gradients those of x @ w + b
    (float64: they differ in rounding only), also per member under vmap (a population's weights)."""
    from rnnbench.affine import affine

    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    ours, ref = affine(x, w, b), x @ w + b
    assert ours.shape == ref.shape == (*shape[:-1], 6)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    g = torch.randn_like(ref)
    for a, r in zip(torch.autograd.grad(ours, (x, w, b), g), torch.autograd.grad(ref, (x, w, b), g)):
        torch.testing.assert_close(a, r, rtol=0, atol=1e-12)
    ws, bs = torch.randn(3, 5, 6, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64)
    stacked = torch.func.vmap(lambda w_, b_: affine(x, w_, b_))(ws, bs)
    torch.testing.assert_close(stacked, torch.stack([x @ w_ + b_ for w_, b_ in zip(ws, bs)]), rtol=0, atol=1e-12)
