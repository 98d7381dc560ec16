"""train.limit_batches (issue 23): a fast dev run keeps, in every split of every task, the rows of its first
N batches (music chunks and sequences, PTB tokens of N windows, sentiment segments), and train=debug sets it."""
import pytest

from rnnbench.data.batches import limit
from rnnbench.tasks import task_class
from tests.conftest import compose_cfg
from tests.datafiles import write_tiny_ptb, write_tiny_scale

BASE = ("device=cpu", "train.progress=false", "data.download=false", "data.verify=false")


def test_limit_is_n_batches_of_rows_or_everything():
    cfg = compose_cfg("train.limit_batches=3")
    assert limit(100, 8, cfg.train) == 24 and limit(10, 8, cfg.train) == 10
    assert limit(100, 8, compose_cfg().train) == 100  # unset: every row
    assert compose_cfg("train=debug").train.limit_batches == 5


def test_music_splits_keep_their_first_batches(tmp_path):
    full = task_class(compose_cfg(*BASE, "dataset=synthetic", f"data.root={tmp_path}"))(
        compose_cfg(*BASE, "dataset=synthetic", f"data.root={tmp_path}"), tmp_path / "a")
    cfg = compose_cfg(*BASE, "dataset=synthetic", f"data.root={tmp_path}", "train.limit_batches=2", "train.batch_size=8",
                      "train.eval_batch_size=5")
    cut = task_class(cfg)(cfg, tmp_path / "b")
    assert [len(cut.splits[k]) for k in ("train", "valid", "test")] == [16, 10, 10]
    for k in ("train", "valid", "test"):  # the first rows, every field cut alike
        a, b = full.splits[k], cut.splits[k]
        n = len(b)
        assert (a.inputs[:n] == b.inputs).all() and (a.loss_mask[:n] == b.loss_mask).all()
        assert (a.seq_id[:n] == b.seq_id).all() and (a.lengths[:n] == b.lengths).all()


def test_ptb_keeps_the_tokens_of_n_windows(tmp_path):
    root = write_tiny_ptb(tmp_path / "data")
    cfg = compose_cfg(*BASE, "dataset=ptb", f"data.root={root}", "model.hidden=8", "train.batch_size=4", "dataset.bptt=5",
                      "dataset.eval_bptt=7", "train.limit_batches=3")
    task = task_class(cfg)(cfg, tmp_path / "run")
    assert len(task.streams["train"]) == 4 * 5 * 3 + 1 and task.train_data.shape == (4, 15)
    assert len(task.streams["valid"]) == 7 * 3 + 1 and len(task.streams["test"]) == 7 * 3 + 1


def test_sentiment_keeps_n_batches_of_segments(tmp_path):
    root = write_tiny_scale(tmp_path / "data")
    cfg = compose_cfg(*BASE, "dataset=sentiment", f"data.root={root}", "model=gru", "model.hidden=8",
                      "model.embedding=8", "train.batch_size=4", "dataset.segment=10", "train.limit_batches=2")
    task = task_class(cfg)(cfg, tmp_path / "run")
    assert len(task.x_train) == 8 and len(task.x_test) == 8 and len(task.y_train) == 8


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_limit_below_one_batch_is_refused(value):
    from rnnbench.config import check_common
    from rnnbench.errors import ConfigError

    with pytest.raises(ConfigError, match=f"train.limit_batches={value} is not valid: train.limit_batches must be a "
                                          "whole number >= 1"):
        check_common(compose_cfg(f"train.limit_batches={value}"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_installation_check_learns(seed, tmp_path):
    # issue 33 item 2: the README's `rnnbench dataset=synthetic train=debug` (ten updates) ends ok: its best
    # validation NLL is below the generated set's floor, with the set's plain sRNN (conf/plain/)
    from rnnbench import run

    r = run([*BASE, "dataset=synthetic", "train=debug", f"seed={seed}", f"data.root={tmp_path / 'data'}"],
            run_dir=tmp_path / "run", quiet=True)
    assert r["status"] == "ok", r.get("stop_reason")
    assert r["config"]["model"]["hidden"] == 100 and r["epochs"] == 2
