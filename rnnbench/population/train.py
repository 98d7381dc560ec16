"""Training one group of a population or search: the music task's P-member mode
(rnnbench/tasks/music_population.py) on the engine's loop, under the group's lock."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from rnnbench.engine.fit import fit
from rnnbench.engine.lock import RunLock
from rnnbench.engine.results import remove_leftovers
from rnnbench.tasks.music_population import PopulationTask


def train_population(members: list, run_dirs: list[Path], study: Optional[Path] = None) -> list[dict]:
    """Train ``members`` (configs of one structure) together; one results.json per run dir. The
    population's checkpoint is in the first member's folder. ``study``: the optuna study of a TPE search,
    whose pruner stops members (its trial k trains in ``members/<k>``)."""
    start = time.perf_counter()
    with RunLock(run_dirs[0], what="population group"):  # where the group's checkpoint is (a job of its own with dispatch=launcher)
        for d in run_dirs:
            remove_leftovers(d)
        pruner = None
        if study is not None:
            from rnnbench.population.study import StudyPruner

            pruner = StudyPruner.of(study, members[0], run_dirs)
        task = PopulationTask(members, run_dirs, pruner)
        return fit(task, start, desc=f"population of {len(members)}")
