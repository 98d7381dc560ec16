import csv
import json
import math

import pytest
import torch

from rnnbench.errors import ConfigError
from rnnbench.train import train
from tests.conftest import ENDED


def test_same_seed_gives_bit_identical_numbers(quick_cfg, tmp_path):
    a = train(quick_cfg("seed=3"), tmp_path / "a")
    b = train(quick_cfg("seed=3"), tmp_path / "b")
    c = train(quick_cfg("seed=4"), tmp_path / "c")
    for key in ("train_nll", "valid_nll", "test_nll", "test_nll_seq_mean"):
        assert a[key] == b[key]
    assert (tmp_path / "a" / "metrics.csv").read_text().split("\n")[1].split(",")[:7] == \
        (tmp_path / "b" / "metrics.csv").read_text().split("\n")[1].split(",")[:7]
    sa = torch.load(tmp_path / "a" / "best.pt", weights_only=True)
    sb = torch.load(tmp_path / "b" / "best.pt", weights_only=True)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["test_nll"] != c["test_nll"]


def test_results_json_has_the_promised_fields(quick_cfg, tmp_path):
    res = train(quick_cfg("train.max_epochs=3", "train.patience=5"), tmp_path)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    for key in ["dataset", "model", "regulariser", "seed", "status", "epochs", "best_epoch", "train_nll", "valid_nll",
                "test_nll", "n_params", "wall_s", "device", "torch_version", "config", "test_nll_seq_mean"]:
        assert key in on_disk, key
    assert on_disk["status"] in ENDED and on_disk["epochs"] == 3 and 1 <= on_disk["best_epoch"] <= 3
    assert on_disk["config"]["model"]["hidden"] == 16 and on_disk["config"]["dataset"]["pad"] == "zeros"
    assert res["test_frames"] == sum(L - 1 for L in _synthetic_test_lengths())
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert min(float(r["valid_nll"]) for r in rows) == pytest.approx(on_disk["valid_nll"], rel=1e-9)
    assert all(float(r["spectral_radius"]) > 0 for r in rows)  # 000 Fig. 2, logged for sRNNs
    state = torch.load(tmp_path / "best.pt", weights_only=True)
    assert sum(v.numel() for v in state.values()) == on_disk["n_params"]


def _synthetic_test_lengths():
    from rnnbench.data.synthetic import make_synthetic
    from tests.conftest import compose_cfg
    return [len(s) for s in make_synthetic(compose_cfg("dataset=synthetic").dataset)["test"]]


def test_training_lowers_the_nll(quick_cfg, tmp_path):
    res = train(quick_cfg("train.max_epochs=15", "train.patience=15", "optim=adam", "optim.lr=0.01"), tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert float(rows[-1]["valid_nll"]) < 0.7 * float(rows[0]["valid_nll"])
    assert res["test_nll"] < 88 * math.log(2) / 4  # far below chance (61 nats per frame)


def test_patience_stops_early_and_reports_the_best_epoch(quick_cfg, tmp_path):
    res = train(quick_cfg("train.max_epochs=50", "train.patience=3", "optim=sgd", "optim.lr=1e-30"), tmp_path)
    assert res["epochs"] == 4 and res["best_epoch"] == 1  # a frozen model never improves (steps below float32's resolution)
    assert "no improvement for 3 epochs" in res["stop_reason"]


def test_non_finite_loss_ends_the_run_as_diverged(quick_cfg, tmp_path):
    res = train(quick_cfg("optim=sgd", "optim.lr=1e30", "train.clip=null", "train.max_epochs=5",
                          "train.limit_batches=null"), tmp_path)  # every batch: enough updates to blow up
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert res["status"] == on_disk["status"] == "diverged"
    assert "non-finite loss" in on_disk["stop_reason"]


@pytest.mark.parametrize("override, message", [
    ("dataset.chunk_len=1", "dataset.chunk_len=1 is not valid: dataset.chunk_len must be a whole number in \\[2, 1000000\\]"),
    ("train.batch_size=0", "train.batch_size=0 is not valid: train.batch_size must be a whole number in \\[1, 1000000\\]"),
    ("model.init.sparsity=0", "model.init.sparsity=0 is not valid: model.init.sparsity must be a whole number >= 1"),
    ("device=tpu", "unknown device 'tpu'"),
    ("model.name=rnn", "unknown model 'rnn'; valid: gru, lstm, srnn"),
    ("regulariser=rnndrop", "drops the LSTM cell state \\(RNNDrop\\), but model=srnn has no cell state"),
    ("regulariser.recurrent.rate=0.3", "regulariser.recurrent.rate=0.3 has no effect with noise=none"),
    ("regulariser=fd regulariser.input.rate=1.0", "regulariser.input.rate is a drop probability and must be in \\[0, 1\\)"),
    ("regulariser=variational regulariser.embedding.noise=dropout regulariser.embedding.rate=0.1",
     "drops embeddings, but this model has no embedding"),
    ("regulariser=l2 regulariser.penalty_weight=0", "regulariser.penalty=l2 needs regulariser.penalty_weight > 0"),
    ("eval.mc_samples=-1", "eval.mc_samples=-1 is not valid: eval.mc_samples must be a whole number in \\[0, 10000\\]"),
])
def test_impossible_values_are_config_errors(quick_cfg, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        train(quick_cfg(*override.split()), tmp_path)


def test_predict_first_switch_counts_every_frame(quick_cfg, tmp_path):
    res = train(quick_cfg("dataset.predict_first=true", "train.max_epochs=1"), tmp_path)
    assert res["test_frames"] == sum(_synthetic_test_lengths())


def test_float64_training_runs(quick_cfg, tmp_path):
    res = train(quick_cfg("train.precision=float64", "train.max_epochs=1", "dataset.pad=hold"), tmp_path)
    assert res["status"] in ENDED and math.isfinite(res["test_nll"])
