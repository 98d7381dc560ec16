"""The music task in its P-member mode (rnnbench/tasks/music.py): P runs of one structure trained together,
their parameters stacked (rnnbench/models/stack.py) and the arithmetic of all members in the same batched
kernels. The training pass, the clipping (train.clip, one per member), the penalty and the evaluation are the
music task's own; what differs is where members are stacked: each member keeps its own batch order,
optimiser state and step rates (rnnbench/optim/stacked.py), and the engine keeps its early stopping, best
state, metrics.csv and results.json exactly as its single run would.

A member stops (patience, max_epochs, time budget, a pruner) or diverges on its own: it leaves the stack
(the survivors are repacked) and the others go on. Its final evaluation is the single run's
(music.evaluate_best), on its unstacked best state.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Optional

import torch

from rnnbench.config import check_common, setting
from rnnbench.config.batching import unbatched
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.engine.loop import n_params, results_header
from rnnbench.engine.task import Outcome
from rnnbench.errors import ConfigError
from rnnbench.metrics import evaluate
from rnnbench.models import build_model
from rnnbench.models.stack import Population
from rnnbench.optim.stacked import repack_optimizer, stacked_optimizer
from rnnbench.runtime import device_name, seed_everything
from rnnbench.tasks.music import MusicTask, check_run_config, epoch_row, evaluate_best, train_epoch

log = logging.getLogger("rnnbench")


def check_members(members: list) -> None:
    """What P runs must share to train as one population (each is first checked as a single run)."""
    for cfg in members:
        why = unbatched(cfg)
        if why:
            raise ConfigError(why)
        check_common(cfg)
        check_run_config(cfg)
    if len({setting(c.train, "loss", "masked") for c in members}) > 1:
        raise ConfigError("population members must share train.loss")


class PopulationTask(MusicTask):
    """The music task for P members in batched kernels (the engine keeps each member's bookkeeping)."""

    watched_name = "valid NLL"
    storn = False

    def __init__(self, members: list, run_dirs: list[Path], pruner=None):
        check_members(members)
        first = members[0]
        self.cfg, self.members, self.run_dirs = first, members, [Path(d) for d in run_dirs]
        self.study_pruner = pruner  # search=tpe: the optuna study's (rnnbench/population/tpe.py)
        self._load(first)
        device, dtype = self.device, self.dtype
        self.models = []
        for i, cfg in enumerate(members):  # each member is initialised exactly as its single run
            seed_everything(cfg.seed)
            fuse = first.train.fuse and i == 0  # the template whose cells run every member
            self.models.append(build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser, fuse).to(device=device, dtype=dtype))
        try:
            self.pop = Population(self.models)
        except ValueError as e:
            raise ConfigError(f"these runs cannot share a population: {e}") from None
        self.opt = stacked_optimizer(members, self.pop)
        # train.clip, one per member (rnnbench/optim/clip.py: the stacked norms)
        self.clips = torch.tensor([math.inf if c.train.clip is None else c.train.clip for c in members], dtype=dtype,
                                  device=device)
        self.generators = [torch.Generator().manual_seed(cfg.seed) for cfg in members]
        # the members still in the stacked population (position -> member): members that stop are repacked out
        self.alive = list(range(len(members)))
        self.train_nll = self.grad_norm = [math.nan] * len(members)
        log.info("population of %d %s on %s: %d parameters each, %s", len(members), first.model.name,
                 first.dataset.name, n_params(self.models[0]), device_name(device))

    def headers(self) -> list[dict]:
        headers = [results_header(cfg, m, self.device, model_label=cfg.model.name, selection="valid_nll", test="test_nll")
                   for cfg, m in zip(self.members, self.models)]
        for i, r in enumerate(headers):
            r["population"] = {"size": len(self.members), "member": i}
        return headers

    def begin_epoch(self, epoch: int) -> list[float]:
        return [float(cfg.optim.lr) for cfg in self.members]  # per-member rates, held in the stacked optimiser

    def train_epoch(self, epoch, active, resume, checkpoint) -> None:
        split = self.splits["train"]
        # each member's own permutation of the rows, cut into batches: (P, b) each
        perms = torch.stack([torch.randperm(len(split), generator=self.generators[i]) for i in self.alive])
        batches = list(perms.to(split.inputs.device).split(self.cfg.train.batch_size, dim=1))
        nll, norm = train_epoch(self.pop, self.opt, split, batches, self.cfg, self.dtype, self.hold, self.clips, lead=1)
        self.train_nll, self.grad_norm = [math.nan] * len(self.members), [math.nan] * len(self.members)
        for j, i in enumerate(self.alive):
            self.train_nll[i], self.grad_norm[i] = float(nll[j]), float(norm[j])

    def validate(self, epoch, active) -> list[Optional[Outcome]]:
        valid = evaluate(self.pop, self.splits["valid"], self.cfg.train.eval_batch_size, self.dtype, self.hold)
        out: list[Optional[Outcome]] = [None] * len(self.members)
        for j, i in enumerate(self.alive):
            if not active[i]:
                continue
            w_rec = self.pop.params["core.w_rec"][j].detach() if self.models[i].core.recurrent_matrix() is not None else None
            out[i] = Outcome(valid[j].nll, (self.train_nll[i],), epoch_row(self.train_nll[i], self.grad_norm[i], valid[j], w_rec))
        return out

    def pruner(self):
        return super().pruner() if self.study_pruner is None else self.study_pruner

    def member_state(self, i: int) -> dict:
        return self.pop.member_state(self.alive.index(i))

    def stop_members(self, stopped: list[int], states: list[Optional[dict]], active: list[bool]) -> None:
        """Members that stop (early stopping, divergence, pruning) leave the stacked population: the survivors
        are repacked, so the next epoch costs what they cost (their best states are the engine's)."""
        self._keep([i for i in self.alive if active[i]])

    def _keep(self, members: list[int]) -> None:
        if not members or members == self.alive:
            return
        rows = [self.alive.index(i) for i in members]
        size = self.pop.P
        repack_optimizer(self.opt, self.pop.select(rows), rows, size)
        self.clips = self.clips[torch.tensor(rows, device=self.clips.device)]
        self.alive = list(members)

    def finish(self, i: int, best_state: Optional[dict], best: float, results: dict) -> Optional[dict]:
        """The single run's evaluation, on member i's unstacked best state."""
        return evaluate_best(self.models[i], best_state, self.splits, self.members[i], self.dtype, self.hold, results,
                             self.test_floor)

    def state_dict(self) -> dict:
        return {"params": {k: v.detach() for k, v in self.pop.params.items()}, "optim": self.opt.state_dict(),
                "generators": [g.get_state() for g in self.generators], "alive": list(self.alive)}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        # the members still in the population when it was saved (a checkpoint written before repacking existed
        # holds all: its stopped members are repacked out at the next stop)
        self._keep(list(state.get("alive", range(len(self.members)))))
        for k, p in self.pop.params.items():
            p.copy_(state["params"][k])
        self.opt.load_state_dict(state["optim"])
        for g, s in zip(self.generators, state["generators"]):
            g.set_state(s)
