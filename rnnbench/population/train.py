"""The music training loop of rnnbench/train.py for a population: every member keeps its own
batch order, optimiser state and step rates, gradient clipping, early stopping, best state,
metrics.csv and results.json, exactly as its single run would; the arithmetic of all members
runs in the same batched kernels.

A member stops (patience, max_epochs, time budget) or diverges (non-finite loss) on its own: it
is frozen at its best state and the others go on. The final evaluation of each member is the
single run's (rnnbench/train.py: finish_run), on its unstacked best state.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch

from rnnbench.data.batches import Split
from rnnbench.data.load import load_rolls
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.errors import ConfigError
from rnnbench.floors import note_frequency_nll
from rnnbench.loop import Divergence, results_header, stop_reason
from rnnbench.metrics import NLL, masked, per_sequence_totals, summary
from rnnbench.models import build_model
from rnnbench.models.fuse import fuse_cells
from rnnbench.optim import build_optimizer
from rnnbench.optim.adadelta_nesterov import AdadeltaNesterov
from rnnbench.optim.rmsprop_nesterov import RmspropNesterov
from rnnbench.population.stack import Population
from rnnbench.results import metrics_log
from rnnbench.runtime import dtype_of, resolve_device, seed_everything
from rnnbench.train import METRIC_FIELDS, build_splits, check_run_config, epoch_row, finish_run, holds_state

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
    params = pop.parameters()
    total = torch.zeros(P, dtype=torch.float64, device=device)
    norms = torch.zeros(P, dtype=torch.float64, device=device)
    frames, batches = torch.zeros(P, dtype=torch.float64, device=device), 0
    perms = torch.stack([torch.randperm(len(split), generator=g) for g in generators]).to(device)  # (P, N)
    for start in range(0, len(split), B):
        index = perms[:, start : start + B]  # (P, b)
        inputs, targets, loss_mask, step_mask = (t.view(P, index.shape[1], *t.shape[1:]) for t in split.rows(index.flatten(), dtype))
        n = loss_mask.sum(dim=(1, 2))  # (P,)
        grad_norm = None

        def closure():
            nonlocal grad_norm
            opt.zero_grad(set_to_none=True)
            losses = pop.frame_losses(inputs, targets, step_mask if hold else None, loss_mask)  # (P, b, T)
            loss_sum = masked(losses, loss_mask).sum(dim=(1, 2))
            # every member's own mean NLL per frame (+ penalty): the sum separates the gradients
            (loss_sum / n + _penalties(pop)).sum().backward()
            grad_norm = _clip_per_member(params, clips)
            return loss_sum.detach()

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
    if first.dataset.name in ("ptb", "sentiment"):
        raise ConfigError(f"population training runs the music loop; dataset={first.dataset.name} is not supported")
    if first.model.name == "storn":
        raise ConfigError("population training supports model=srnn, lstm or gru, not storn")
    for cfg in members:
        check_run_config(cfg)


def train_population(members: list, run_dirs: list[Path]) -> list[dict]:
    """Train ``members`` (configs of one structure) together; one results.json per run dir."""
    start = time.perf_counter()
    _check(members)
    first = members[0]
    device = resolve_device(first.device)
    dtype = dtype_of(first.train.precision)
    rolls = load_rolls(first.dataset, first.data)
    splits = build_splits(rolls, first.dataset, device)
    floor = note_frequency_nll(rolls["train"], rolls["valid"], first.dataset.predict_first)
    models = []
    for cfg in members:  # each member is initialised exactly as its single run
        seed_everything(cfg.seed)
        models.append(build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser).to(device=device, dtype=dtype))
    if first.train.fuse:
        fuse_cells(models[0])  # the template whose cells run every member
    try:
        pop = Population(models)
    except ValueError as e:
        raise ConfigError(f"these runs cannot share a population: {e}") from None
    opt = stacked_optimizer(members, pop)
    clips = torch.tensor([math.inf if c.train.clip is None else c.train.clip for c in members], dtype=dtype, device=device)
    hold = holds_state(first.dataset)
    generators = [torch.Generator().manual_seed(cfg.seed) for cfg in members]
    P = len(members)
    results = [results_header(cfg, m, device, model_label=cfg.model.name, selection="valid_nll", test="test_nll")
               for cfg, m in zip(members, models)]
    for i, r in enumerate(results):
        r["population"] = {"size": P, "member": i}
    for d in run_dirs:
        Path(d).mkdir(parents=True, exist_ok=True)
    logs = [metrics_log(c, Path(d) / "metrics.csv", METRIC_FIELDS) for c, d in zip(members, run_dirs)]
    log.info("population of %d %s on %s: %d parameters each, %s", P, first.model.name, first.dataset.name,
             results[0]["n_params"], results[0]["device"])

    best_valid, best_epoch = [math.inf] * P, [0] * P
    best_state: list = [None] * P
    status, reason, last_epoch = ["ok"] * P, ["max_epochs"] * P, [0] * P
    active = [True] * P
    diverged = [Divergence(cfg, floor, "valid NLL") for cfg in members]  # rnnbench/loop.py, per member
    frozen: dict[str, torch.Tensor] | None = None
    loop_start = time.perf_counter()
    for epoch in range(1, max(c.train.max_epochs for c in members) + 1):
        t_epoch = time.perf_counter()
        train_nll, grad_norm = _train_epoch(pop, opt, splits["train"], members, dtype, generators, hold, clips)
        if frozen is not None:  # stopped members keep their state
            _restore(pop, frozen, active)
        valid = _evaluate(pop, splits["valid"], first.train.eval_batch_size, dtype, hold)
        newly_stopped = []
        for i, cfg in enumerate(members):
            if not active[i]:
                continue
            last_epoch[i] = epoch
            if valid[i].nll < best_valid[i]:
                best_valid[i], best_epoch[i] = valid[i].nll, epoch
                best_state[i] = pop.member_state(i)
            w_rec = pop.params["core.w_rec"][i].detach() if models[i].core.recurrent_matrix() is not None else None
            logs[i].append(epoch_row(epoch, float(cfg.optim.lr), train_nll[i], grad_norm[i], valid[i], best_valid[i],
                                     w_rec, time.perf_counter() - t_epoch))
            blown = diverged[i](epoch, valid[i].nll, train_nll[i])
            if blown:
                status[i], reason[i] = "diverged", blown
                log.warning("member %d, epoch %d: diverged (%s); frozen (its best model is kept)", i, epoch, blown)
                newly_stopped.append(i)
                continue
            why = stop_reason(cfg, epoch, best_epoch[i], start)
            if why is None and epoch >= cfg.train.max_epochs:
                why = "max_epochs"
            if why:
                reason[i] = why
                newly_stopped.append(i)
        for i in newly_stopped:
            active[i] = False
            frozen = frozen if frozen is not None else {k: v.detach().clone() for k, v in pop.params.items()}
            state = best_state[i] if best_state[i] is not None else pop.member_state(i)
            for k in frozen:  # a diverged member goes back to its best (finite) state
                frozen[k][i] = state[k]
        n_active = sum(active)
        log.info("epoch %d: %d of %d members training; best valid NLL %.4f; %.2fs", epoch, n_active, P,
                 min(best_valid), time.perf_counter() - t_epoch)
        if not n_active:
            break
        if frozen is not None:
            _restore(pop, frozen, active)
    train_s = time.perf_counter() - loop_start

    out = []
    for i, (cfg, model) in enumerate(zip(members, models)):
        results[i].update(status=status[i], stop_reason=reason[i], epochs=last_epoch[i], best_epoch=best_epoch[i],
                          train_s=train_s, seconds_per_epoch=train_s / max(last_epoch[i], 1))
        out.append(finish_run(model, best_state[i], splits, cfg, dtype, hold, results[i], Path(run_dirs[i]), start))
    return out


@torch.no_grad()
def _restore(pop: Population, frozen: dict, active: list) -> None:
    keep = torch.tensor(active, device=next(iter(frozen.values())).device)
    for k, p in pop.params.items():
        p.copy_(torch.where(keep.view(-1, *([1] * (p.dim() - 1))), p, frozen[k]))
