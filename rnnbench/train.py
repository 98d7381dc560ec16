"""``train(cfg, run_dir) -> results``: one run (the CLI's and the tests' entry point). The task is
chosen by ``dataset.task`` (rnnbench/tasks/), the loop is the engine's (rnnbench/engine/fit.py)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig

from rnnbench.config import check_common
from rnnbench.engine.results import selection_value
from rnnbench.tasks import fit_run

log = logging.getLogger("rnnbench")


def train(cfg: DictConfig, run_dir: Path) -> dict:
    """Train one configuration; write results.json, metrics.csv and best.pt into ``run_dir`` (resuming
    from its checkpoint.pt if a killed run, or one stopped by a smaller time budget, left one)."""
    return fit_run(cfg, run_dir, time.perf_counter(), continuable=True)


def run_config(cfg: DictConfig, run_dir: Path) -> tuple[dict, list[dict]]:
    """Whatever ``cfg`` asks for in ``run_dir``: one run, a population of seeds or a search
    (rnnbench/population/). Returns (the run, or the member chosen by its selection metric; every member's
    results, [] for a single run)."""
    check_common(cfg)  # the one place a population's settings are checked (population.dispatch among them)
    if cfg.search.name == "none" and cfg.population.size == 1:
        if cfg.population.get("dispatch", "here") != "here":
            log.warning("population.dispatch=%s sends the groups of a population or search away; this is one run "
                        "and trains here", cfg.population.dispatch)
        return train(cfg, run_dir), []
    if cfg.search.name == "tpe":  # optuna's ask/tell rounds (rnnbench/population/tpe.py)
        from rnnbench.population.tpe import run_tpe as run_members
    else:  # seeds or a random search (rnnbench/population/search.py)
        from rnnbench.population.search import run_population as run_members
    members = [r for r in run_members(cfg, Path(run_dir)) if r]
    return (min(members, key=selection_value) if members else {}), members

