"""The search group (conf/search/*.yaml) and the population settings: rnnbench/population/."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict

from omegaconf import OmegaConf

from rnnbench.config.checks import SEED_MAX, bounded, check_setting
from rnnbench.errors import ConfigError

CAP = 10_000  # the most members of a population or a search (README: Limits)
DISPATCH = ("here", "processes", "launcher")  # population.dispatch (rnnbench/population/dispatch.py)
PRUNERS = ("none", "sha", "hyperband", "median")  # search.pruner (rnnbench/engine/prune.py; search=tpe: optuna's)


@dataclass
class PopulationConfig:
    """Population training (rnnbench/population/): members with the same tensor shapes and
    regulariser structure train in one process with batched kernels."""

    size: int = bounded(1, ge=1, le=CAP)  # > 1: this config with seeds seed .. seed+size-1, trained as one population (runs populations cannot batch: one after the other)
    max_members: int = bounded(128, ge=1, le=CAP)  # the most members one batched group holds (larger groups are split; a group of one trains as its single run)
    # here: the groups train one after the other in this process; processes: population.workers groups at a
    # time, each in a worker process of this machine with its share of torch's threads; launcher: each group
    # is a job of the run's Hydra submitit launcher (hydra/launcher=slurm or submitit_local;
    # rnnbench/population/dispatch.py). A group's numbers are the same whichever trains it.
    dispatch: str = "here"
    workers: int = bounded(2, ge=1, le=256)  # dispatch=processes: how many groups train at once


@dataclass
class SearchConfig:
    """Random search (rnnbench/population/search.py, Bergstra & Bengio 2012): ``n`` configs, each a
    draw from ``space`` (a dotted config key -> a list of choices, or {low, high, log, int}),
    seeds seed .. seed+n-1, grouped into populations by shape."""

    name: str = "none"  # none | random | tpe (optuna's TPE, rnnbench/population/tpe.py)
    n: int = bounded(32, ge=1, le=CAP)
    seed: int = bounded(0, ge=0, le=SEED_MAX)  # of the draws (the members' training seeds are seed .. seed+n-1 of the run)
    space: Dict[str, Any] = field(default_factory=dict)
    per_round: int = bounded(8, ge=1, le=CAP)  # tpe: configurations asked per round, trained as one population
    # stop poor members while they train (rnnbench/engine/prune.py): none | sha (successive halving) |
    # hyperband (brackets of successive halving) | median; search=tpe: optuna's pruner of the same name
    pruner: str = "none"
    rung: int = bounded(5, ge=1)  # the first rung epoch r (rungs at r, r*eta, r*eta^2, ...; optuna: min_resource)
    eta: int = bounded(3, ge=2)  # sha keeps the best 1/eta of the active members at each rung (reduction_factor)
    startup: int = bounded(8, ge=0, le=CAP)  # tpe: trials drawn at random before TPE models the results


# (schema name, dataclass) for conf/search/*.yaml: ``/search_<name>_schema@_here_``
SCHEMAS = [("search", SearchConfig)]


# The grammar of search.space (rnnbench/population/search.py draws from it): leaves are lists of choices
# or {low, high, log, int}; keys are dotted config keys, nested or not.
def _is_leaf(node) -> bool:
    return OmegaConf.is_list(node) or isinstance(node, list) or "low" in node


def flatten_space(space, prefix: str = "") -> dict:
    """{dotted config key: leaf} of a nested (or dotted) search space."""
    out = {}
    for key, node in space.items():
        path = f"{prefix}{key}"
        if node is None or not (OmegaConf.is_list(node) or OmegaConf.is_dict(node) or isinstance(node, (list, dict))):
            raise ConfigError(f"search.space.{path}: expected a list of choices or {{low, high}}, got {node!r}")
        out.update({path: node} if _is_leaf(node) else flatten_space(node, path + "."))
    return out


def space_range(spec, key: str) -> tuple[float, float, bool]:
    """(low, high, log) of the {low, high, log, int} entry search.space.``key``, checked (a refusal names the key)."""
    try:
        low, high = float(spec["low"]), float(spec["high"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"search.space.{key}: a range needs numbers low and high, got {spec!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ConfigError(f"search.space.{key}: a range needs finite numbers low <= high, got low={low}, high={high}")
    log_scale = bool(spec.get("log", False))
    if log_scale and low <= 0:
        raise ConfigError(f"search.space.{key}: a log-uniform range needs low > 0, got {low}")
    return low, high, log_scale


def check_space(cfg) -> None:
    """Every choice and range end of ``search.space`` in the range of the config field it sets, before
    any member is drawn (rnnbench/config/__init__.py: check_common)."""
    for key, leaf in flatten_space(cfg.search.space).items():
        if OmegaConf.is_list(leaf) or isinstance(leaf, list):
            if not len(leaf):
                raise ConfigError(f"search.space.{key}: an empty list of choices; give at least one value")
            values = list(leaf)
        else:
            values = list(space_range(leaf, key)[:2])
        for value in values:
            check_setting(cfg, key, value, "search.space")
