"""The Python API: what the ``rnnbench`` command does, from a notebook or a script (issue 23).

    from rnnbench import run
    r = run("dataset=jsb regulariser=fd train.max_epochs=5")
    print(r["test_nll"], r["run_dir"])

``overrides`` are the command line's: one string, a list of strings, or a dict {dotted key: value}
(``{"dataset": "jsb", "optim.lr": 0.01}``). The config is composed and checked exactly as the command
composes it (conf/, rnnbench/config/), the run folder gets the same files (results.json, metrics.csv,
best.pt, .hydra/config.yaml, rnnbench.log) under the same lock, and the same folder resumes a killed
run. A population or search returns its member chosen by validation with every member's results under
"members". A user mistake raises rnnbench.errors.RnnbenchError with the command's one-line message.
"""
from __future__ import annotations

import json
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Optional, Union

from omegaconf import DictConfig

from rnnbench.errors import ConfigError

Overrides = Union[None, str, list, tuple, dict]
log = logging.getLogger("rnnbench")


def _value(v) -> str:
    """A Python value in Hydra's override grammar (numbers, booleans, null and lists as JSON; strings as
    they are, quoted when they hold a character the grammar would read)."""
    if isinstance(v, str):
        return v if v and all(c.isalnum() or c in "._-/:" for c in v) else "'" + v.replace("'", "\\'") + "'"
    return json.dumps(v)


def override_list(overrides: Overrides) -> list[str]:
    """The override strings of ``overrides`` (see the module's text)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return shlex.split(overrides)
    if isinstance(overrides, dict):
        return [f"{k}={_value(v)}" for k, v in overrides.items()]
    if isinstance(overrides, (list, tuple)) and all(isinstance(o, str) for o in overrides):
        return list(overrides)
    raise ConfigError(f"overrides: a string, a list of strings or a dict, got {type(overrides).__name__}")


def compose(overrides: Overrides = None) -> DictConfig:
    """The config ``rnnbench <overrides>`` would run, checked (a bad value raises ConfigError)."""
    from rnnbench.cli import compose_checked

    args = override_list(overrides)
    hydra_args = [a for a in args if a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    if hydra_args:
        raise ConfigError(f"{hydra_args[0]}: Hydra's own settings belong to the command; give run() a run_dir instead")
    return compose_checked(args)


def _fresh_dir(root: Path) -> Path:
    """outputs/<date>/<time> as the command names its folders; -1, -2, ... when two runs start in one second."""
    base = root / time.strftime("%Y-%m-%d") / time.strftime("%H-%M-%S")
    folder, k = base, 0
    while folder.exists():
        k += 1
        folder = base.with_name(f"{base.name}-{k}")
    return folder


def run(overrides: Overrides = None, run_dir: Optional[Union[str, Path]] = None, quiet: bool = False) -> dict:
    """Train what ``rnnbench <overrides>`` trains, into ``run_dir`` (default: outputs/<date>/<time> under the
    working folder); its results.json as a dict, with "run_dir". ``quiet``: no log lines on stderr (they
    are shown when nothing else handles them, as in a notebook)."""
    from rnnbench.engine.lock import RunLock
    from rnnbench.engine.results import folder_problem
    from rnnbench.run_folder import prepare, release, train_recorded

    cfg = compose(overrides)
    folder = Path(run_dir) if run_dir is not None else _fresh_dir(Path("outputs"))
    problem = folder_problem(folder)
    if problem:
        raise ConfigError(f"cannot write into {folder}: {problem}")
    console = None
    if not quiet and not logging.getLogger().handlers and not log.handlers:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        log.addHandler(console)
        log.setLevel(logging.INFO)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with RunLock(folder):  # the command's rule for the folder (rnnbench/run_folder.py), raised, not printed
            prepare(cfg, folder)
            results, members = train_recorded(cfg, folder)
    finally:
        release(folder)
        if console is not None:
            log.removeHandler(console)
            log.setLevel(logging.NOTSET)
    out = {**results, "run_dir": str(folder)}
    if members:
        out["members"] = members
    return out
