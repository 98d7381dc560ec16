"""A run folder made ready for training and recorded, the one rule of the command and of rnnbench.api
(issue 33 item 6): under the folder's lock, an odd file or a symbolic link where a run writes, a folder that
holds a finished run and a checkpoint of another configuration are refused with one message (the command
prints it as its one line, the API raises it); what a killed process left is tidied; Hydra's record and the
log are written once the checks passed and put back byte for byte when loading refuses the run; a failure
to write (a full disk, a size limit, a read-only file) is one line, the checkpoint kept.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from rnnbench.engine.results import (ANOTHER_FOLDER, FINISHED, budget_stopped, read_results, remove_leftovers,
                                    write_failure)
from rnnbench.errors import ConfigError, RnnbenchError, SearchIncomplete

log = logging.getLogger("rnnbench")


class FinishedRun(ConfigError):
    """The folder holds a finished run: it is never written again (a sweep skips it), but for a run stopped by its
    time budget given a larger one (``continued``)."""

    def __init__(self, run_dir: Path, results: dict):
        hint = ""
        if budget_stopped(results) and (run_dir / "checkpoint.pt").is_file():
            budget = ((results.get("config") or {}).get("train") or {}).get("max_seconds")
            hint = (f"; its time budget ({budget} s) stopped it after epoch {results.get('epochs')}: a larger "
                    "train.max_seconds, or train.max_seconds=null, continues it from its checkpoint")
        super().__init__(f"{run_dir} already holds a finished run (status {results['status']}){hint}; nothing was "
                         f"changed. Delete that folder to run it again, or {ANOTHER_FOLDER}")
        self.results = results


class WriteFailed(RnnbenchError):
    """A run file could not be written (WRITE_FAILURES): the checkpoint on disk is kept, the same command
    resumes; not a user mistake in the config (the command exits 1)."""


RECORD = ".hydra"  # Hydra's record of the config, written by rnnbench once the run holds its folder
LOG = "rnnbench.log"
RECORD_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")  # what record() writes into RECORD
OUTPUTS = ("results.json", "metrics.csv", "checkpoint.pt", "best.pt")  # what a run writes (README)
ACTIVE: dict = {}  # the run folder this process trains, for the message of Ctrl-C


def finished_run(run_dir: Path) -> Optional[dict]:
    """The results of a finished run in ``run_dir`` (status ok, diverged, failed or no better than
    the floor), else None."""
    results = read_results(run_dir / "results.json")
    return results if results is not None and results.get("status") in FINISHED else None


def continued(cfg: DictConfig, run_dir: Path, results: dict) -> bool:
    """Whether the finished run in ``run_dir`` (its ``results``) trains on under ``cfg``: a single run stopped by
    its time budget, its checkpoint kept and written for this configuration (but for the budget), and ``cfg``'s
    budget larger than the time it had run (rnnbench/engine/checkpoint.py: continues)."""
    from rnnbench.engine import checkpoint as ckpt

    path = run_dir / "checkpoint.pt"
    if not (single(cfg) and budget_stopped(results) and path.is_file()):
        return False
    try:
        state = ckpt.load(path, [cfg])
    except ConfigError:  # another configuration, or unreadable: the finished run stands
        return False
    return bool(state) and len(state["members"]) == 1 and ckpt.continues(state["members"][0], state["elapsed"],
                                                                          cfg.train.max_seconds)


def single(cfg: DictConfig) -> bool:
    """Whether ``cfg`` is one run (not a population or a search, whose groups check their own checkpoints)."""
    return cfg.search.name == "none" and cfg.population.size <= 1


def tidy(run_dir: Path, finished: Optional[dict]) -> None:
    """What a killed process left behind in the folder this process now holds: temporary files of an
    atomic write and, beside a finished results.json (``finished``), the checkpoint it was about to remove, but
    for the one a run stopped by its time budget keeps (a population group tidies its members' folders under its
    own lock: rnnbench/population/train.py)."""
    remove_leftovers(run_dir)
    if finished is not None and not budget_stopped(finished) and (run_dir / "checkpoint.pt").is_file():
        (run_dir / "checkpoint.pt").unlink()
        log.info("removed %s/checkpoint.pt (the run had finished when it was killed)", run_dir)


class NoFollowFileHandler(logging.FileHandler):
    """The run's log, appended, opened with O_NOFOLLOW: a link planted after odd_file's check is an error, not
    a file written outside the run folder."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)

    def handleError(self, record) -> None:
        """A line the log file cannot take (a disk full) is dropped, not printed as a traceback: the console has
        it, and a failed write of a run file ends the run in one line (write_failure)."""


def record(cfg: DictConfig, run_dir: Path) -> logging.Handler:
    """Hydra's record of the run (.hydra/config.yaml, hydra.yaml, overrides.yaml, written atomically)
    and the log file, once the run holds its folder and its checks passed; returns the log's handler."""
    from omegaconf import OmegaConf

    from rnnbench.engine.results import write_text_atomic

    folder = run_dir / RECORD
    # what record() replaces, so that unrecord() can put the folder back byte for byte (a resume refused
    # while loading, e.g. a checkpoint that does not fit the model, changes nothing: issue 32)
    ACTIVE["recorded"] = {"made": not folder.exists(), "log": (run_dir / LOG).stat().st_size if (run_dir / LOG).is_file()
                          else None, "files": {n: (folder / n).read_bytes() if (folder / n).is_file() else None
                                               for n in RECORD_FILES}}
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "config.yaml", OmegaConf.to_yaml(cfg))
    if HydraConfig.initialized():  # run_job called from Python (tests) has no Hydra record beyond the config
        hc = HydraConfig.get()
        write_text_atomic(folder / "hydra.yaml", OmegaConf.to_yaml({"hydra": hc}))
        write_text_atomic(folder / "overrides.yaml", OmegaConf.to_yaml(hc.overrides.task))
    handler = NoFollowFileHandler(run_dir / LOG)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    # the composed config opens the log (the file only: the console keeps its one line per epoch)
    handler.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "config:\n%s", (OmegaConf.to_yaml(cfg),), None))
    logging.getLogger().addHandler(handler)
    return handler


def unrecord(run_dir: Path) -> None:
    """Undo record() for a run that was refused while loading (a bad data file, a checkpoint that does not fit)
    and wrote nothing else: .hydra/ and the log are put back as they were (removed where this command made
    them), and the folder too if this command made it and it is empty again."""
    before = ACTIVE.pop("recorded", None)
    if before is None:
        return
    for name, data in before["files"].items():
        if data is None:
            (run_dir / RECORD / name).unlink(missing_ok=True)
        else:
            (run_dir / RECORD / name).write_bytes(data)
    if before["log"] is None:
        (run_dir / LOG).unlink(missing_ok=True)
    else:
        os.truncate(run_dir / LOG, before["log"])
    if before["made"]:
        try:
            (run_dir / RECORD).rmdir()  # only if empty
        except OSError:
            pass
    ACTIVE["unrecorded"] = True  # run_job removes the folder too if it is empty once the lock is released


def odd_file(run_dir: Path) -> Optional[str]:
    """A run output that exists but is not a regular file (a folder, a FIFO that would block a reader), or a
    symbolic link where rnnbench writes a file (every file of a run is written in its folder, never through
    a link: issue 32)."""
    written = [*OUTPUTS, LOG, RECORD, *(f"{RECORD}/{n}" for n in RECORD_FILES)]
    for name in written:
        path = run_dir / name
        if path.is_symlink():
            return (f"{path} is a symbolic link; rnnbench writes a run's files only into its folder, never through a "
                    f"link; nothing was changed. Remove the link (or {ANOTHER_FOLDER})")
    for name in OUTPUTS:
        path = run_dir / name
        if path.exists() and not path.is_file():
            return f"{path} exists but is not a regular file; nothing was changed. Remove it (or {ANOTHER_FOLDER})"
    return None


def prepare(cfg: DictConfig, run_dir: Path) -> None:
    """Make the folder this process holds (its lock taken) ready to train ``cfg``, or refuse it with one
    message (the command prints it, the API raises it): an odd file or a link
    where a run writes (ConfigError), a finished run (FinishedRun, after the checkpoint a killed process
    left beside it is removed), a checkpoint of another configuration (ConfigError). Nothing is written
    before a refusal but the tidying of what a killed process left. A finished run stopped by its time budget and
    given a larger one is not refused: it trains on from its checkpoint (``continued``)."""
    problem = odd_file(run_dir)
    if problem:
        raise ConfigError(problem)
    done = finished_run(run_dir)
    tidy(run_dir, finished=done)
    if done is not None:
        if not continued(cfg, run_dir, done):  # (continued has read its checkpoint for this configuration)
            raise FinishedRun(run_dir, done)
    elif single(cfg):  # a population checks each group's checkpoint
        from rnnbench.engine.checkpoint import check_resumable

        check_resumable(run_dir / "checkpoint.pt", [cfg])


def train_recorded(cfg: DictConfig, run_dir: Path, keep_record: bool = False) -> tuple[dict, list]:
    """Record the run (.hydra/, the log) and train it: run_config's (results, members). A user mistake found
    while loading (a data file, a checkpoint that does not fit) is raised with the folder put back as it
    was (``keep_record``: a sweep's job keeps its record beside the failed results.json); a failure to write
    is raised as WriteFailed with its one line; any other error as it is, the record kept."""
    from rnnbench.train import run_config  # torch is imported only once the config is valid

    try:
        handler = record(cfg, run_dir)
    except OSError as e:  # the folder cannot take even the record (a disk full from the start)
        failure = write_failure(e)
        if failure is None:
            raise
        unrecord(run_dir)
        raise WriteFailed(failure) from None
    try:
        return run_config(cfg, run_dir)
    except SearchIncomplete:  # a group failed or its job was cancelled: population.json says which
        raise
    except RnnbenchError:
        if not keep_record:
            unrecord(run_dir)
        raise
    except Exception as e:  # a disk full, a size limit, a read-only folder: one line, the checkpoint kept
        failure = write_failure(e)
        if failure is None:
            raise
        raise WriteFailed(failure) from None
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def release(run_dir: Path) -> None:
    """After the lock is released: remove the folder if a refused run left it empty (it may have been made
    for this command: Hydra makes it before the checks, the API before taking the lock)."""
    if ACTIVE.pop("unrecorded", False):
        try:
            run_dir.rmdir()
        except OSError:
            pass
