"""Pruning the members of a population while they train (issue 22): the engine sees every member's
validation metric after every epoch, so a search can stop its poor members early instead of training
each to its own end.

- ``sha``: synchronous successive halving (Jamieson & Talwalkar 2016; Li et al. 2018, one bracket): at the
  rung epochs r, r*eta, r*eta^2, ... the still-active members are ranked by their best validation metric so
  far and the best floor(n / eta) (at least one) go on;
- ``hyperband``: Hyperband's brackets (Li et al. 2018, Algorithm 1), synchronous: with R = train.max_epochs
  and s_max = floor(log_eta(R / r)), bracket s (s_max .. 0) runs successive halving from the rung
  r * eta^(s_max - s) on, so the most aggressive bracket starts at r and bracket 0 trains to its end; the
  members are shared out in proportion to Hyperband's n_s = ceil((s_max + 1) / (s + 1) * eta^s);
- ``median``: at the same rungs as ``sha``, the members whose best so far is worse than the median of the
  active members' are stopped (the median stopping rule, synchronous).

A pruned member is frozen at its best state and written with ``status: pruned`` (rnnbench/engine/fit.py).
The decision depends only on the members' best values and the epoch, which a checkpoint holds, so a
resumed search prunes exactly as an uninterrupted one. Pruning acts inside one batched population: a
search whose members differ in shape is pruned group by group. ``search=tpe`` prunes through optuna's
own pruners instead (rnnbench/population/tpe.py: StudyPruner).
"""
from __future__ import annotations

import math
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


def s_max(first: int, eta: int, last: int) -> int:
    """Hyperband's s_max = floor(log_eta(R / r)), R = ``last``, r = ``first``."""
    s = 0
    while first * eta ** (s + 1) <= last:
        s += 1
    return s


def bracket_sizes(n: int, first: int, eta: int, last: int) -> list[int]:
    """Hyperband: how many of ``n`` members go to each bracket s = s_max .. 0 (largest remainders of
    n * n_s / sum n_s; ties to the more aggressive bracket)."""
    top = s_max(first, eta, last)
    weights = [math.ceil((top + 1) / (s + 1) * eta ** s) for s in range(top, -1, -1)]
    shares = [n * w / sum(weights) for w in weights]
    sizes = [math.floor(x) for x in shares]
    for k in sorted(range(len(shares)), key=lambda k: (-(shares[k] - sizes[k]), k))[:n - sum(sizes)]:
        sizes[k] += 1
    return sizes


class Pruner:
    """Successive halving (or the median rule) inside brackets: each bracket is (its members, its rungs).
    ``sha`` and ``median`` are one bracket of every member from the rung ``first``."""

    def __init__(self, kind: str, first: int, eta: int, last: int, n: Optional[int] = None):
        self.kind, self.eta = kind, eta
        if kind == "hyperband":
            sizes, start, self.brackets = bracket_sizes(n, first, eta, last), 0, []
            end = first * eta ** s_max(first, eta, last) - 1  # the last round of every bracket trains to R
            for k, size in enumerate(sizes):  # bracket s = s_max - k halves at r * eta^k, ..., r * eta^(s_max - 1)
                self.brackets.append((set(range(start, start + size)), set(rungs(first * eta ** k, eta, end))))
                start += size
        else:  # one bracket of every member (n=None: whoever is active)
            self.brackets = [(None, set(rungs(first, eta, last)))]

    def __call__(self, epoch: int, active: list[tuple[int, float]]) -> list[int]:
        """The members (indices) to stop after ``epoch``, from (index, best so far) of the active ones."""
        out = []
        for members, at in self.brackets:
            mine = [(i, v) for i, v in active if members is None or i in members]
            if epoch not in at or len(mine) < 2:
                continue
            ranked = sorted(mine, key=lambda x: (x[1], x[0]))  # best first; ties by member index
            if self.kind == "median":
                median = statistics.median(v for _, v in ranked)
                out += [i for i, v in ranked if v > median]
            else:
                out += [i for i, _ in ranked[max(1, len(ranked) // self.eta):]]
        return sorted(out)

    def bracket(self, i: int) -> Optional[int]:
        """Hyperband: member i's bracket s (s_max: starts at the first rung; 0: no pruning)."""
        if self.kind != "hyperband":
            return None
        return next(len(self.brackets) - 1 - k for k, (members, _) in enumerate(self.brackets) if i in members)

    def reason(self, epoch: int, i: int = 0) -> str:
        rule = {"sha": f"successive halving, eta {self.eta}", "median": "median rule",
                "hyperband": f"hyperband bracket {self.bracket(i)}, eta {self.eta}"}[self.kind]
        return f"pruned after epoch {epoch} ({rule}: not among the best members at this rung)"


def make_pruner(cfg, n_members: int) -> Optional[Pruner]:
    """The pruner of a population's config (``search.pruner``), or None."""
    search = cfg.get("search") if hasattr(cfg, "get") else None
    kind = (search or {}).get("pruner", "none") if search is not None else "none"
    if kind == "none" or n_members < 2:
        return None
    return Pruner(kind, int(search.get("rung", 5)), int(search.get("eta", 3)), int(cfg.train.max_epochs), n_members)
