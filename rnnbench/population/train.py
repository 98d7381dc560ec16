"""The music task of rnnbench/tasks/music.py for a population, on the engine's loop: every member keeps its own
batch order, optimiser state and step rates, gradient clipping, early stopping, best state,
metrics.csv and results.json, exactly as its single run would; the arithmetic of all members
runs in the same batched kernels.

A member stops (patience, max_epochs, time budget) or diverges (non-finite loss) on its own: it
is frozen at its best state and the others go on. The final evaluation of each member is the
single run's (rnnbench/tasks/music.py: evaluate_best), on its unstacked best state.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Optional

import torch

from rnnbench.data.batches import Split
from rnnbench.data.load import load_rolls
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.config import check_common, setting
from rnnbench.errors import ConfigError
from rnnbench.floors import note_frequency_nll
from rnnbench.engine.fit import fit
from rnnbench.engine.lock import RunLock
from rnnbench.engine.results import remove_leftovers
from rnnbench.engine.loop import n_params, results_header
from rnnbench.engine.task import Outcome, Task
from rnnbench.metrics import NLL, batch_loss, masked, per_sequence_totals, summary
from rnnbench.models import build_model
from rnnbench.models.fuse import fuse_cells
from rnnbench.optim import build_optimizer
from rnnbench.optim.adadelta_nesterov import AdadeltaNesterov
from rnnbench.optim.rmsprop_nesterov import RmspropNesterov
from rnnbench.population.stack import Population
from rnnbench.runtime import device_name, dtype_of, resolve_device, seed_everything
from rnnbench.tasks.music import METRIC_FIELDS, build_splits, check_run_config, epoch_row, evaluate_best, holds_state

log = logging.getLogger("rnnbench")

# optimiser -> (class, hyper-parameters that may differ between members)
STACKABLE = {
    "rmsprop-nesterov": (RmspropNesterov, ("lr", "momentum", "decay", "eps", "init_mean_square")),
    "adadelta-nesterov": (AdadeltaNesterov, ("lr", "momentum", "decay", "offset")),
}


def _per_member(values: list[float], p: torch.Tensor) -> torch.Tensor:
    """(P, 1, ..., 1): one value per member, broadcasting against the stacked parameter p."""
    return torch.tensor(values, dtype=p.dtype, device=p.device).view(-1, *([1] * (p.dim() - 1)))


def stacked_optimizer(members: list, pop: Population):
    """The members' optimiser (the same class for all) on the stacked parameters, each member
    with its own hyper-parameters; each member's config is first checked as a single run's."""
    name = members[0].optim.name
    if name not in STACKABLE:
        raise ConfigError(f"population training supports optim={' or '.join(STACKABLE)} (per-member step rates); "
                          f"got optim={name}")
    cls, keys = STACKABLE[name]
    for cfg in members:  # the single run's checks (a ConfigError names the bad value)
        build_optimizer(cfg.optim, [torch.nn.Parameter(torch.zeros(1))])
    params = pop.parameters()
    first = {k: members[0].optim[k] for k in keys}
    opt = cls([{"params": [p]} for p in params], **first)
    for group, p in zip(opt.param_groups, params):
        for k in keys:
            group[k] = _per_member([float(cfg.optim[k]) for cfg in members], p)
    return opt


@torch.no_grad()
def repack_optimizer(opt, mapping: dict, rows: list[int], size: int) -> None:
    """The stacked optimiser after Population.select: its parameters replaced, and every per-member tensor
    (state like the parameter, hyper-parameters of shape (P, 1, ...)) cut to the members at ``rows``."""
    index = torch.tensor(rows, device=next(iter(mapping.values())).device)

    def cut(v):
        return v[index].clone() if torch.is_tensor(v) and v.dim() and v.shape[0] == size else v

    for group in opt.param_groups:
        fresh = []
        for p in group["params"]:
            q = mapping[p]
            state = opt.state.pop(p, {})
            if state:
                opt.state[q] = {k: cut(v) for k, v in state.items()}
            fresh.append(q)
        group["params"] = fresh
        for k, v in list(group.items()):
            if k != "params":
                group[k] = cut(v)


def _clip_per_member(params: list[torch.Tensor], clips: torch.Tensor) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_ for each member; returns the (P,) total norms."""
    norms = [torch.linalg.vector_norm(p.grad, dim=tuple(range(1, p.dim()))) for p in params if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack(norms, dim=1), dim=1)  # (P,)
    coef = torch.clamp(clips / (total + 1e-6), max=1.0)
    for p in params:
        if p.grad is not None:
            p.grad.mul_(coef.view(-1, *([1] * (p.dim() - 1))))
    return total


def _train_epoch(pop: Population, opt, split: Split, members: list, dtype, generators, hold: bool, clips):
    """One pass over each member's shuffled rows; (P,) train NLL and mean grad norm."""
    pop.train(True)
    device = split.inputs.device
    P, B = pop.P, members[0].train.batch_size
    padded = setting(members[0].train, "loss", "masked") == "padded"  # the same in every member (_check)
    params = pop.parameters()
    total = torch.zeros(P, dtype=torch.float64, device=device)
    norms = torch.zeros(P, dtype=torch.float64, device=device)
    frames, batches = torch.zeros(P, dtype=torch.float64, device=device), 0
    perms = torch.stack([torch.randperm(len(split), generator=g) for g in generators]).to(device)  # (P, N)
    for start in range(0, len(split), B):
        index = perms[:, start : start + B]  # (P, b)
        inputs, targets, loss_mask, step_mask = (t.view(P, index.shape[1], *t.shape[1:])
                                                 for t in split.rows(index.flatten(), dtype, padded=padded))
        n = loss_mask.sum(dim=(1, 2))  # (P,)
        grad_norm = None

        def closure():
            nonlocal grad_norm
            opt.zero_grad(set_to_none=True)
            losses = pop.frame_losses(inputs, targets, step_mask if hold else None, loss_mask)  # (P, b, T)
            # every member's own mean NLL per frame, or per padded position (train.loss=padded), plus its
            # penalty: the sum over members separates the gradients
            (batch_loss(losses, loss_mask, padded) + _penalties(pop)).sum().backward()
            grad_norm = _clip_per_member(params, clips)
            return masked(losses, loss_mask).sum(dim=(1, 2)).detach()

        total += opt.step(closure).double()
        norms += grad_norm.detach().double()
        frames += n.double()
        batches += 1
    return (total / frames.clamp_min(1)).tolist(), (norms / max(batches, 1)).tolist()


def _penalties(pop: Population) -> torch.Tensor | float:
    """(P,) L1/L2 penalties (001 §7, rnnbench/regularisers/penalty.py) on each member's matrices."""
    spec = pop.template.noise
    if spec.penalty == "none":
        return 0.0
    mats = [p for p in pop.parameters() if p.dim() >= 3]  # stacked 2-D matrices
    f = torch.square if spec.penalty == "l2" else torch.abs
    return spec.penalty_weight * sum(f(w).sum(dim=tuple(range(1, w.dim()))) for w in mats)


@torch.no_grad()
def _evaluate(pop: Population, split: Split, batch_size: int, dtype, hold: bool) -> list[NLL]:
    """rnnbench.metrics.evaluate for every member at once (the same batches, deterministic)."""
    pop.train(False)
    seq_total, seq_frames = per_sequence_totals(pop.frame_losses, split, batch_size, dtype, hold)  # (P, n_seqs)
    return [summary(t, seq_frames) for t in seq_total]


def _check(members: list) -> None:
    first = members[0]
    if first.dataset.task != "music":
        raise ConfigError(f"population training runs the music task; dataset={first.dataset.name} is a "
                          f"{first.dataset.task} task")
    if first.model.name == "storn":
        raise ConfigError("population training supports model=srnn, lstm or gru, not storn")
    for cfg in members:
        check_common(cfg)
        check_run_config(cfg)
        if setting(cfg.train, "batches", "rows") != "rows":
            raise ConfigError("population training draws random rows (train.batches=rows): members stepping through "
                              "climin's blocks in their own orders would need batches of different sizes at one step")
    if len({setting(c.train, "loss", "masked") for c in members}) > 1:
        raise ConfigError("population members must share train.loss")


class PopulationTask(Task):
    """The music task for P members in batched kernels (the engine keeps each member's bookkeeping)."""

    fields = METRIC_FIELDS
    best_column = "best_valid_nll"
    watched_name = "valid NLL"

    def __init__(self, members: list, run_dirs: list[Path], study: Optional[Path] = None):
        _check(members)
        first = members[0]
        self.cfg, self.members, self.run_dirs = first, members, [Path(d) for d in run_dirs]
        self.study = study  # search=tpe: the optuna study whose pruner decides (rnnbench/population/tpe.py)
        self.device = device = resolve_device(first.device)
        self.dtype = dtype = dtype_of(first.train.precision)
        rolls = load_rolls(first.dataset, first.data)
        self.splits = build_splits(rolls, first.dataset, device, first.train)
        self.floor = note_frequency_nll(rolls["train"], rolls["valid"], first.dataset.predict_first)
        self.floor_name = "each note at its training frequency, on the validation set"
        self.models = []
        for cfg in members:  # each member is initialised exactly as its single run
            seed_everything(cfg.seed)
            self.models.append(build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser).to(device=device, dtype=dtype))
        if first.train.fuse:
            fuse_cells(self.models[0])  # the template whose cells run every member
        try:
            self.pop = Population(self.models)
        except ValueError as e:
            raise ConfigError(f"these runs cannot share a population: {e}") from None
        self.opt = stacked_optimizer(members, self.pop)
        self.clips = torch.tensor([math.inf if c.train.clip is None else c.train.clip for c in members], dtype=dtype,
                                  device=device)
        self.hold = holds_state(first.dataset)
        self.generators = [torch.Generator().manual_seed(cfg.seed) for cfg in members]
        # the members still in the stacked population (position -> member): members that stop are repacked out
        self.alive = list(range(len(members)))
        self.train_nll = self.grad_norm = [math.nan] * len(members)
        log.info("population of %d %s on %s: %d parameters each, %s", len(members), first.model.name,
                 first.dataset.name, n_params(self.models[0]),
                 device_name(device))

    def headers(self) -> list[dict]:
        headers = [results_header(cfg, m, self.device, model_label=cfg.model.name, selection="valid_nll", test="test_nll")
                   for cfg, m in zip(self.members, self.models)]
        for i, r in enumerate(headers):
            r["population"] = {"size": len(self.members), "member": i}
        return headers

    def begin_epoch(self, epoch: int) -> list[float]:
        return [float(cfg.optim.lr) for cfg in self.members]  # per-member rates, held in the stacked optimiser

    def train_epoch(self, epoch, active, resume, checkpoint) -> None:
        nll, norm = _train_epoch(self.pop, self.opt, self.splits["train"], self.members, self.dtype,
                                 [self.generators[i] for i in self.alive], self.hold, self.clips)
        self.train_nll, self.grad_norm = [math.nan] * len(self.members), [math.nan] * len(self.members)
        for j, i in enumerate(self.alive):
            self.train_nll[i], self.grad_norm[i] = nll[j], norm[j]

    def validate(self, epoch, active) -> list[Optional[Outcome]]:
        valid = _evaluate(self.pop, self.splits["valid"], self.cfg.train.eval_batch_size, self.dtype, self.hold)
        out: list[Optional[Outcome]] = [None] * len(self.members)
        for j, i in enumerate(self.alive):
            if not active[i]:
                continue
            w_rec = self.pop.params["core.w_rec"][j].detach() if self.models[i].core.recurrent_matrix() is not None else None
            out[i] = Outcome(valid[j].nll, (self.train_nll[i],), epoch_row(self.train_nll[i], self.grad_norm[i], valid[j], w_rec))
        return out

    def pruner(self):
        if self.study is None:
            return super().pruner()
        from rnnbench.population.tpe import StudyPruner

        return StudyPruner.of(self.study, self.cfg, self.run_dirs)

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
        """The single run's evaluation (rnnbench/tasks/music.py), on member i's unstacked best state."""
        return evaluate_best(self.models[i], best_state, self.splits, self.members[i], self.dtype, self.hold, results)

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


def train_population(members: list, run_dirs: list[Path], study: Optional[Path] = None) -> list[dict]:
    """Train ``members`` (configs of one structure) together; one results.json per run dir. The
    population's checkpoint is in the first member's folder. ``study``: the optuna study of a TPE search,
    whose pruner stops members (its trial k trains in ``members/<k>``)."""
    start = time.perf_counter()
    with RunLock(run_dirs[0], what="population group"):  # where the group's checkpoint is (a job of its own with dispatch=launcher)
        for d in run_dirs:
            remove_leftovers(d)
        task = PopulationTask(members, run_dirs, study)
        return fit(task, start, desc=f"population of {len(members)}")
