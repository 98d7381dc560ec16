"""Word-level language modelling on a tiny PTB-shaped corpus (a scratch data root)."""
import json
import math

import pytest
import torch

from rnnbench.data.ptb import load_ptb
from rnnbench.tasks.word_lm import evaluate_lm
from rnnbench.train import train as train_lm
from rnnbench.models import build_word_lm
from rnnbench.errors import ConfigError
from tests.conftest import ENDED, compose_cfg, run_cli
from tests.datafiles import WORDS, write_tiny_ptb



@pytest.fixture
def tiny_ptb(tmp_path):
    return write_tiny_ptb(tmp_path / "data")


def _cfg(root, *overrides):
    return compose_cfg("dataset=ptb", "model=lstm", "model.hidden=16", "model.layers=2", "model.init.uniform=0.1",
                       "optim=adam", "optim.lr=0.01", "train.clip=5", "train.max_epochs=2", "train.progress=false",
                       "device=cpu", "train.batch_size=4", "dataset.bptt=7", f"data.root={root}", "data.download=false",
                       "data.verify=false", *overrides)


def _model(root, *overrides):
    cfg = _cfg(root, *overrides)
    vocab, streams = load_ptb(cfg.data)
    torch.manual_seed(0)
    return build_word_lm(cfg.model, len(vocab), cfg.regulariser).double(), streams


def test_evaluation_perplexity_does_not_depend_on_the_window(tiny_ptb):
    model, streams = _model(tiny_ptb)
    a, words = evaluate_lm(model, streams["valid"], 3)
    b, _ = evaluate_lm(model, streams["valid"], 50)
    assert words == len(streams["valid"]) - 1 and math.isclose(a, b, rel_tol=1e-10)
    # carrying the state matters: resetting it at every window gives another number
    reset = sum(-torch.log_softmax(model(streams["valid"][i:i + 4].view(1, -1), model.initial_state(1))[0].double(), -1)
                [0, :-1].gather(-1, streams["valid"][i + 1:i + 4].view(-1, 1)).sum().item()
                for i in range(0, len(streams["valid"]) - 4, 3))
    assert not math.isclose(a, math.exp(reset / (3 * len(range(0, len(streams["valid"]) - 4, 3)))), rel_tol=1e-6)


def test_mc_evaluation_of_a_deterministic_lm_equals_deterministic(tiny_ptb):
    model, streams = _model(tiny_ptb)
    det, _ = evaluate_lm(model, streams["test"], 7)
    mc, _ = evaluate_lm(model, streams["test"], 7, mc_samples=3)
    assert math.isclose(det, mc, rel_tol=1e-10)
    noisy, streams = _model(tiny_ptb, "regulariser=variational", "regulariser.embedding.noise=dropout",
                            "regulariser.embedding.rate=0.2")
    det = evaluate_lm(noisy, streams["test"], 7)[0]
    assert det == evaluate_lm(noisy, streams["test"], 7)[0]  # deterministic evaluation draws nothing
    assert not math.isclose(det, evaluate_lm(noisy, streams["test"], 7, mc_samples=4)[0], rel_tol=1e-6)


def test_tied_weights_share_the_embedding(tiny_ptb):
    tied, _ = _model(tiny_ptb, "model.tie_weights=true")
    untied, _ = _model(tiny_ptb)
    assert tied.softmax_weights().data_ptr() == tied.embedding.data_ptr()
    n = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)  # noqa: E731
    assert n(untied) - n(tied) == 16 * len(WORDS) + 16  # one (H, V) matrix fewer (<eos> is a word too)
    with pytest.raises(ConfigError, match="tie_weights needs model.embedding == model.hidden"):
        _model(tiny_ptb, "model.tie_weights=true", "model.embedding=8")


def test_lm_training_lowers_perplexity_and_writes_results(tiny_ptb, tmp_path):
    res = train_lm(_cfg(tiny_ptb, "train.max_epochs=4", "regulariser=variational", "eval.mc_samples=2"), tmp_path / "run")
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    for key in ("valid_ppl", "test_ppl", "words_per_s", "test_ppl_mc", "vocab_size"):
        assert key in on_disk, key
    assert on_disk["vocab_size"] == len(WORDS) + 1 and on_disk["test_words"] == len(load_ptb(_cfg(tiny_ptb).data)[1]["test"]) - 1
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    first, last = float(rows[1].split(",")[3]), float(rows[-1].split(",")[3])
    assert last < first < len(WORDS) + 1  # below the uniform guess, and improving
    assert res["status"] in ENDED and res["eval_modes"] == ["deterministic", "mc2"]


def test_moments_are_refused_for_word_models(tiny_ptb, tmp_path):
    with pytest.raises(ConfigError, match="moment propagation through a softmax"):
        train_lm(_cfg(tiny_ptb, "regulariser=fd"), tmp_path)


@pytest.mark.slow
def test_ptb_end_to_end_in_a_subprocess(tiny_ptb, tmp_path):
    overrides = [str(o) for o in ["dataset=ptb", "model=gru", "model.hidden=8", "model.layers=1", "train=debug",
                                  "train.batch_size=2", "dataset.bptt=5", f"data.root={tiny_ptb}", "data.verify=false",
                                  "data.download=false", "regulariser=dropout"]]
    proc = run_cli(overrides, tmp_path)
    assert proc.returncode == 0, proc.stderr
    [path] = list(tmp_path.glob("outputs/runs/*/*/results.json"))
    res = json.loads(path.read_text())
    assert res["dataset"] == "ptb" and res["status"] in ENDED and res["test_ppl"] > 1


PTB_PRESETS = {  # preset -> (hidden, realise of input, input rate, cell rate, embedding rate, tied, mc samples)
    "zaremba-medium": (650, "step", 0.5, 0.0, 0.0, True, 0),
    "zaremba-large": (1500, "step", 0.65, 0.0, 0.0, True, 0),
    "ptb-none-medium": (650, "step", 0.0, 0.0, 0.0, True, 0),
    "moon-medium": (650, "step", 0.3, 0.3, 0.0, True, 0),
    "moon-emb-large": (1500, "step", 0.5, 0.5, 0.3, True, 0),
    "variational-tied-medium": (650, "sequence", 0.35, 0.0, 0.2, True, 1000),
    "variational-untied-large": (1500, "sequence", 0.5, 0.0, 0.3, False, 1000),
}


@pytest.mark.parametrize("name", sorted(PTB_PRESETS))
def test_ptb_presets(name):
    from rnnbench.regularisers import build_spec

    hidden, realise, p_in, p_cell, p_emb, tied, mc = PTB_PRESETS[name]
    cfg = compose_cfg(f"experiment={name}")
    spec = build_spec(cfg.regulariser, cfg.model.name, word_model=True)
    assert (cfg.dataset.name, cfg.train.batch_size, cfg.dataset.bptt, cfg.model.layers, cfg.model.hidden) == ("ptb", 20, 35, 2, hidden)
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == ("sgd", 1.0, 0.0)
    assert (spec.site("input").realise, spec.site("input").rate, spec.site("cell").rate) == (realise, p_in, p_cell)
    assert (spec.site("embedding").rate, spec.tied, cfg.eval.mc_samples) == (p_emb, tied, mc)
    if p_cell:
        assert spec.site("cell").realise == "sequence"  # RNNDrop: the same cell mask at every step
