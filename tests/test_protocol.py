"""protocol=breze: each point of protocols.md §1b (the authors' code, breze and climin) against values
computed independently here, and the config group that chooses the whole reading in one word."""
import math

import pytest
import torch

from rnnbench.config import value_of
from rnnbench.data.batches import epoch_batches, make_split
from rnnbench.errors import ConfigError
from rnnbench.metrics import batch_loss, frame_nll
from rnnbench.models import build_model
from rnnbench.models.srnn import SRNN
from rnnbench.models.unroll import unroll
from rnnbench.regularisers.moments import MeanVar, MomentOps, sigmoid_moments
from rnnbench.regularisers.propagated import MomentCore
from rnnbench.regularisers import build_spec
from tests.conftest import compose_cfg

DT = torch.float64


def _fd_spec(*overrides):
    cfg = compose_cfg("regulariser=fd", *overrides)
    return cfg, build_spec(cfg.regulariser, "srnn")


# --- FD tanh as tanh(a/2) (breze component/varprop/transfer.py, tanh) ----------------------------

def test_breze_tanh_is_the_closed_form_moments_of_tanh_half():
    m = torch.linspace(-3, 3, 7, dtype=DT)
    v = torch.linspace(0.1, 2.0, 7, dtype=DT)
    got = MomentOps("paper", tanh_half=True).tanh(MeanVar(m, v))
    # breze: mean_, var_ = sigmoid(m, v); return 2 mean_ - 1, 4 var_ (written out here)
    a, b = 4 - 2 * math.sqrt(2), -math.log(math.sqrt(2) - 1)
    mean = torch.sigmoid(m / torch.sqrt(1 + math.pi * v / 8))
    var = torch.sigmoid(a * (m - b) / torch.sqrt(1 + math.pi * a**2 * v / 8)) - mean**2
    assert torch.allclose(got.mean, 2 * mean - 1, atol=1e-12) and torch.allclose(got.var, 4 * var, atol=1e-12)


def test_breze_tanh_moments_are_those_of_tanh_half_by_monte_carlo():
    torch.manual_seed(0)
    m = torch.tensor([-1.5, -0.3, 0.0, 0.8, 2.0], dtype=DT)
    v = torch.tensor([0.05, 0.5, 1.0, 0.2, 2.0], dtype=DT)
    a = m + v.sqrt() * torch.randn(400_000, 5, dtype=DT)
    mc_mean, mc_var = torch.tanh(a / 2).mean(0), torch.tanh(a / 2).var(0)
    quad = MomentOps("quadrature", tanh_half=True).tanh(MeanVar(m, v))
    assert (quad.mean - mc_mean).abs().max() < 4e-3 and (quad.var - mc_var).abs().max() < 2e-3
    # Wang & Manning's closed forms: the mean to 0.003, the variance to 0.1 (its sigma^2 formula, test_moments.py)
    closed = MomentOps("paper", tanh_half=True).tanh(MeanVar(m, v))
    assert (closed.mean - mc_mean).abs().max() < 0.01 and (closed.var - mc_var).abs().max() < 0.12
    paper = MomentOps("paper").tanh(MeanVar(m, v))  # the papers' tanh(a) is far from tanh(a/2)
    assert (paper.mean - mc_mean).abs().max() > 0.2


def test_fd_tanh_switch_reaches_the_cell():
    cfg, spec = _fd_spec("regulariser.fd_tanh=half")
    assert spec.fd_tanh == "half"
    assert build_spec(compose_cfg("regulariser=fd").regulariser, "srnn").fd_tanh == "tanh"


# --- FD recurrent mean x p (breze arch/model/varprop/rnn.py, recurrent_layer) ---------------------

def _one_unit_layer(spec, h0: float, w: float, steps: int = 2):
    core = SRNN(1, 1).double()
    with torch.no_grad():
        core.w_in.zero_(), core.b.zero_(), core.w_rec.fill_(w), core.h0.fill_(h0)
    x = torch.zeros(1, steps, 1, dtype=DT)
    return unroll(MomentCore(core, spec), x)[0]


@pytest.mark.parametrize("reading", ["keep", "drop"])
def test_recurrent_mean_at_a_hand_made_w_and_p(reading):
    cfg, spec = _fd_spec(f"regulariser.fd_rec_mean={reading}", "regulariser.recurrent.rate=0.3",
                         "regulariser.input.rate=0.0", "regulariser.input.noise=none")
    h0, w, p = 0.6, 1.5, 0.3
    q = 1 - p
    hs = _one_unit_layer(spec, h0, w)
    # step 1 by hand: pre-activation mean h0 w (q or p), variance p q h0^2 w^2 (the same in both readings)
    mean = h0 * w * (q if reading == "keep" else p)
    var = p * q * h0**2 * w**2
    s = sigmoid_moments(torch.tensor(2 * mean, dtype=DT), torch.tensor(4 * var, dtype=DT))
    assert hs.mean[0, 0, 0].item() == pytest.approx(2 * s.mean.item() - 1, abs=1e-12)
    assert hs.var[0, 0, 0].item() == pytest.approx(4 * s.var.item(), abs=1e-12)
    # step 2 reads step 1's moments: mean E[h] w (q or p), variance (p q E[h]^2 + q V[h]) w^2
    m1, v1 = 2 * s.mean.item() - 1, 4 * s.var.item()
    mean2 = m1 * w * (q if reading == "keep" else p)
    var2 = (p * q * m1**2 + q * v1) * w**2
    s2 = sigmoid_moments(torch.tensor(2 * mean2, dtype=DT), torch.tensor(4 * var2, dtype=DT))
    assert hs.mean[0, 1, 0].item() == pytest.approx(2 * s2.mean.item() - 1, abs=1e-12)


def test_output_rate_recurrent_replaces_the_read_out_rate():
    _, own = _fd_spec()
    _, breze = _fd_spec("regulariser.output_rate=recurrent")
    assert own.site("output").rate == 0.5 and breze.site("output").rate == 0.2  # fd.yaml: output 0.5, recurrent 0.2
    assert breze.site("output").noise == "dropout"


def test_final_layer_no_as_dec_2013_breze_zeroes_the_input_variance():
    x = torch.ones(1, 2, 3, dtype=DT)
    core = SRNN(3, 2).double()
    with torch.no_grad():
        core.w_in.fill_(0.5), core.w_rec.fill_(0.3), core.h0.fill_(0.2), core.b.zero_()
    _, dec2013 = _fd_spec("regulariser.final_layer_no=readout_and_input", "regulariser.fd_output=false")
    got = unroll(MomentCore(core, dec2013), x)[0]
    # the same net whose input carries no variance: the input dropout's mean q x W_in, nothing else
    _, no_input_noise = _fd_spec("regulariser.input.noise=none", "regulariser.input.rate=0.0", "regulariser.fd_output=false")
    with torch.no_grad():
        core.w_in.mul_(0.9)  # fd.yaml: input rate 0.1
    want = unroll(MomentCore(core, no_input_noise), x)[0]
    assert torch.allclose(got.mean, want.mean, atol=1e-12) and torch.allclose(got.var, want.var, atol=1e-12)
    with torch.no_grad():
        core.w_in.div_(0.9)
    for spec in (_fd_spec("regulariser.final_layer_no=readout_and_input")[1],  # FD for final layer = yes
                 _fd_spec("regulariser.fd_output=false")[1]):  # the papers' "no"
        other = unroll(MomentCore(core, spec), x)[0]
        assert not torch.allclose(other.var, want.var)


# --- the loss over the padded chunk batch (breze make_exprs: loss_row_wise.mean()) -----------------

def _roll(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 88, generator=g) < 0.1).to(torch.uint8)


def test_padded_targets_put_the_chunk_first_frame_at_the_last_padding_step():
    seq = _roll(4)  # frames a b c d, chunk_len 6: breze pads 0 0 a b c d, then shifts
    split = make_split([seq], predict_first=False, chunk_len=6)
    t = split.padded_targets[0]  # (5, 88): 0 a b c d
    assert bool((t[0] == 0).all()) and torch.equal(t[1], seq[0]) and torch.equal(t[2:], seq[1:])
    assert torch.equal(split.targets[0][2:], seq[1:]) and bool((split.targets[0][:2] == 0).all())
    full = make_split([_roll(6)], predict_first=False, chunk_len=6)  # no padding: the same targets
    assert torch.equal(full.padded_targets, full.targets)


def test_batch_loss_masked_and_padded():
    frames = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[False, True, True], [True, True, True]])
    assert batch_loss(frames, mask, padded=False).item() == pytest.approx((2 + 3 + 4 + 5 + 6) / 5)
    assert batch_loss(frames, mask, padded=True).item() == pytest.approx(21 / 6)
    stacked = torch.stack([frames, 2 * frames])  # populations: one loss per member
    assert torch.allclose(batch_loss(stacked, mask.expand(2, 2, 3), padded=True), torch.tensor([3.5, 7.0]))


def test_padded_loss_needs_chunks_without_a_predicted_first_frame(quick_cfg, tmp_path):
    from rnnbench.train import train

    cfg = quick_cfg("train.loss=padded", "dataset.predict_first=true")
    with pytest.raises(ConfigError, match="predict_first=false"):
        train(cfg, tmp_path / "run")


# --- climin's minibatches (util.iter_minibatches) ----------------------------------------------

def test_blocks_are_fixed_contiguous_and_reshuffled():
    g = torch.Generator().manual_seed(0)
    epochs = [epoch_batches(10, 4, "blocks", g) for _ in range(6)]
    for batches in epochs:
        assert sorted(tuple(b.tolist()) for b in batches) == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9)]
    assert len({tuple(b[0].item() for b in batches) for batches in epochs}) > 1  # the order changes


def test_rows_are_the_permutation_of_before():
    got = epoch_batches(10, 4, "rows", torch.Generator().manual_seed(3))
    want = torch.randperm(10, generator=torch.Generator().manual_seed(3)).split(4)
    assert all(torch.equal(a, b) for a, b in zip(got, want)) and len(got) == len(want)


def test_populations_refuse_blocks():
    from rnnbench.tasks.music_population import check_members as _check

    with pytest.raises(ConfigError, match="train.batches=rows"):
        _check([compose_cfg("dataset=synthetic", "train.batches=blocks")])


# --- initialisation and output -------------------------------------------------------------------

def test_init_scale_std_reads_sigma2_as_a_standard_deviation():
    torch.manual_seed(0)
    model = build_model(compose_cfg("model.init.scale=std", "model.init.sparsity=null", "model.init.rho=null",
                                    "model.init.var_in=0.01", "model.init.var_rec=0.001", "model.init.var_out=0.1").model,
                        88, 88)
    assert model.core.w_in.std().item() == pytest.approx(0.01, rel=0.03)
    assert model.core.w_rec.std().item() == pytest.approx(0.001, rel=0.03)
    assert model.w_out.std().item() == pytest.approx(0.1, rel=0.03)
    torch.manual_seed(0)
    paper = build_model(compose_cfg("model.init.sparsity=null", "model.init.rho=null", "model.init.var_in=0.01").model, 88, 88)
    assert paper.core.w_in.std().item() == pytest.approx(0.1, rel=0.03)


def test_h0_gaussian_has_the_std_of_w_rec():
    torch.manual_seed(0)
    cfg = compose_cfg("model.init.h0=gaussian", "model.hidden=2000", "model.init.var_rec=0.01", "model.init.sparsity=null")
    h0 = build_model(cfg.model, 88, 88).core.h0
    assert h0.requires_grad and h0.std().item() == pytest.approx(0.1, rel=0.05) and abs(h0.mean().item()) < 0.01
    assert bool((build_model(compose_cfg().model, 88, 88).core.h0 == 0).all())


def test_prob_clip_bounds_the_loss_like_clipped_probabilities():
    torch.manual_seed(0)
    model = build_model(compose_cfg("model.prob_clip=1e-7", "model.hidden=4").model, 88, 88)
    with torch.no_grad():
        model.b_out.fill_(-40.0), model.w_out.zero_()
    x, y = torch.zeros(1, 3, 88), torch.ones(1, 3, 88)
    loss = model.frame_losses(x, y)
    assert torch.allclose(loss, torch.full((1, 3), -88 * math.log(1e-7)), rtol=1e-5)  # BCE at p = 1e-7
    with torch.no_grad():
        model.b_out.fill_(0.3)
    p = torch.sigmoid(torch.tensor(0.3))
    assert torch.allclose(model.frame_losses(x, y), torch.full((1, 3), -88 * math.log(p)), rtol=1e-5)  # unclipped inside
    with pytest.raises(ConfigError, match="prob_clip"):
        build_model(compose_cfg("model.prob_clip=0.7").model, 88, 88)


# --- the group: the whole reading in one word, each point overridable ------------------------------

def _values(*nodes):
    return tuple(value_of(n) for n in nodes)


def test_protocol_breze_sets_every_point_and_paper_none():
    breze = compose_cfg("protocol=breze")
    assert breze.protocol == "breze"
    assert _values(breze.regulariser.fd_rec_mean, breze.regulariser.fd_tanh) == ("drop", "half")
    assert _values(breze.train.loss, breze.train.batches, breze.train.batch_size, breze.train.clip) == \
        ("padded", "blocks", 35, None)
    assert _values(breze.model.init.scale, breze.model.init.sparse_io, breze.model.init.h0, breze.model.prob_clip) == \
        ("std", False, "gaussian", 1e-7)
    paper = compose_cfg("protocol=paper")
    assert paper.protocol == "paper"
    assert _values(paper.regulariser.fd_rec_mean, paper.regulariser.fd_tanh, paper.train.loss, paper.train.batches) == \
        ("keep", "tanh", "masked", "rows")
    assert _values(paper.train.batch_size, paper.train.clip, paper.model.init.scale, paper.model.prob_clip) == \
        (32, 225.0, "variance", None)
    one = compose_cfg("protocol=breze", "train.clip=225")  # one point switched back
    assert one.train.clip == 225.0 and value_of(one.train.loss) == "padded"


def test_a_misspelt_reading_names_the_valid_ones():
    with pytest.raises(Exception, match="fd_rec_mean"):
        compose_cfg("regulariser.fd_rec_mean=q")


def test_the_ablation_switches_exactly_the_points_of_protocol_breze():
    from benchmarks.protocol_ablation import POINTS, plan
    from omegaconf import OmegaConf

    def flat(cfg):
        return {k: v for k, v in _leaves(OmegaConf.to_container(cfg, enum_to_str=True))}

    paper, breze = flat(compose_cfg("protocol=paper")), flat(compose_cfg("protocol=breze"))
    differ = {k for k in paper if paper[k] != breze[k]} - {"protocol"}
    assert differ == {on.split("=")[0] for _, on, _ in POINTS}  # every point of breze.yaml, nothing else
    for _, on, off in POINTS:
        key = on.split("=")[0]
        assert flat(compose_cfg("protocol=paper", on))[key] == breze[key]
        assert flat(compose_cfg("protocol=breze", off))[key] == paper[key]
    assert all("=" not in label and "/" not in label for label, _ in plan())  # labels are folder names


def _leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def test_protocol_breze_is_refused_outside_the_music_task():
    from rnnbench.config import check_common

    with pytest.raises(ConfigError, match="protocol=breze is a reading of the music papers"):
        check_common(compose_cfg("dataset=ptb", "protocol=breze"))
    check_common(compose_cfg("dataset=ptb"))  # the default reading passes
