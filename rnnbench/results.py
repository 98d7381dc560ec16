"""Run outputs: results.json (atomic), metrics.csv (one row per epoch), best.pt (state dict)."""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch


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


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """``path`` gets ``data`` whole or not at all (temporary file, fsync, rename)."""
    path = Path(path)
    tmp = _mkstemp_beside(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file (UTF-8) atomically: temp file beside it, then rename."""
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: Path, obj: dict) -> None:
    """results.json and friends, through write_bytes_atomic (NaN/inf become null)."""
    write_bytes_atomic(path, (json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n").encode())


def save_state_atomic(path: Path, state_dict: dict) -> None:
    """torch.save through a temporary file; load with torch.load(path, weights_only=True)."""
    path = Path(path)
    tmp = _mkstemp_beside(path)
    try:
        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MetricsLog:
    """metrics.csv, appended (and flushed) one epoch at a time, so a killed run keeps its curve."""

    def __init__(self, path: Path, fields: list[str]):
        self.path, self.fields = Path(path), fields
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerow(fields)

    def append(self, row: dict) -> None:
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self.fields])
