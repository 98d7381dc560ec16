"""Training one group of a population or search: the music task's P-member mode
(rnnbench/tasks/music_population.py) on the engine's loop, under the group's lock. A group of one member
trains as its single run (tasks.fit_run, what rnnbench/train.py runs): the kernels of ``rnnbench`` with the
member's config, so the member's numbers are those of the command that retrains it alone, also where its
noise is sampled (under vmap each member draws its own), and it does not pay for vmap (a P = 1
population's update: 0.62x a plain one on an H200, 0.96x on the CPU, docs/populations.md). Runs that
cannot be batched (another task, STORN, an optimiser without per-member rates, climin's blocks:
config.batching.unbatched) form groups of one only (population/search.py: groups), so every search trains,
batched where it can be."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from rnnbench.engine.checkpoint import holds_population
from rnnbench.engine.fit import fit
from rnnbench.engine.lock import RunLock
from rnnbench.engine.results import remove_leftovers
from rnnbench.tasks import fit_run
from rnnbench.tasks.music_population import PopulationTask


def alone(members: list, run_dirs: list[Path], study: Optional[Path]) -> bool:
    """Whether the group trains as its one member's single run: one member, no optuna study (whose pruner
    acts on the group), and no checkpoint of a population to resume (a group of one started as a
    population, by rnnbench before this rule, goes on as one)."""
    return len(members) == 1 and study is None and not holds_population(Path(run_dirs[0]) / "checkpoint.pt")


def train_population(members: list, run_dirs: list, study: Optional[Path] = None) -> list[dict]:
    """Train ``members`` (configs of one structure) together; one results.json per run dir. The
    population's checkpoint is in the first member's folder. ``study``: the optuna study of a TPE search,
    whose pruner stops members (its trial k trains in ``members/<k>``)."""
    start = time.perf_counter()
    run_dirs = [Path(d) for d in run_dirs]
    with RunLock(run_dirs[0], what="population group"):  # where the group's checkpoint is (a job of its own with dispatch=launcher)
        for d in run_dirs:
            remove_leftovers(d)
        if alone(members, run_dirs, study):
            return [fit_run(members[0], run_dirs[0], start)]
        pruner = None
        if study is not None:
            from rnnbench.population.study import StudyPruner

            pruner = StudyPruner.of(study, members[0], run_dirs)
        task = PopulationTask(members, run_dirs, pruner)
        return fit(task, start, desc=f"population of {len(members)}")
