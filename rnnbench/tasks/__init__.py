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


# dataset.task -> {key the task does not read: why}. Every other train.* key acts, in one place, for every task
# (docs/architecture.md); one of these set by an override is refused (check_overrides).
UNREAD = {
    "music": {"train.checkpoint_every_s": "a music epoch is checkpointed at its end (mid-epoch checkpoints are PTB's)",
              "model.embedding": "a piano roll is read as its 88 notes, without an embedding",
              "model.tie_weights": "a piano roll is read as its 88 notes, without an embedding to tie",
              "model.init.uniform": "the music models are initialised as 000 §2.3 (model.init.var_*, sparsity, rho)"},
    "word-lm": {"train.loss": "the music protocol's reading of the loss over padded chunks (protocols.md §1b)",
                "train.batches": "the music protocol's order of chunk batches (protocols.md §1b)",
                "train.eval_batch_size": "a PTB split is evaluated as one stream, in windows of dataset.eval_bptt",
                "model.learn_h0": "the state starts at zero on every stream and is carried across windows (Zaremba et al.)",
                "model.prob_clip": "a softmax over words: the probabilities are not clipped"},
    "regression": {"train.loss": "the music protocol's reading of the loss over padded chunks (protocols.md §1b)",
                   "train.batches": "the music protocol's order of chunk batches (protocols.md §1b)",
                   "train.patience": "sentiment has no validation split: no early stopping, the last epoch is reported",
                   "train.eval_batch_size": "sentiment is evaluated in batches of train.batch_size (003's code)",
                   "train.checkpoint_every_s": "a sentiment epoch is checkpointed at its end (mid-epoch checkpoints are PTB's)",
                   "model.learn_h0": "every segment starts from a zero state (003's Keras code)",
                   "model.prob_clip": "a regression: there are no probabilities to clip",
                   "model.tie_weights": "a dense read-out of one unit: no softmax to tie to the embedding"},
}


# keys that moved: {old: new}
MOVED = {"dataset.batch": "train.batch_size"}


def _key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def moved_key(overrides: list[str]) -> str | None:
    """The error of an override of a key that moved (checked before composing, which would fail on it), or None."""
    for o in overrides:
        if _key(o) in MOVED:
            return (f"{_key(o)} is {MOVED[_key(o)]} since issue 24 (one batch key for every task): use "
                    f"{MOVED[_key(o)]}={o.split('=', 1)[-1]}")
    return None


def check_overrides(cfg, overrides: list[str]) -> None:
    """A ConfigError for an override of a key that ``cfg``'s task does not read (UNREAD)."""
    unread = UNREAD.get(cfg.dataset.get("task"), {})
    for o in overrides:
        if _key(o) in unread:
            raise ConfigError(f"{_key(o)} does not apply to dataset={cfg.dataset.name} ({cfg.dataset.task} task): "
                              f"{unread[_key(o)]}")


def task_class(cfg):
    """The Task subclass that trains ``cfg``'s data set."""
    import importlib

    name = cfg.dataset.task
    if name not in TASKS:
        raise ConfigError(f"dataset.task={name} is not a task; valid: {', '.join(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def fit_run(cfg, run_dir, start: float, continuable: bool = False) -> dict:
    """One run of ``cfg`` in ``run_dir`` on the engine's loop (resuming from its checkpoint.pt if a killed run
    left one), timed from ``start`` (perf_counter): rnnbench/train.py's train() and a search's group of one
    (rnnbench/population/train.py), so that the two are the same run. ``continuable`` (the command's single run,
    not a search's member): a stop by the time budget keeps the checkpoint for a larger budget (engine/fit.py)."""
    from pathlib import Path

    from rnnbench.config import check_common
    from rnnbench.engine.fit import fit

    check_common(cfg)  # every value in its range (the CLI checked it already; a run may be started from Python)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    [results] = fit(task_class(cfg)(cfg, run_dir), start, desc=f"{cfg.model.name}/{cfg.dataset.name}",
                    continuable=continuable)
    return results
