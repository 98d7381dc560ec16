"""Pruning the members of a population while they train (issue 22): the engine sees every member's
validation metric after every epoch, so a search can stop its poor members early instead of training
each to its own end.

- ``sha``: synchronous successive halving (Jamieson & Talwalkar 2016; Li et al. 2018, one bracket): at the
  rung epochs r, r*eta, r*eta^2, ... the still-active members are ranked by their best validation metric so
  far and the best floor(n / eta) (at least one) go on;
- ``median``: at the same rungs, the members whose best so far is worse than the median of the active
  members' are stopped (the median stopping rule, synchronous).

A pruned member is frozen at its best state and written with ``status: pruned`` (rnnbench/engine/fit.py).
The decision depends only on the members' best values and the epoch, which a checkpoint holds, so a
resumed search prunes exactly as an uninterrupted one. Pruning acts inside one batched population: a
search whose members differ in shape is pruned group by group.
"""
from __future__ import annotations

import statistics
from typing import Optional

from rnnbench.config.search import PRUNERS  # noqa: F401  (the valid values of search.pruner)


def rungs(first: int, eta: int, last: int) -> list[int]:
    """The rung epochs r, r*eta, r*eta^2, ... up to ``last``."""
    out, e = [], first
    while e <= last:
        out.append(e)
        e *= eta
    return out


class Pruner:
    def __init__(self, kind: str, first: int, eta: int, last: int):
        self.kind, self.eta, self.rungs = kind, eta, set(rungs(first, eta, last))

    def __call__(self, epoch: int, active: list[tuple[int, float]]) -> list[int]:
        """The members (indices) to stop after ``epoch``, from (index, best so far) of the active ones."""
        if epoch not in self.rungs or len(active) < 2:
            return []
        ranked = sorted(active, key=lambda x: (x[1], x[0]))  # best first; ties by member index
        if self.kind == "sha":
            keep = max(1, len(ranked) // self.eta)
            return sorted(i for i, _ in ranked[keep:])
        median = statistics.median(v for _, v in ranked)
        return sorted(i for i, v in ranked if v > median)

    def reason(self, epoch: int) -> str:
        rule = f"successive halving, eta {self.eta}" if self.kind == "sha" else "median rule"
        return f"pruned after epoch {epoch} ({rule}: not among the best members at this rung)"


def make_pruner(cfg, n_members: int) -> Optional[Pruner]:
    """The pruner of a population's config (``search.pruner``), or None."""
    search = cfg.get("search") if hasattr(cfg, "get") else None
    kind = (search or {}).get("pruner", "none") if search is not None else "none"
    if kind == "none" or n_members < 2:
        return None
    return Pruner(kind, int(search.get("rung", 5)), int(search.get("eta", 3)), int(cfg.train.max_epochs))
