"""The search group (conf/search/*.yaml) and the population settings: rnnbench/population/."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict


@dataclass
class PopulationConfig:
    """Population training (rnnbench/population/): members with the same tensor shapes and
    regulariser structure train in one process with batched kernels."""

    size: int = 1  # > 1: this config with seeds seed .. seed+size-1, trained as one population
    max_members: int = 128  # the most members one batched group holds (larger groups are split)
    # here: the groups train one after the other in this process; launcher: each group is a job of the
    # run's Hydra submitit launcher (hydra/launcher=slurm or submitit_local; rnnbench/population/dispatch.py)
    dispatch: str = "here"


@dataclass
class SearchConfig:
    """Random search (rnnbench/population/search.py, Bergstra & Bengio 2012): ``n`` configs, each a
    draw from ``space`` (a dotted config key -> a list of choices, or {low, high, log, int}),
    seeds seed .. seed+n-1, grouped into populations by shape."""

    name: str = "none"  # none | random | tpe (optuna's TPE, rnnbench/population/tpe.py)
    n: int = 32
    seed: int = 0  # of the draws (the members' training seeds are seed .. seed+n-1 of the run)
    space: Dict[str, Any] = field(default_factory=dict)
    per_round: int = 8  # tpe: configurations asked per round, trained as one population
    startup: int = 8  # tpe: trials drawn at random before TPE models the results


# (schema name, dataclass) for conf/search/*.yaml: ``/search_<name>_schema@_here_``
SCHEMAS = [("search", SearchConfig)]
