"""The native part of the CPU weight-noise draws (sfc64.c, issue 31): built with the machine's C compiler on
first use into the per-user cache, loaded through ctypes, and optional. Without a compiler (or with
``RNNBENCH_NATIVE=0``) cpu_draws takes the same numbers from numpy, more slowly: the kernel computes exactly
what numpy and torch compute (integer arithmetic and exact conversions, tests/test_weight_noise_draws.py), so a
run's numbers do not depend on which path drew them.

Where the build goes: ``$RNNBENCH_NATIVE_CACHE``, else ``<user cache>/rnnbench/native``, in a folder named by
the hash of the source, the compiler and the flags; written atomically, so two runs building at once are safe.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Optional

from platformdirs import user_cache_dir

log = logging.getLogger("rnnbench")

SOURCE = Path(__file__).with_name("sfc64.c")
# exact float arithmetic (no contraction into FMAs, no fast-math): the same bits from every compiler
# (-fno-math-errno lets sqrt vectorise: it changes errno, never a result)
FLAGS = ["-O3", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno", "-fno-strict-aliasing"]


def _compiler() -> Optional[str]:
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")


def _openmp() -> list[str]:
    """-fopenmp where torch's own OpenMP runtime is GNU's and loaded (Linux wheels): the kernel's parallel region then
    runs on torch's threads (and follows torch.set_num_threads); never a second runtime beside torch's."""
    try:
        with open("/proc/self/maps") as maps:
            return ["-fopenmp"] if any("libgomp" in line for line in maps) else []
    except OSError:
        return []


def _build(cc: str, flags: list[str]) -> Path:
    key = hashlib.sha256(SOURCE.read_bytes() + "\0".join([cc, *flags, sys.platform]).encode()).hexdigest()[:16]
    folder = Path(os.environ.get("RNNBENCH_NATIVE_CACHE") or Path(user_cache_dir("rnnbench")) / "native") / key
    lib = folder / "sfc64.so"
    if lib.is_file():
        return lib
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=folder)
    os.close(fd)
    try:
        subprocess.run([cc, *flags, "-o", tmp, str(SOURCE)], check=True, capture_output=True, text=True, timeout=120)
        os.replace(tmp, lib)  # atomic: a concurrent build replaces it with the same file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib


@lru_cache(maxsize=None)
def library() -> Optional[ctypes.CDLL]:
    """The built kernel, or None (numpy then draws the same numbers); the reason is logged once."""
    if os.environ.get("RNNBENCH_NATIVE", "1") == "0":
        return None
    cc = _compiler()
    if cc is None:
        log.info("no C compiler: the CPU weight-noise draws take numpy's path (same numbers, slower)")
        return None
    lib, openmp = None, _openmp()
    for flags in ([FLAGS + openmp, FLAGS] if openmp else [FLAGS]):  # without OpenMP where it does not build
        try:
            lib = ctypes.CDLL(str(_build(cc, flags)))
            break
        except (OSError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", "") or err
    if lib is None:
        log.warning("the native weight-noise kernel did not build (%s); numpy's path draws the same numbers, "
                    "more slowly", str(detail).strip()[:300])
        return None
    u64p, f32p = ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_float)
    lib.sfc64_raw.argtypes = [u64p, ctypes.c_int64, u64p]
    lib.sfc64_normal_f32.argtypes = [u64p, ctypes.c_int64, f32p, ctypes.c_float, ctypes.c_float, f32p]
    lib.sfc64_keep_f32.argtypes = [u64p, ctypes.c_int64, ctypes.c_uint64, f32p]
    lib.sfc64_raw.restype = lib.sfc64_normal_f32.restype = lib.sfc64_keep_f32.restype = None
    return lib
