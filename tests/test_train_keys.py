"""Issue 24 item 4: every train.* key acts in one place for every task, or is refused where a task cannot
honour it; model.activation reaches every task's cells."""
from __future__ import annotations

import pytest
import torch

from rnnbench.errors import ConfigError
from rnnbench.models.fuse import FusedTransition
from rnnbench.models.srnn import SRNN
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


@pytest.mark.parametrize("dataset", list(TASKS))
@pytest.mark.parametrize("key, value, what", [("loss", "padded", "which positions of a piano-roll chunk batch"),
                                               ("batches", "blocks", "how an epoch's piano-roll chunks are drawn")])
def test_the_music_readings_of_train_are_refused_by_the_word_tasks(tmp_path, dataset, key, value, what):
    task = TASKS[dataset][2]
    with pytest.raises(ConfigError, match=rf"train.{key}={value} does not apply to dataset={dataset} \({task} task\): "
                                          rf"it sets {what}"):
        _task(tmp_path, dataset, f"train.{key}={value}")


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
