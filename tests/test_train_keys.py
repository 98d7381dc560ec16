"""Issue 24 item 4: every train.* key acts in one place for every task, or is refused where a task cannot
honour it; model.activation reaches every task's cells; train.batch_size is every task's batch."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from rnnbench.cli import compose_checked
from rnnbench.errors import ConfigError
from rnnbench.models.fuse import FusedTransition
from rnnbench.models.srnn import SRNN
from rnnbench.tasks import UNREAD
from rnnbench.tasks.regression import RegressionTask
from rnnbench.tasks.word_lm import WordLMTask
from tests.conftest import compose_cfg
from tests.datafiles import write_tiny_ptb, write_tiny_scale

TASKS = {"ptb": (WordLMTask, write_tiny_ptb, "word-lm"), "sentiment": (RegressionTask, write_tiny_scale, "regression")}


def _task(tmp_path, dataset, *overrides):
    cls, write, _ = TASKS[dataset]
    write(tmp_path / "data")
    cfg = compose_cfg(f"dataset={dataset}", "device=cpu", "train.progress=false", f"data.root={tmp_path / 'data'}",
                      "data.download=false", "data.verify=false", "model.hidden=8", "model.embedding=8", *overrides)
    return cls(cfg, tmp_path / "run")


@pytest.mark.parametrize("dataset, task", [("jsb", "music"), ("ptb", "word-lm"), ("sentiment", "regression")])
def test_a_train_key_the_task_does_not_read_is_refused_when_set(dataset, task):
    for key, why in UNREAD[task].items():
        value = {"train.loss": "padded", "train.batches": "blocks", "model.learn_h0": "true", "model.tie_weights": "true",
                 "model.prob_clip": "0.001", "model.init.uniform": "0.1"}.get(key, "7")
        with pytest.raises(ConfigError, match=rf"^{key} does not apply to dataset={dataset} \({task} task\): "):
            compose_checked([f"dataset={dataset}", f"{key}={value}"])
    # what the task's own train group sets is not refused: train=debug sets patience and eval_batch_size
    compose_checked([f"dataset={dataset}", "train=debug"])


def test_every_unread_key_is_a_real_key():
    assert set(UNREAD) == {"music", "word-lm", "regression"}
    for task, dataset in (("music", "jsb"), ("word-lm", "ptb"), ("regression", "sentiment")):
        cfg = compose_checked([f"dataset={dataset}"])
        for key in UNREAD[task]:
            parent, name = key.rsplit(".", 1)
            assert name in OmegaConf.select(cfg, parent), key


def test_dataset_batch_moved_to_train_batch_size():
    with pytest.raises(ConfigError, match=r"^dataset.batch is train.batch_size since issue 24 \(one batch key for "
                                          r"every task\): use train.batch_size=4$"):
        compose_checked(["dataset=ptb", "dataset.batch=4"])
    out = subprocess.run([sys.executable, "-m", "rnnbench", "-m", "dataset=ptb", "dataset.batch=4,8"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "rnnbench: error: dataset.batch is train.batch_size" in out.stderr
    assert compose_checked(["dataset=ptb"]).train.batch_size == 20  # Zaremba et al.'s 20 streams
    assert compose_checked(["dataset=sentiment"]).train.batch_size == 128  # 003's Keras code


@pytest.mark.parametrize("dataset", list(TASKS))
def test_train_batch_size_is_the_batch_of_every_task(tmp_path, dataset):
    task = _task(tmp_path, dataset, "train.batch_size=3")
    if dataset == "ptb":
        assert task.train_data.shape[0] == 3  # parallel streams
    else:
        seen = []
        task.model.forward = lambda tokens, sample=None: seen.append(tokens.shape[0]) or torch.zeros(
            tokens.shape[0], dtype=task.y_train.dtype, requires_grad=True)
        task.train_epoch(1, [True], None, lambda partial: None)
        assert seen and max(seen) == 3


@pytest.mark.parametrize("dataset", list(TASKS))
def test_train_fuse_compiles_the_cells_of_every_task(tmp_path, dataset):
    task = _task(tmp_path, dataset, "model=gru", "train.fuse=true")
    cells = [m for m in task.model.modules() if hasattr(m, "state_names")]
    assert cells and all(isinstance(c.__dict__.get("transition"), FusedTransition) for c in cells)
    plain = _task(tmp_path / "plain", dataset, "model=gru")
    assert not any(isinstance(c.__dict__.get("transition"), FusedTransition) for c in plain.model.modules())


@pytest.mark.parametrize("dataset", list(TASKS))
def test_model_activation_reaches_the_srnn_of_every_task(tmp_path, dataset):
    task = _task(tmp_path, dataset, "model=srnn", "model.activation=sigmoid")
    cells = [m for m in task.model.modules() if isinstance(m, SRNN)]
    assert cells and all(c.activation == "sigmoid" for c in cells)
    h, _ = cells[0](torch.zeros(2, cells[0].input_size), cells[0].initial_state(2))
    assert bool((h > 0).all())  # sigma, not tanh: positive outputs
    with pytest.raises(ConfigError, match="model.activation=sigmoid applies to the sRNN only; gru has fixed gate functions"):
        _task(tmp_path / "gru", dataset, "model=gru", "model.activation=sigmoid")
