"""Time a preset's training step with glibc's default allocator (RNNBENCH_MALLOC=0: blocks over 32 MiB mapped fresh
from the kernel and returned on free) against the heap rnnbench keeps (rnnbench/runtime.py, keep_host_memory), each
in its own process, alternately, with the processes' peak memory; and write JSON plus a markdown table.

    python -m benchmarks.host_allocator [--presets sentiment-lstm-variational,fdrnn-jsb] [--batches 8] [--rounds 2]

Each process trains ``--batches`` batches of the preset (train.limit_batches) three times and reports the median
of the last two passes per batch. CPU only, on torch's threads as set (OMP_NUM_THREADS). Figures go to
benchmarks/results/host_allocator-cpu.{json,md}.
"""
from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys

DEFAULT = "sentiment-lstm-variational,sentiment-gru-variational,sentiment-lstm-none,fdrnn-jsb,zaremba-small"
MODES = {"glibc default (RNNBENCH_MALLOC=0)": "0", "heap kept (rnnbench's default)": "1"}


def child(preset: str, batches: int) -> None:
    """One process: the preset's task, ``batches`` batches per pass, three passes; prints one JSON line."""
    import resource
    import tempfile

    import torch

    from benchmarks.common import time_step
    from rnnbench.api import compose
    from rnnbench.runtime import keep_host_memory
    from rnnbench.tasks import task_class

    allocator = keep_host_memory()  # what fit() does first (RNNBENCH_MALLOC decides)
    cfg = compose([f"experiment={preset}", f"train.limit_batches={batches}", "train.progress=false", "device=cpu"])
    with tempfile.TemporaryDirectory() as d:
        task = task_class(cfg)(cfg, d)
        epochs = itertools.count(1)
        # passes 2-3 timed after one warm-up pass; no mid-epoch checkpoints
        seconds = time_step(lambda: task.train_epoch(next(epochs), [True] * len(task.members), None, lambda partial: None),
                            torch.device("cpu"), warmup=1, repeats=2)
    print(json.dumps({"allocator": allocator, "step_s": seconds / batches,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "threads": torch.get_num_threads()}))


def measure(preset: str, batches: int, rounds: int) -> dict:
    runs = {mode: [] for mode in MODES}
    for _ in range(rounds):
        for mode, flag in MODES.items():  # alternately: both see the same machine
            out = subprocess.run([sys.executable, "-m", "benchmarks.host_allocator", "--child", preset,
                                  "--batches", str(batches)], env={**os.environ, "RNNBENCH_MALLOC": flag},
                                 capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    default, kept = (runs[m] for m in MODES)
    step_default, step_kept = (statistics.median(r["step_s"] for r in rs) for rs in (default, kept))
    return {"preset": preset, "default_ms": 1e3 * step_default, "kept_ms": 1e3 * step_kept,
            "ratio": step_kept / step_default, "default_maxrss_mb": max(r["maxrss_mb"] for r in default),
            "kept_maxrss_mb": max(r["maxrss_mb"] for r in kept), "allocators": [rs[0]["allocator"] for rs in (default, kept)],
            "threads": default[0]["threads"]}


def main() -> None:
    import argparse
    from pathlib import Path

    import torch

    from benchmarks.common import RESULTS, environment, write

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--presets", default=DEFAULT)
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--child")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.batches)
    rows = [measure(preset, args.batches, args.rounds) for preset in args.presets.split(",")]
    info = {**environment(torch.device("cpu")), "shape": "each preset's own",
            "timing": f"per training batch: median over {args.rounds} processes per allocator (alternately) of the "
                      f"median of passes 2-3 over {args.batches} batches; {rows[0]['threads']} thread(s)"}
    print(write(args, "host_allocator-cpu", info, rows, "Training step: glibc's default allocator against the kept heap",
                ["preset", "glibc default (ms)", "heap kept (ms)", "ratio", "peak RSS default / kept (MB)"],
                lambda r: [r["preset"], f"{r['default_ms']:.1f}", f"{r['kept_ms']:.1f}", f"{r['ratio']:.2f}",
                           f"{r['default_maxrss_mb']:.0f} / {r['kept_maxrss_mb']:.0f}"]))


if __name__ == "__main__":
    main()
