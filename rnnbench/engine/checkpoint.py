"""Checkpoints: everything a run needs to go on after ``kill -9`` as if it had never stopped.

``<run dir>/checkpoint.pt`` (a population's: in its first member's folder) is written atomically
(temporary file, fsync, rename) at the end of every epoch and, with ``train.checkpoint_every_s``,
inside long epochs (PTB). It holds the task's state (weights, optimiser state, batch-order
generators, a population's frozen members), every random number generator of the process
(torch CPU and CUDA, Python, NumPy), each member's bookkeeping (best value, epoch and state,
status, divergence counter, metrics rows) and the configs it was trained with. It is read with
``torch.load(weights_only=True)`` and removed once results.json is written, but beside the results of a single
run stopped by its time budget (``continues``): a larger ``train.max_seconds`` continues that run.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from omegaconf import OmegaConf

from rnnbench.config.keys import differing, resumable
from rnnbench.engine.results import ANOTHER_FOLDER, BUDGET, save_torch_atomic
from rnnbench.errors import ConfigError

FORMAT = 1
KEYS = ("configs", "task", "members", "rng", "epoch", "partial", "elapsed", "trained")  # what format 1 holds


def rng_state() -> dict:
    """Every random number generator the run draws from."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos, "has_gauss": has_gauss,
                  "cached": cached},
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))


def config_text(cfg) -> str:
    return json.dumps(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True), sort_keys=True, default=str)


def save(path: Path, state: dict) -> None:
    save_torch_atomic(path, {"format": FORMAT, **state})


def load(path: Path, members: list) -> Optional[dict]:
    """The checkpoint at ``path`` if there is one, after checking that it was written for these
    configs (up to RESUMABLE_KEYS: time budget, progress bar, data root, logger)."""
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated by hand, foreign, or a malicious pickle: never loaded with weights_only=False
        raise ConfigError(f"{path} is not a readable rnnbench checkpoint ({type(e).__name__}); the run cannot resume "
                          f"from it. Delete it to start the run over, or {ANOTHER_FOLDER}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ConfigError(f"{path} is not an rnnbench checkpoint of format {FORMAT}; delete it to start the run over")
    configs = state.get("configs")
    try:
        saved = [json.loads(c) for c in configs]
    except (TypeError, ValueError):
        saved = None
    if saved is None or not all(isinstance(c, dict) for c in saved):
        raise ConfigError(f"{path} is not a complete rnnbench checkpoint of format {FORMAT} (no readable configs); the "
                          f"run cannot resume from it. Delete it to start the run over, or {ANOTHER_FOLDER}")
    now = [json.loads(config_text(c)) for c in members]
    diff = sorted({d for a, b in zip(saved, now) for d in differing(a, b, resumable)}) if len(saved) == len(now) else ["members"]
    if diff:
        raise ConfigError(f"{path} holds a run of another configuration (it differs in {', '.join(diff[:6])}); resume "
                          f"with the same settings, or {ANOTHER_FOLDER}")
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise ConfigError(f"{path} is not a complete rnnbench checkpoint of format {FORMAT} (missing {', '.join(missing)}); "
                          f"the run cannot resume from it. Delete it to start the run over, or {ANOTHER_FOLDER}")
    return state


def continues(member: dict, elapsed: float, max_seconds: Optional[float]) -> bool:
    """Whether a single run whose checkpoint holds ``member`` (Member.state_dict()), saved ``elapsed`` seconds
    after the run began, trains on under the time budget ``max_seconds`` (None: none): the run was stopped by its
    own budget, nothing else, and an uninterrupted run under the new budget would not have stopped there. The
    checkpoint of such a run is kept beside its results.json (rnnbench/engine/fit.py), and the same command
    with a larger budget goes on from it as if the first budget had been the larger one."""
    return (not member["active"] and member["status"] == "ok" and str(member["reason"]).startswith(BUDGET)
            and (max_seconds is None or elapsed <= max_seconds))


def check_resumable(path: Path, members: list) -> None:
    """Raise ConfigError, as load would, if ``path`` holds a checkpoint these configs cannot resume
    (the CLI checks it before it writes anything into the folder)."""
    load(path, members)


def holds_population(path: Path) -> bool:
    """Whether ``path`` is a checkpoint written by a population (its task state holds the stacked ``params``:
    rnnbench/tasks/music_population.py) rather than by a single run; False if there is none or it cannot be read
    (``load`` then says why, to whichever task resumes)."""
    if not path.is_file():
        return False
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return isinstance(state, dict) and isinstance(state.get("task"), dict) and "params" in state["task"]
