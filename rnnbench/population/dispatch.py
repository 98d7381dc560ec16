"""Where the populations of a search (or of ``population.size``) train, other than one after the other in
this process (``population.dispatch=here``):

- ``processes``: ``population.workers`` groups at a time, each in a worker process of this machine (spawned,
  so CUDA works in it) with its share of torch's threads; their log lines come back to this process's log,
  each prefixed with its group. A machine with many cores (or a GPU that small models leave idle) trains
  several groups at once; a search whose members differ in shape (002's hidden sizes: one group each) gains
  the most. A worker whose parent dies ends too, so a killed search leaves no process behind and the same
  command resumes it.
- ``launcher``: every group as a job of the run's Hydra submitit launcher (``hydra/launcher=slurm``,
  conf/hydra/launcher/slurm.yaml, or ``submitit_local``). The executor is built from ``hydra.launcher``
  exactly as hydra-submitit-launcher builds its own (its folder, max_num_timeout, and the queue's
  parameters), so every ``hydra.launcher.<key>=`` override applies to the populations too; the job logs
  go to ``<run dir>/.submitit/``.

Either way the process that runs the search waits for the groups and writes population.json; each group
trains with the engine (rnnbench/population/train.py) from its own seeds, so its numbers do not depend on
where or in which order it trains, and a killed or pre-empted group resumes from its checkpoint when the
search is run again.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from logging.handlers import QueueHandler
from pathlib import Path
from typing import Iterator, Optional

from omegaconf import OmegaConf

from rnnbench.errors import ConfigError

log = logging.getLogger("rnnbench")


@dataclass(frozen=True)
class Dispatch:
    """How a search's groups are sent away: ``kind`` processes or launcher, from ``run_dir`` (the search's
    folder), ``workers`` at a time (processes)."""

    kind: str
    run_dir: Path
    workers: int = 1


def dispatch_of(cfg, run_dir: Path) -> Optional[Dispatch]:
    """``population.dispatch`` of ``cfg`` (one of config.search.DISPATCH, checked by config.check_common):
    None for here (the groups train in this process)."""
    kind = cfg.population.dispatch
    return None if kind == "here" else Dispatch(kind, Path(run_dir), int(cfg.population.workers))


def executor(run_dir: Path):
    """A submitit executor with the settings of this run's hydra.launcher (a submitit launcher)."""
    try:
        import submitit
        from hydra.core.hydra_config import HydraConfig
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    except ImportError:
        raise ConfigError('population.dispatch=launcher needs hydra-submitit-launcher: pip install "rnnbench[slurm]"') from None
    if not HydraConfig.initialized():
        raise ConfigError("population.dispatch=launcher needs the rnnbench command (its hydra.launcher)")
    launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=False)
    target = str(launcher.get("_target_", ""))
    kind = {"SlurmLauncher": "slurm", "LocalLauncher": "local"}.get(target.rsplit(".", 1)[-1])
    if "submitit" not in target or kind is None:
        raise ConfigError("population.dispatch=launcher sends populations to a submitit launcher: add "
                          "hydra/launcher=slurm (or hydra/launcher=submitit_local)")
    params = {k: v for k, v in launcher.items() if k not in ("_target_", "submitit_folder", "max_num_timeout")}
    ex = submitit.AutoExecutor(cluster=kind, folder=str(run_dir / ".submitit" / "%j"),
                               **{f"{kind}_max_num_timeout": launcher.get("max_num_timeout", 0)})
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    ex.update_parameters(**{k if k in base else f"{kind}_{k}": v for k, v in params.items()
                            if not (isinstance(v, str) and "${" in v)})
    return ex


@contextlib.contextmanager
def submit_groups(groups: list[tuple[int, list, list[Path]]], dispatch: Dispatch,
                  study: Optional[Path] = None) -> Iterator[list]:
    """Send each (group number, members, run dirs) group away as ``dispatch`` says; yields one handle per group, in order,
    whose ``result()`` waits for the group's results (and re-raises its exception). ``study``: a TPE
    search's optuna study (SQLite on a shared file system), whose pruner the groups ask."""
    from rnnbench.population.train import train_population

    if dispatch.kind == "processes":
        with _worker_pool(dispatch.workers, len(groups)) as pool:
            yield [pool.submit(_train_group, k, members, dirs, study) for k, members, dirs in groups]
        return
    ex = executor(dispatch.run_dir)
    with ex.batch():
        jobs = [ex.submit(train_population, members, dirs, study) for _, members, dirs in groups]
    log.info("%d population(s) submitted to submitit: jobs %s", len(jobs), [j.job_id for j in jobs])
    yield jobs


@contextlib.contextmanager
def _worker_pool(workers: int, n_groups: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of n = min(workers, n_groups) spawned processes, each with torch.get_num_threads() // n threads
    (at least one), whose log records this process logs; the pool and the log relay end with the block (groups not
    yet started are cancelled; running ones are waited for)."""
    import multiprocessing

    import torch

    ctx = multiprocessing.get_context("spawn")  # never fork a process that holds torch's thread pools or CUDA
    n = min(workers, n_groups)
    threads = max(1, torch.get_num_threads() // n)
    queue = ctx.Queue()
    relay = threading.Thread(target=_relay, args=(queue,), daemon=True, name="worker-log-relay")
    relay.start()
    log.info("%d group(s) on %d worker process(es) of %d thread(s) each", n_groups, n, threads)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init,
                               initargs=(queue, threads, os.getpid()))
    interrupted = False
    try:
        yield pool
    except KeyboardInterrupt:  # Ctrl-C: a terminal interrupts the workers too; a `kill -INT` of this process alone is
        interrupted = True  # passed on (a worker acts on its first one: _interrupt)
        for process in list((pool._processes or {}).values()):
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGINT)
        raise
    finally:
        # a worker that was interrupted fails its queued groups at once, so this waits seconds, not for a group's end
        if interrupted:
            _end_workers(pool, GRACE_S)
        pool.shutdown(wait=True, cancel_futures=True)
        queue.cancel_join_thread()
        queue.put(None)
        relay.join(timeout=5.0)


WATCH_S = 0.05  # how often a worker looks whether its parent still runs
GRACE_S = 10.0  # after a Ctrl-C, how long a worker may take to stop its group before it is killed


def _end_workers(pool: ProcessPoolExecutor, grace_s: float) -> None:
    """After a Ctrl-C: let the workers end (each stops its group within a second) and kill any that has not after
    ``grace_s`` seconds, so that the search's Ctrl-C returns whatever a worker is stuck in (a group started in the
    instant the interruption came, a log record that cannot be flushed). A killed worker's group keeps its last
    checkpoint, as after kill -9: the same command resumes it."""
    from multiprocessing.connection import wait

    processes = list((pool._processes or {}).values())
    manager = pool._executor_manager_thread  # it sends the workers their end and reaps them
    pool.shutdown(wait=False, cancel_futures=True)
    running, deadline = {p.sentinel: p for p in processes}, time.monotonic() + grace_s
    while running and time.monotonic() < deadline:  # sentinels, not join(): the manager thread reaps the workers
        for ended in wait(list(running), max(0.0, deadline - time.monotonic())):
            running.pop(ended)
    for process in running.values():
        log.warning("a worker process (pid %d) did not stop within %.0f s of the interruption; killed (its group "
                    "resumes from its checkpoint)", process.pid, grace_s)
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGKILL)
    if manager is not None:
        manager.join(5.0)


def _relay(queue) -> None:
    """Hand the workers' records to this process's "rnnbench" logger (its handlers: the console, rnnbench.log)
    until None comes."""
    while (record := queue.get()) is not None:
        log.handle(record)


_GROUP: ContextVar[Optional[int]] = ContextVar("rnnbench_group", default=None)  # the group a worker trains now
# plain flags, set and read in the worker's main thread only (where signal handlers run): a threading.Event's lock
# deadlocked a second SIGINT handled inside the first one's Event.set()
_INTERRUPTED = False  # a worker got Ctrl-C: it trains nothing more
_IN_PUT = False  # the worker's main thread hands a log record to the parent's queue (_WorkerLogHandler)
_DEFERRED = False  # a Ctrl-C came during that put: raised when it is done


def _interrupt(signum, frame) -> None:
    """A worker's SIGINT (or SIGTERM): the group it trains stops with KeyboardInterrupt (its checkpoint stays, the same command
    resumes it), and every group it is handed afterwards fails at once; a second SIGINT (the terminal's and the one
    the parent passes on) changes nothing, nor does one between groups (the worker's own loop is never broken).
    One that comes while a log record is put on the queue is raised once the put is done (_WorkerLogHandler)."""
    global _INTERRUPTED, _DEFERRED
    first = not _INTERRUPTED
    _INTERRUPTED = True
    if first and _GROUP.get() is not None:
        if _IN_PUT:
            _DEFERRED = True
        else:
            raise KeyboardInterrupt


class _WorkerLogHandler(QueueHandler):
    """A worker's log handler: the records go to the parent's queue, and a Ctrl-C never interrupts a put. Raised
    inside multiprocessing's Queue.put (between threading.Condition.notify releasing the feeder thread's waiter
    and removing it, gh-92530), KeyboardInterrupt left a stale waiter that took the next wake-up: the feeder thread
    waited for ever, and the worker hung at exit joining it (the search's Ctrl-C then never returned; about one
    Ctrl-C in eight on two CPU cores)."""

    def emit(self, record: logging.LogRecord) -> None:
        global _IN_PUT, _DEFERRED
        if threading.current_thread() is not threading.main_thread():  # signal handlers run in the main thread only
            super().emit(record)
            return
        _IN_PUT = True
        try:
            super().emit(record)
        finally:
            _IN_PUT = False
            if _DEFERRED:
                _DEFERRED = False
                raise KeyboardInterrupt


class _GroupPrefix(logging.Filter):
    """Prefix a worker's log lines with the group it trains."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _GROUP.get() is not None:
            record.msg = f"group {_GROUP.get()}: {record.msg}"
        return True


def _worker_init(queue, threads: int, parent: int) -> None:
    """In a worker: torch's threads, the log to the parent (no progress bar: the lines carry the progress), and
    a watchdog that ends the worker when its parent is gone (killed: the same command resumes the group)."""
    import torch

    from rnnbench.engine import loop

    torch.set_num_threads(threads)
    loop.BARS = False
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)  # a whole process group stopped (`kill -- -PGID`, a scheduler): the same
    handler = _WorkerLogHandler(queue)
    handler.addFilter(_GroupPrefix())
    logger = logging.getLogger("rnnbench")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def watch() -> None:
        # every 50 ms: a poll once a second let a group of short epochs train on to its end, and write its results,
        # after its search was killed, so that the same command skipped the group instead of resuming it
        while os.getppid() == parent:
            time.sleep(WATCH_S)
        os._exit(1)  # the group's lock (flock) goes with the process; its checkpoint stays

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def _train_group(k: int, members: list, dirs: list[Path], study: Optional[Path]) -> list[dict]:
    """In a worker: train group ``k`` (train_population), its log lines prefixed with it."""
    from rnnbench.population.train import train_population

    token = _GROUP.set(k)
    try:
        if _INTERRUPTED:  # a Ctrl-C before the group was set (its handler saw no group to stop), or an earlier one
            raise KeyboardInterrupt(f"group {k} not started: the search was interrupted")
        return train_population(members, dirs, study)
    finally:
        _GROUP.reset(token)
