"""logger=tensorboard: the per-epoch metrics as TensorBoard scalars and the config as hparams,
beside metrics.csv (rnnbench/engine/results.py)."""
import csv

import pytest

from rnnbench.train import train

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tests.conftest import ENDED


def test_tensorboard_scalars_match_metrics_csv(quick_cfg, tmp_path):
    results = train(quick_cfg("logger=tensorboard", "train.max_epochs=3", "train.patience=3"), tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert results["status"] in ENDED and len(rows) == 3
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0}).Reload()
    valid = events.Scalars("valid_nll")
    assert [e.step for e in valid] == [1, 2, 3]
    assert [e.value for e in valid] == pytest.approx([float(r["valid_nll"]) for r in rows], rel=1e-6)
    hparams = events.PluginTagToContent("hparams")  # the config as hparams, its metrics the scalars
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    assert b"optim.lr" in hparams["_hparams_/session_start_info"] and b"synthetic" in hparams["_hparams_/session_start_info"]
    assert b"valid_nll" in hparams["_hparams_/experiment"]


def test_csv_is_the_default(quick_cfg, tmp_path):
    train(quick_cfg(), tmp_path)
    assert (tmp_path / "metrics.csv").is_file() and not (tmp_path / "tensorboard").exists()


def test_a_resumed_run_logs_each_epoch_once(quick_cfg, tmp_path, monkeypatch):
    """Killed just before its epoch-2 checkpoint (epoch 2 already logged), then resumed: TensorBoard
    purges the killed run's epoch 2 (purge_step), so every epoch holds the resumed run's value once."""
    import rnnbench.engine.checkpoint as ckpt

    cfg = quick_cfg("logger=tensorboard", "train.max_epochs=3", "train.patience=3")
    real = ckpt.save

    def killed(path, state):
        if state["epoch"] == 2:
            raise KeyboardInterrupt  # stands for kill -9: nothing after it runs
        real(path, state)

    monkeypatch.setattr(ckpt, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path)
    monkeypatch.setattr(ckpt, "save", real)
    train(cfg, tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0}).Reload()
    valid = events.Scalars("valid_nll")
    assert [e.step for e in valid] == [1, 2, 3]
    assert [e.value for e in valid] == pytest.approx([float(r["valid_nll"]) for r in rows], rel=1e-6)
