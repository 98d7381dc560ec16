"""Device, precision and seeding."""
from __future__ import annotations

import contextlib
import functools
import os
import random
import subprocess
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from rnnbench.errors import ConfigError

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def dtype_of(precision) -> torch.dtype:
    """train.precision (a Precision enum, or its string in configs built without the schema)."""
    return DTYPES[getattr(precision, "value", precision)]


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, else CPU; 'cuda' without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device '{name}'; valid: auto, cpu, cuda, cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name} but CUDA is not available here; use device=cpu or device=auto")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device '{name}' is not supported; valid: auto, cpu, cuda, cuda:N")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_allocator: Optional[str] = None


@contextlib.contextmanager
def fixed_draws(seed: int, device: torch.device):
    """Inside the block torch draws from generators seeded with ``seed``; the run's own random state is restored
    after it. The same draws every time the block is entered (common random numbers: an evaluation's noise the same
    every epoch), and training draws what it would draw without the block."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def keep_host_memory() -> str:
    """Serve every host block from glibc's heap and keep what is freed there for the next step (mallopt: no mmap,
    heap trimmed only above 2 GiB free). glibc's default maps each block over 32 MiB fresh from the kernel and
    returns it on free, so a CPU step that allocates its activations (sentiment's (128, 200, 512) projection:
    52 MB) pays page faults for them every time: 6-14% of a CPU training step on one thread
    (benchmarks/host_allocator.py). Numbers never change: only where the memory comes from. Once per process, before
    training (rnnbench/engine/fit.py); RNNBENCH_MALLOC=0 keeps glibc's default. Returns what it did
    (results.json's environment)."""
    global _allocator
    if _allocator is None:
        import ctypes
        import platform

        if os.environ.get("RNNBENCH_MALLOC", "1") == "0":
            _allocator = "system default (RNNBENCH_MALLOC=0)"
        elif platform.libc_ver()[0] != "glibc":
            _allocator = "system default (not glibc)"
        else:
            libc = ctypes.CDLL(None)
            ok = libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1
            _allocator = "glibc heap, no mmap" if ok else "system default (mallopt refused)"
    return _allocator


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


SLURM_VARS = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_CLUSTER_NAME")


def environment(device: torch.device) -> dict:
    """Where a run ran (results.json "environment"): Python, NumPy, torch, CUDA and cuDNN versions, the
    host, and the SLURM job when there is one."""
    import platform
    import socket

    cuda = device.type == "cuda"
    return {
        "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda and torch.backends.cudnn.is_available() else None,
        "host": socket.gethostname(), "platform": platform.platform(),
        "slurm": {k.lower()[6:]: os.environ[k] for k in SLURM_VARS if k in os.environ} or None,
        "host_allocator": _allocator or "system default",
    }


@functools.lru_cache(maxsize=1)
def git_commit() -> Optional[str]:
    """The commit of the rnnbench checkout that runs (``-dirty`` with uncommitted changes), recorded in
    results.json so that every number names the code that produced it; $RNNBENCH_COMMIT where it is set (a
    copy of a checkout without its .git, as benchmarks/gpu.sh runs); None for an installed copy."""
    here = Path(__file__).resolve().parent
    named = os.environ.get("RNNBENCH_COMMIT")  # a copy without .git (a GPU machine's) names its commit here
    if named:
        return named
    try:
        # the package must be the repository's own files, not a copy installed below it (.venv/)
        tracked = subprocess.run(["git", "-C", str(here), "ls-files", "--error-unmatch", "__init__.py"],
                                 capture_output=True, text=True, timeout=10)
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if tracked.returncode != 0 or head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
