"""Run outputs: results.json (atomic), metrics.csv (one row per epoch), best.pt (state dict)."""
from __future__ import annotations

import csv
import errno
import io
import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

log = logging.getLogger("rnnbench")


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no NaN/inf; a missing number reads as null
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def _mkstemp_beside(path: Path) -> str:
    """A temporary file next to ``path`` with the permissions a plain open() would give."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    os.close(fd)
    return tmp


def folder_problem(folder: Path) -> Optional[str]:
    """Why files cannot be written into ``folder`` (made if missing), or None; checked where the folder would
    be made, and nothing is left behind by the check."""
    folder = Path(folder).absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing))
    except OSError as e:
        return e.strerror or str(e)
    return None


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files (``<name>.<random>.tmp``, from _mkstemp_beside) that a process killed
    inside write_atomic left in ``folder``; call it only while holding the folder (rnnbench/engine/lock.py)."""
    removed = []
    for tmp in Path(folder).glob("*.tmp"):
        if tmp.is_file() and tmp.name.split(".")[0] in ("results", "metrics", "best", "checkpoint", "population"):
            tmp.unlink()
            removed.append(tmp)
    return removed


# a write that failed for a reason the user fixes outside rnnbench (issue 32): errno -> what happened, what to do
# how every refusal of a run folder ends, the command's and rnnbench.api's alike (rnnbench/run_folder.py)
ANOTHER_FOLDER = "choose another run folder (hydra.run.dir=, or run_dir= from Python)"
WRITE_FAILURES = {errno.ENOSPC: ("no space left on the device", "free some space"),
                  errno.EDQUOT: ("the disk quota is exceeded", "free some space"),
                  errno.EFBIG: ("the file would exceed the size this process may write (ulimit -f)",
                                "raise the limit"),
                  errno.EACCES: ("permission denied", "make the folder writable"),
                  errno.EPERM: ("permission denied", "make the folder writable"),
                  errno.EROFS: ("the file system is read-only", f"make it writable, or {ANOTHER_FOLDER}")}


def write_failure(e: BaseException) -> Optional[str]:
    """One line for an OSError of WRITE_FAILURES (None for any other error): the file, what happened, that a
    checkpoint already on disk is kept and the same command resumes."""
    if not isinstance(e, OSError) or e.errno not in WRITE_FAILURES:
        return None
    what, fix = WRITE_FAILURES[e.errno]
    return (f"{what} writing {e.filename or 'a run file'}; what was written before is kept. {fix[0].upper()}{fix[1:]} "
            "and run the same command to resume")


def write_atomic(path: Path, write) -> None:
    """``path`` gets what ``write(file)`` writes, whole or not at all (temporary file, fsync, rename). An
    OSError names ``path`` (not the temporary file)."""
    path = Path(path)
    tmp = None
    try:
        tmp = _mkstemp_beside(path)
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror, str(path)) from e
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


# a run whose best validation metric is no better than its task's trivial floor (rnnbench/floors.py): it ended,
# but it is not `ok` (rnnbench-report counts it as not ok and names the floor)
FLOOR_STATUS = "no_better_than_floor"
PRUNED = "pruned"  # a search member stopped early by search.pruner (rnnbench/engine/prune.py): ended, not ok
FINISHED = ("ok", "diverged", "failed", FLOOR_STATUS, PRUNED)  # the statuses of a run that has ended (results.json)
BUDGET = "time budget"  # how the stop reason of a run ended by train.max_seconds begins (a larger budget continues it)


def budget_stopped(results: Optional[dict]) -> bool:
    """Whether the finished run of ``results`` was stopped by its time budget (a single run's checkpoint is then
    kept: a larger budget continues it, rnnbench/run_folder.py)."""
    return str((results or {}).get("stop_reason") or "").startswith(BUDGET)


def set_aside(run_dir: Path, budget: float) -> list[Path]:
    """Rename results.json and best.pt of the run in ``run_dir``, stopped by its time budget of ``budget`` seconds, to
    results.budget-<budget>s.json and best.budget-<budget>s.pt (a free name: nothing is overwritten) before the run
    trains on under a larger budget (rnnbench/engine/fit.py); the new paths. rnnbench-report reads results.json only."""
    moved = []
    for name, suffix in (("results", ".json"), ("best", ".pt")):
        old = Path(run_dir) / f"{name}{suffix}"
        if not old.is_file():
            continue
        stem, k = f"{name}.budget-{budget:g}s", 1
        while (new := old.with_name(f"{stem}{'' if k == 1 else f'-{k}'}{suffix}")).exists():
            k += 1
        os.rename(old, new)
        moved.append(new)
    return moved


def read_results(path: Path) -> Optional[dict]:
    """A results.json (or population.json) as a dict; None if it is missing, unreadable, not a regular
    file (a FIFO would block the reader forever) or not an object."""
    if not Path(path).is_file():
        return None
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return None
    return obj if isinstance(obj, dict) else None


def write_failed(cfg, run_dir: Path, error: str) -> dict:
    """A results.json with status failed for ``cfg`` in ``run_dir`` (a run that could not train, a
    population group that failed); returns it."""
    from omegaconf import OmegaConf

    def get(key):
        return OmegaConf.select(cfg, key, default=None)

    results = {
        "dataset": get("dataset.name"), "model": get("model.name"), "regulariser": get("regulariser.name"),
        "seed": get("seed"), "status": "failed", "error": error, "train_nll": None, "valid_nll": None,
        "test_nll": None, "wall_s": None, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "config": OmegaConf.to_container(cfg, resolve=False, enum_to_str=True),
    }
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(run_dir) / "results.json", results)
    return results


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file (UTF-8) atomically: temp file beside it, then rename."""
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: Path, obj: dict) -> None:
    """results.json and friends, through write_bytes_atomic (NaN/inf become null)."""
    write_bytes_atomic(path, (json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n").encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """``path`` gets ``data`` whole or not at all."""
    write_atomic(path, lambda f: f.write(data))


def save_torch_atomic(path: Path, obj) -> None:
    """torch.save through write_atomic: whole or not at all."""
    import torch

    write_atomic(path, lambda f: torch.save(obj, f))


def save_state_atomic(path: Path, state_dict: dict) -> None:
    """best.pt: the state dict on the CPU; load with torch.load(path, weights_only=True)."""
    save_torch_atomic(path, {k: v.detach().cpu() for k, v in state_dict.items()})


class MetricsLog:
    """metrics.csv, appended (and flushed) one epoch at a time, so a killed run keeps its curve. A
    resumed run starts it again from the rows of its checkpoint (written atomically), so that an
    epoch written after the last checkpoint is neither lost nor repeated. The rows are also kept here:
    a metrics.csv deleted, cut or replaced by a link while the run trains is written again whole
    (issue 32), never appended to headless."""

    def __init__(self, path: Path, fields: list[str], rows: tuple = ()):
        self.path, self.fields = Path(path), fields
        self.rows = [dict(r) for r in rows]
        self._write_all()

    def _line(self, row: dict) -> str:
        buf = io.StringIO()
        csv.writer(buf).writerow([row.get(k, "") for k in self.fields])
        return buf.getvalue()

    def _write_all(self) -> None:
        write_text_atomic(self.path, self._line(dict(zip(self.fields, self.fields))) + "".join(map(self._line, self.rows)))

    def _intact(self) -> bool:
        """The file is a regular file (not a link) holding the header and one line per epoch so far."""
        if self.path.is_symlink() or not self.path.is_file():
            return False
        try:
            with open(self.path, newline="") as f:
                lines = f.read().splitlines(keepends=True)
        except (OSError, UnicodeDecodeError):
            return False
        return len(lines) == 1 + len(self.rows) and lines[0] == self._line(dict(zip(self.fields, self.fields)))

    def append(self, row: dict) -> None:
        intact = self._intact()
        self.rows.append(dict(row))
        if not intact:
            log.warning("%s was missing, cut or not a regular file: written again from this run's %d epochs",
                        self.path, len(self.rows))
            self._write_all()
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
            with os.fdopen(fd, "a", newline="") as f:
                f.write(self._line(row))
        except OSError as e:
            raise OSError(e.errno, e.strerror, str(self.path)) from e

    def finish(self, results: dict) -> None:
        """The run has ended with ``results`` (its results.json): a tracker logs the end metrics."""


def _number(cell: str) -> float:
    try:
        return float(cell)
    except (TypeError, ValueError):  # an empty cell (no value that epoch)
        return float("nan")


def read_metrics(run_dir: Path) -> dict[str, list[float]]:
    """A run's metrics.csv as {column: values}, epochs in order; a cell without a number is NaN; {} if
    the file is missing or unreadable."""
    try:
        with open(Path(run_dir) / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return {key: [_number(r.get(key)) for r in rows] for key in (rows[0] if rows else {})}


def selection_value(results: dict) -> float:
    """The run's selection metric (valid NLL, valid perplexity, STORN's valid bound, sentiment's
    training RMSE: ``results["selection_metric"]``), what a Hydra sweeper minimises; inf if there is none."""
    value = results.get(results.get("selection_metric", "valid_nll"))
    return float(value) if isinstance(value, (int, float)) else float("inf")
