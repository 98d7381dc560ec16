"""What a task gives the engine (rnnbench/engine/fit.py): its data, model, loss, evaluation and
metric names. The engine owns everything else: the epoch loop, the step-rate schedule's place,
the best state, the divergence rule, stopping, checkpoints, metrics.csv and results.json.

A task trains ``P`` members at once: a single run is one member; a population
(rnnbench/tasks/music_population.py) is P members in batched kernels, each with its own bookkeeping.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import torch

from rnnbench.engine.prune import make_pruner
from rnnbench.optim import lr_at_epoch


@dataclass
class Outcome:
    """One member's epoch, as the task measured it.

    watched: the metric that selects the best state and that the divergence rule watches
             (lower is better: valid NLL, valid perplexity; sentiment: the training MSE).
    finite:  further values that must merely stay finite (the training loss).
    row:     the columns of metrics.csv the task fills (the engine adds epoch, the best so far and epoch_s).
    """

    watched: float
    finite: tuple = ()
    row: dict = field(default_factory=dict)


class Task:
    """The base of every task. Subclasses set the class attributes and implement the methods."""

    fields: list[str]  # metrics.csv columns, in order
    best_column: Optional[str] = None  # the column that gets the best watched value so far
    watched_name: str = "valid metric"  # in the divergence message
    floor: float = float("inf")  # the trivial floor of the divergence rule (rnnbench/floors.py), set in __init__
    floor_name: str = "trivial floor"  # what the floor predicts
    # the floor a run's best validation metric must beat to end `ok` (fit.py), where stronger than ``floor``
    # (music: copying the previous frame, dataset.floor); None: ``floor``
    status_floor: Optional[float] = None
    status_floor_name: str = ""
    # True: the reported model is the last epoch's (no validation split: sentiment, 003 §5.2); there
    # is no early stopping then, only max_epochs and the time budget
    select_last: bool = False

    cfg: object  # the run's config (a population: its first member's)
    model: torch.nn.Module  # a single-model task's model and optimiser (the defaults below use them)
    opt: torch.optim.Optimizer
    members: list  # one config per member
    run_dirs: list[Path]
    device: torch.device

    def headers(self) -> list[dict]:
        """The results.json header of each member (rnnbench/engine/loop.py: results_header)."""
        raise NotImplementedError

    def begin_epoch(self, epoch: int) -> list[float]:
        """Set the step rate (and any other per-epoch schedule) for ``epoch``; each member's rate. By
        default: the optimiser's schedule (rnnbench/optim: lr_at_epoch) on ``self.opt``."""
        lr = lr_at_epoch(self.cfg.optim, epoch)
        for group in self.opt.param_groups:
            group["lr"] = lr
        return [lr]

    def train_epoch(self, epoch: int, active: list[bool], resume: Optional[dict],
                    checkpoint: Callable[[Callable[[], dict]], None]) -> None:
        """One pass over the training data. ``resume`` is the partial state a mid-epoch checkpoint
        saved (None: from the start); ``checkpoint(partial)`` offers the engine a mid-epoch checkpoint
        (``partial()`` builds it)."""
        raise NotImplementedError

    def validate(self, epoch: int, active: list[bool]) -> list[Optional[Outcome]]:
        """Each member's Outcome of the epoch just trained (None for a member no longer training)."""
        raise NotImplementedError

    def pruner(self):
        """What stops members early (``search.pruner``, rnnbench/engine/prune.py), called after each
        epoch with the active members' best values; None: nothing."""
        return make_pruner(self.members[0], len(self.members))

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """A copy of member i's weights (its best state, when the engine keeps it); by default those
        of the one ``self.model``."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def stop_members(self, stopped: list[int], states: list[Optional[dict]], active: list[bool]) -> None:
        """Members ``stopped`` have ended (at ``states``); a population freezes them there."""

    def summary(self, i: int) -> dict:
        """Fields of member i's results.json about the whole training (e.g. words per second)."""
        return {}

    def finish(self, i: int, best_state: Optional[dict], best: float, results: dict) -> Optional[dict]:
        """Evaluate member i's best state (whose watched value was ``best``) on every split into
        ``results``; the state to save as best.pt, or None."""
        raise NotImplementedError

    # checkpoints (rnnbench/engine/checkpoint.py): everything that changes while training. By default
    # the one model, its optimiser and the batch-order generator (if the task has one).
    def state_dict(self) -> dict:
        state = {"model": self.model.state_dict(), "optim": self.opt.state_dict()}
        if getattr(self, "generator", None) is not None:
            state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optim"])
        if "generator" in state:
            self.generator.set_state(state["generator"])
