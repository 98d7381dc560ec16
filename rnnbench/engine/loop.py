"""The rules of the engine's loop (rnnbench/engine/fit.py): the epochs with their progress bar, the
results header, the divergence rule and the stopping rule."""
from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from typing import Optional

import torch
from omegaconf import OmegaConf
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

import rnnbench
from rnnbench.engine.results import BUDGET
from rnnbench.runtime import device_name, environment, git_commit

log = logging.getLogger("rnnbench")
BARS = True  # False in a worker process of population.dispatch=processes (rnnbench/population/dispatch.py)


def shows_bars(cfg) -> bool:
    """Whether progress shows as tqdm bars: stderr a terminal, train.progress on, not a worker process (BARS)."""
    return BARS and cfg.train.progress and sys.stderr.isatty()


def progress(cfg, first: int, last: int, desc: str):
    """Yield (epoch, bar) for epochs first..last. The tqdm bar is quiet when stderr is not a terminal,
    with train.progress=false, or in a worker process (BARS); log lines then carry the progress (and are routed around the bar
    when it shows)."""
    show = shows_bars(cfg)
    bar = tqdm(desc=desc, unit="epoch", disable=not show, file=sys.stderr, dynamic_ncols=True,
               initial=first - 1, total=last)
    # the root logger's console handler is the one to route around the bar: records of "rnnbench" reach it by
    # propagation, so a handler of their own would print each line twice (issue 23)
    with bar, logging_redirect_tqdm(loggers=[logging.getLogger()]) if show else contextlib.nullcontext():
        for epoch in range(first, last + 1):
            try:
                yield epoch, bar
            finally:  # the epoch is done, also the one after which the loop stops (the bar ends at it)
                bar.update(1)


@contextlib.contextmanager
def work_progress(show: bool, desc: str, total: int, unit: str, every_s: float = 60.0):
    """A long piece of work outside the epochs (STORN's final importance sampling: 19 minutes on one thread for
    Nottingham at K = 1000): yields ``update(n)``, to be called as n more units of ``total`` are done. A tqdm bar
    with ``show`` (shows_bars, for a run); else a log line at most every ``every_s`` seconds (what a log file or a
    cluster job shows)."""
    start = last = time.monotonic()
    done = 0
    bar = tqdm(desc=desc, unit=unit, total=total, disable=not show, file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(n: int) -> None:
        nonlocal done, last
        done += n
        bar.update(n)
        now = time.monotonic()
        if not show and done < total and now - last >= every_s:
            last = now
            log.info("%s: %s of %s %s (%.0f%%) in %.1f min", desc, f"{done:,}", f"{total:,}", unit,
                     100 * done / total, (now - start) / 60)

    with bar, logging_redirect_tqdm(loggers=[logging.getLogger()]) if show else contextlib.nullcontext():
        yield update


def n_params(model) -> int:
    """The trained parameters of ``model`` (results.json: n_params)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def results_header(cfg, model, device, *, model_label: str, selection: str, test: str) -> dict:
    """The fields every results.json starts with; ``selection`` and ``test`` name the metrics
    rnnbench-report selects by and reports."""
    return {
        "dataset": cfg.dataset.name, "model": model_label, "regulariser": cfg.regulariser.name,
        "optim": cfg.optim.name, "seed": cfg.seed, "status": "running",
        "selection_metric": selection, "test_metric": test,
        "n_params": n_params(model),
        "device": device_name(device), "torch_version": torch.__version__, "rnnbench_version": rnnbench.__version__,
        "commit": git_commit(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "environment": environment(device),
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
    }


class Divergence:
    """The divergence rule shared by every loop (README, "Divergence"): a run has diverged when its
    metric (lower is better) is not finite, or when it has been above both the task's trivial floor
    (rnnbench/floors.py) and ``train.diverge_factor`` times its best so far for
    ``train.diverge_epochs`` epochs in a row. The second clause catches a run that blows up while
    staying finite (piano-midi at too large a step, PTB perplexity 4,000 -> 46,000) but not one on a
    plateau (STORN's first epochs) nor one that overfits below the floor, which early stopping ends.
    ``train.diverge_factor=null`` keeps only the non-finite clause."""

    def __init__(self, cfg, floor: float, name: str):
        self.factor, self.epochs = cfg.train.diverge_factor, cfg.train.diverge_epochs
        self.floor, self.name = floor, name
        self.best, self.bad = math.inf, 0

    def __call__(self, epoch: int, *values: float) -> Optional[str]:
        """The reason the run has diverged after ``epoch`` (values: the checked metric first, then
        any that must merely stay finite), or None."""
        if not all(math.isfinite(v) for v in values):
            return f"non-finite loss in epoch {epoch}"
        value = values[0]
        self.best = min(self.best, value)
        blown = self.factor is not None and value > self.floor and value > self.factor * self.best
        self.bad = self.bad + 1 if blown else 0
        if self.bad >= self.epochs:
            return (f"{self.name} {value:.4g} in epoch {epoch}: above the trivial floor {self.floor:.4g} and "
                    f"{self.factor}x the best {self.best:.4g} for {self.epochs} epochs")
        return None

    def state_dict(self) -> dict:
        return {"best": self.best, "bad": self.bad}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad = state["best"], state["bad"]


def stop_reason(cfg, epoch: int, best_epoch: int, start: float) -> Optional[str]:
    """Why training stops after ``epoch`` (early stopping with patience, or the time budget), or None."""
    if epoch - best_epoch >= cfg.train.patience:
        return f"no improvement for {cfg.train.patience} epochs"
    if cfg.train.max_seconds is not None and time.perf_counter() - start > cfg.train.max_seconds:
        return f"{BUDGET} of {cfg.train.max_seconds}s reached"
    return None
