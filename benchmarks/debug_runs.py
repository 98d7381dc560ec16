"""The wall time of a fast dev run (``train=debug``: two epochs of at most 5 batches of every split,
``train.limit_batches``) for every task, each a fresh ``rnnbench`` process as a user runs it (issue 23).

    python -m benchmarks.debug_runs          # needs the real data sets under $RNNBENCH_DATA
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import RESULTS, meta, write

TASKS = [  # (what, the command's overrides)
    ("music: FD-sRNN on JSB", ["dataset=jsb", "regulariser=fd"]),
    ("music: LSTM on Nottingham", ["dataset=nottingham", "model=lstm"]),
    ("population: 4-member FD search on JSB", ["dataset=jsb", "regulariser=fd", "search=random", "search.n=4"]),
    # STORN's test NLL is importance-sampled with eval.is_samples per sequence: K = 100 by default; the
    # presets' K = 1000 (experiment=storn-*) makes that evaluation ten times longer (230 s measured here)
    ("STORN on JSB (K = 100 importance samples)", ["dataset=jsb", "model=storn"]),
    ("PTB: variational LSTM", ["dataset=ptb", "model=lstm", "regulariser=variational"]),
    ("sentiment: LSTM, variational", ["dataset=sentiment", "model=lstm", "regulariser=variational"]),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for k, (what, overrides) in enumerate(TASKS):
            run = Path(d) / str(k)
            cmd = [sys.executable, "-m", "rnnbench", *overrides, "train=debug", "device=cpu", "train.progress=false",
                   "data.download=false", f"hydra.run.dir={run}"]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            wall = time.perf_counter() - t0
            ok = proc.returncode == 0
            found = [json.loads(p.read_text()) for p in [run / "results.json", *sorted(run.glob("members/*/results.json"))]
                     if p.is_file()]  # a search: its members'
            results = {"epochs": max((r.get("epochs") or 0 for r in found), default=None)}
            rows.append({"task": what, "command": "rnnbench " + " ".join(overrides) + " train=debug", "wall_s": wall,
                         "exit": proc.returncode, "epochs": results.get("epochs"),
                         "error": None if ok else proc.stderr.strip().splitlines()[-1:]})
            print(f"{what}: {wall:.1f} s (exit {proc.returncode})", file=sys.stderr)
    info = meta(argparse.Namespace(batch=8, steps=0, hidden=0, repeats=1, warmup=0), torch.device("cpu"),
                "one fresh process per task (start-up, data loading, two epochs, test evaluation)")
    print(write(argparse.Namespace(out=args.out), "debug-runs-cpu", info, rows,
                "Wall time of `train=debug` for every task",
                ["task", "command", "wall (s)", "epochs", "exit"],
                lambda r: [r["task"], f"`{r['command']}`", f"{r['wall_s']:.1f}", str(r["epochs"]), str(r["exit"])]))


if __name__ == "__main__":
    main()
