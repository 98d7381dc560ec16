"""The tasks, by the ``dataset.task`` key their data set sets (conf/task/<task>.yaml): each supplies
its data, model, loss, evaluation and metric names to the one engine (rnnbench/engine/)."""
from __future__ import annotations

from rnnbench.errors import ConfigError

# dataset.task -> "module:class" (imported when chosen: each pulls in only its own data and models)
TASKS = {
    "music": "rnnbench.tasks.music:MusicTask",
    "word-lm": "rnnbench.tasks.word_lm:WordLMTask",
    "regression": "rnnbench.tasks.regression:RegressionTask",
}


def task_class(cfg):
    """The Task subclass that trains ``cfg``'s data set."""
    import importlib

    name = cfg.dataset.task
    if name not in TASKS:
        raise ConfigError(f"dataset.task={name} is not a task; valid: {', '.join(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)
