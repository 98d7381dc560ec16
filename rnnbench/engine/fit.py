"""The one training loop of rnnbench: ``fit(task, start) -> [results]``, for every task and for a
population of members (rnnbench/engine/task.py says what a task supplies).

Per epoch: the task sets the step rate, trains one pass and measures each member (000 §3.1: the
validation NLL after every epoch); the engine keeps each member's best state, logs its row of
metrics.csv, applies the divergence rule and the stopping rule (patience, max_epochs, time
budget: rnnbench/engine/loop.py), and writes a checkpoint (rnnbench/engine/checkpoint.py). A
member that stops is frozen at its best state while the others go on. At the end each member's
best state is evaluated by the task on every split and results.json is written atomically.

A run folder that holds a checkpoint resumes from it: the same command after ``kill -9`` ends
with the numbers of an uninterrupted run. A single run stopped by its time budget keeps its checkpoint, and
the same command with a larger ``train.max_seconds`` (or none) trains on from it: the numbers of one run
under the larger budget.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from rnnbench.engine import checkpoint as ckpt
from rnnbench.engine.loop import Divergence, progress, stop_reason
from rnnbench.engine.results import (ANOTHER_FOLDER, BUDGET, FLOOR_STATUS, PRUNED, save_state_atomic, set_aside,
                                    write_json_atomic)
from rnnbench.engine.trackers import metrics_log
from rnnbench.engine.task import Task
from rnnbench.errors import ConfigError
from rnnbench.runtime import keep_host_memory

log = logging.getLogger("rnnbench")


@dataclass
class Member:
    """The engine's bookkeeping of one member."""

    cfg: object
    divergence: Divergence
    best: float = math.inf
    best_epoch: int = 0
    best_state: Optional[dict] = None
    status: str = "ok"
    reason: str = "max_epochs"
    epochs: int = 0
    active: bool = True
    rows: list = field(default_factory=list)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "best_state": self.best_state, "status": self.status,
                "reason": self.reason, "epochs": self.epochs, "active": self.active, "rows": self.rows,
                "divergence": self.divergence.state_dict()}

    def load_state_dict(self, s: dict) -> None:
        self.best, self.best_epoch, self.best_state = s["best"], s["best_epoch"], s["best_state"]
        self.status, self.reason, self.epochs, self.active = s["status"], s["reason"], s["epochs"], s["active"]
        self.rows = list(s["rows"])
        self.divergence.load_state_dict(s["divergence"])


class Checkpointer:
    """Writes the run's checkpoint at every epoch's end and, every train.checkpoint_every_s seconds,
    when a task offers one inside an epoch."""

    def __init__(self, task: Task, members: list[Member], path: Path, start: float, loop_start: float):
        train = task.members[0].train
        self.task, self.members, self.path, self.start, self.loop_start = task, members, path, start, loop_start
        self.enabled, self.every = train.checkpoint, train.checkpoint_every_s
        self.configs = [ckpt.config_text(c) for c in task.members]  # they do not change while training
        self.last = time.perf_counter()
        self.seconds = 0.0  # spent writing checkpoints (results.json: checkpoint_s)

    def save(self, epoch: int, partial: Optional[dict] = None) -> None:
        if not self.enabled:
            return
        t0 = time.perf_counter()
        ckpt.save(self.path, {
            "epoch": epoch, "partial": partial, "elapsed": time.perf_counter() - self.start,
            "trained": time.perf_counter() - self.loop_start,
            "configs": self.configs, "task": self.task.state_dict(),
            "members": [m.state_dict() for m in self.members], "rng": ckpt.rng_state(),
        })
        self.last = time.perf_counter()
        self.seconds += self.last - t0

    def mid_epoch(self, epoch: int):
        """The ``checkpoint`` callback a task's train_epoch may call after each step."""

        def offer(partial) -> None:
            if self.enabled and self.every is not None and time.perf_counter() - self.last >= self.every:
                self.save(epoch - 1, partial())

        return offer


def _resume(task: Task, members: list[Member], path: Path) -> tuple[int, Optional[dict], float, float, Optional[dict]]:
    """(first epoch to train, its partial state or None, seconds since the run began, seconds of
    training, the checkpoint resumed or None) from the checkpoint at ``path``, or a fresh start
    when there is none."""
    state = ckpt.load(path, task.members)
    if state is None:
        return 1, None, 0.0, 0.0, None
    try:  # a tensor of another shape, a key of another version: one line naming the file (issue 32)
        task.load_state_dict(state["task"])
        for m, s in zip(members, state["members"]):
            m.load_state_dict(s)
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError) as e:
        why = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{path} does not fit the model and optimiser built from this configuration ({why}); the "
                          f"run cannot resume from it. Delete it to start the run over, or {ANOTHER_FOLDER}") from None
    ckpt.set_rng_state(state["rng"])
    partial = state["partial"]
    where = f"inside epoch {state['epoch'] + 1}" if partial else f"after epoch {state['epoch']}"
    log.warning("resuming from %s (%s)", path, where)
    return state["epoch"] + 1, partial, state["elapsed"], state["trained"], state


def _measured(row: dict) -> dict:
    """The metrics of a row (what the log line and the progress bar show)."""
    return {k: v for k, v in row.items() if k not in ("epoch", "lr", "epoch_s") and isinstance(v, float)}


def _log_epoch(epoch: int, members: list[Member], rows: dict[int, dict]) -> None:
    if len(members) == 1 and 0 in rows:
        shown = "  ".join(f"{k} {v:.4f}" for k, v in _measured(rows[0]).items())
        log.info("epoch %d  %s  (best epoch %d)  %.2fs", epoch, shown, members[0].best_epoch, rows[0]["epoch_s"])
    else:
        log.info("epoch %d: %d of %d members training; best %.4f", epoch, sum(m.active for m in members),
                 len(members), min(m.best for m in members))


def _continue(members: list[Member], run_dir: Path, state: dict) -> Optional[float]:
    """A single run resumed from the checkpoint its time budget left (checkpoint.continues) trains on, as an
    uninterrupted run under this larger budget would have: its member is active again and its results.json and
    best.pt are set aside (results.budget-<budget>s.json). The budget it had stopped at, or None."""
    [m] = members
    if not ckpt.continues(m.state_dict(), state["elapsed"], m.cfg.train.max_seconds):
        return None
    before = json.loads(state["configs"][0])["train"]["max_seconds"]
    moved = set_aside(run_dir, before)
    m.active, m.reason = True, Member.reason  # as the member was before the budget stopped it
    log.warning("continuing the run stopped by its time budget of %gs after epoch %d (%s: %s)", before, m.epochs,
                "train.max_seconds now " + (f"{m.cfg.train.max_seconds:g}s" if m.cfg.train.max_seconds else "none"),
                ", ".join(p.name for p in moved) or "no results.json or best.pt to set aside")
    return before


def fit(task: Task, start: float, desc: str, continuable: bool = False) -> list[dict]:
    """Train ``task``'s members to their ends; one results.json per member (returned in order).
    ``start``: when the run began (the time budget counts from it). ``continuable`` (a single run of the
    command): a stop by the time budget keeps the checkpoint, and a larger budget continues the run."""
    keep_host_memory()  # freed host blocks stay for the next step (rnnbench/runtime.py)
    members = [Member(cfg, Divergence(cfg, task.floor, task.watched_name)) for cfg in task.members]
    path = Path(task.run_dirs[0]) / "checkpoint.pt"
    first, partial, spent, trained, state = _resume(task, members, path)
    resumed, continuable = state is not None, continuable and len(members) == 1
    before = _continue(members, Path(task.run_dirs[0]), state) if resumed and continuable else None
    del state  # its tensors are in the task and the members now
    start = time.perf_counter() - spent if resumed else start
    results = task.headers()
    if resumed:  # also a run killed inside its first epoch (a mid-epoch checkpoint of epoch 1)
        for r in results:
            r["resumed"] = {"from": path.name, "after_epoch": first - 1 if partial is None else None,
                            "inside_epoch": first if partial is not None else None}
            if before is not None:
                r["resumed"]["budget_before"] = before
    for d in task.run_dirs:
        Path(d).mkdir(parents=True, exist_ok=True)
    logs = [metrics_log(m.cfg, Path(d) / "metrics.csv", task.fields, m.rows, r["test_metric"])
            for m, d, r in zip(members, task.run_dirs, results)]
    loop_start = time.perf_counter() - trained
    saver = Checkpointer(task, members, path, start, loop_start)
    pruner = task.pruner()  # search.pruner (rnnbench/engine/prune.py; search=tpe: optuna's)
    last = max(c.train.max_epochs for c in task.members)
    for epoch, bar in progress(task.members[0], first, last, desc) if any(m.active for m in members) else ():
        t0 = time.perf_counter()
        lrs = task.begin_epoch(epoch)
        task.train_epoch(epoch, [m.active for m in members], partial, saver.mid_epoch(epoch))
        partial = None
        outcomes = task.validate(epoch, [m.active for m in members])
        stopped, rows = [], {}
        for i, (m, out) in enumerate(zip(members, outcomes)):
            if not m.active:
                continue
            m.epochs = epoch
            if task.select_last or out.watched < m.best:
                m.best, m.best_epoch, m.best_state = out.watched, epoch, task.member_state(i)
            row = {"epoch": epoch, "lr": lrs[i], **out.row}
            if task.best_column:
                row[task.best_column] = m.best
            row["epoch_s"] = round(time.perf_counter() - t0, 4)
            m.rows.append(row)
            logs[i].append(row)
            rows[i] = row
            reason = m.divergence(epoch, out.watched, *out.finite)
            if reason:
                m.status, m.reason = "diverged", reason
                log.warning("%sepoch %d: diverged (%s); stopped (the best state so far is kept)",
                            f"member {i}, " if len(members) > 1 else "", epoch, reason)
                stopped.append(i)
                continue
            why = stop_reason(m.cfg, epoch, m.best_epoch, start)
            if why is None and epoch >= m.cfg.train.max_epochs:
                why = "max_epochs"
            if why:
                m.reason = why
                stopped.append(i)
        if pruner is not None:
            for i in pruner(epoch, [(i, m.best) for i, m in enumerate(members) if m.active and i not in stopped]):
                members[i].status, members[i].reason = PRUNED, pruner.reason(epoch, i)
                stopped.append(i)
            if any(members[i].status == PRUNED for i in stopped):
                log.info("epoch %d: pruned members %s", epoch, sorted(i for i in stopped if members[i].status == PRUNED))
        for i in stopped:
            members[i].active = False
        if stopped:
            task.stop_members(stopped, [members[i].best_state for i in stopped], [m.active for m in members])
        _log_epoch(epoch, members, rows)
        if len(members) == 1 and 0 in rows:
            bar.set_postfix({k: f"{v:.3f}" for k, v in _measured(rows[0]).items()})
        saver.save(epoch)
        if not any(m.active for m in members):
            break
    train_s = time.perf_counter() - loop_start

    out = []
    floor, floor_name = ((task.floor, task.floor_name) if task.status_floor is None
                         else (task.status_floor, task.status_floor_name))
    for i, (m, r, d) in enumerate(zip(members, results, task.run_dirs)):
        if m.status == "ok" and not m.best < floor:  # learnt nothing a trivial model does not know
            why = (f"best {task.watched_name} {m.best:.4g} is no better than the task's trivial floor {floor:.4g} "
                   f"({floor_name})")
            m.status, m.reason = FLOOR_STATUS, f"{m.reason}; {why}"
            log.warning("%s%s", f"member {i}: " if len(members) > 1 else "", why)
        r.update(status=m.status, stop_reason=m.reason, epochs=m.epochs, best_epoch=m.best_epoch, train_s=train_s,
                 seconds_per_epoch=train_s / max(m.epochs, 1), checkpoint_s=saver.seconds, **task.summary(i))
        state = task.finish(i, m.best_state, m.best, r)
        if state is not None and m.cfg.train.save_model:
            save_state_atomic(Path(d) / "best.pt", state)
        r["wall_s"] = time.perf_counter() - start
        write_json_atomic(Path(d) / "results.json", r)
        logs[i].finish(r)  # a tracker logs the end metrics (rnnbench/engine/trackers.py)
        log.info("%s: %s %s (best epoch %d of %d; %s); results in %s", r["status"], r["test_metric"],
                 r.get(r["test_metric"]), m.best_epoch, m.epochs, m.reason, d)
        out.append(r)
    if not (continuable and members[0].reason.startswith(BUDGET)):
        path.unlink(missing_ok=True)  # the run is finished: results.json and best.pt are what remain
    return out
