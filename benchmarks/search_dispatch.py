"""A search of one-member groups, trained here (one group after the other) and on W worker processes
(`population.dispatch=processes`): wall time, and whether the members end with the same numbers.

002's open search draws the hidden size per member (002 §2.5.2.2), so its 64 runs are ~60 groups of one
member each: batching members into one launch (the population engine) does nothing for it, and an eager
explicit cell leaves a GPU idle most of a step (benchmarks/results/gpu-h200.md: kernel launches). Worker
processes overlap the launches of W groups on the one device. This measures by how much, on the shape of
002 Table 6's FD-RNN search on JSB (search=open, regulariser=fd), shortened to a few epochs per member.

    python -m benchmarks.search_dispatch --device cuda --n 8 --epochs 4 --workers 4,8 --out DIR

Needs RNNBENCH_DATA (JSB Chorales). Writes DIR/search_dispatch-<device>.json and .md; the run folders stay in
DIR/search-dispatch/. Each command's wall time is measured around the whole `rnnbench` process (start-up,
worker spawn and CUDA contexts included); `search s` is population.json's wall time (the search itself, without start-up).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS


def _numbers(run: Path, n: int) -> list[dict]:
    out = []
    for m in range(n):
        path = run / "members" / f"{m:03d}" / "results.json"
        res = json.loads(path.read_text()) if path.is_file() else {}
        out.append({k: res.get(k) for k in ("status", "epochs", "valid_nll", "test_nll")})
    return out


def _agree(a: list[dict], b: list[dict], rel: float) -> bool:
    for x, y in zip(a, b):
        if x["status"] != y["status"] or x["epochs"] != y["epochs"]:
            return False
        for k in ("valid_nll", "test_nll"):
            if (x[k] is None) != (y[k] is None):
                return False
            if x[k] is not None and abs(x[k] - y[k]) > rel * max(abs(x[k]), 1e-12):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--n", type=int, default=8, help="members of the search (one group each)")
    p.add_argument("--epochs", type=int, default=4, help="train.max_epochs of each member")
    p.add_argument("--workers", default="4,8", help="worker-process counts to time, comma-separated")
    p.add_argument("--rel", type=float, default=1e-5, help="relative tolerance of the members' agreement")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("overrides", nargs="*", help="extra rnnbench overrides (e.g. model.hidden ranges for a dry run)")
    args = p.parse_args(argv)
    runs = args.out / "search-dispatch"
    shutil.rmtree(runs, ignore_errors=True)
    base = [sys.executable, "-m", "rnnbench", "dataset=jsb", "regulariser=fd", "search=open", f"search.n={args.n}",
            f"device={args.device}", f"train.max_epochs={args.epochs}", "train.progress=false",
            "train.checkpoint=false", "train.save_model=false", *args.overrides]
    cases = [("here", [])] + [(f"processes, {w} workers", ["population.dispatch=processes", f"population.workers={w}"])
                              for w in (int(x) for x in args.workers.split(","))]
    rows = []
    for i, (name, extra) in enumerate(cases):
        run = runs / f"case-{i}"
        t0 = time.perf_counter()
        done = subprocess.run(base + extra + [f"hydra.run.dir={run}"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wall = time.perf_counter() - t0
        (runs / f"case-{i}.log").write_text(done.stdout + done.stderr)
        record = json.loads((run / "population.json").read_text()) if (run / "population.json").is_file() else {}
        search_s = None if record.get("wall_s") is None else round(record["wall_s"], 1)
        rows.append({"case": name, "rc": done.returncode, "wall_s": round(wall, 1), "search_s": search_s,
                     "members": _numbers(run, args.n)})
        print(f"{name}: rc {done.returncode}, {wall:.1f} s", flush=True)
    here = rows[0]
    for r in rows:
        r["speedup"] = round(here["wall_s"] / r["wall_s"], 2) if r["wall_s"] else None
        r["same_numbers"] = _agree(here["members"], r["members"], args.rel)
    import torch

    from benchmarks.common import environment
    info = {"command": " ".join(["python -m benchmarks.search_dispatch", *(argv if argv is not None else sys.argv[1:])]),
            **environment(torch.device(args.device)), "rows": rows}
    device = info["device"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"search_dispatch-{args.device}.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [f"# A search of {args.n} one-member groups: here vs worker processes ({device})", "",
             f"{info['date']}, torch {info['torch']}, commit {info['commit']}; `{info['command']}`.",
             f"002's open FD-RNN search on JSB, {args.epochs} epochs per member; wall = the whole command; "
             f"same numbers = every member's status, epochs, valid and test NLL within {args.rel:g} of `here`.", "",
             "| case | rc | wall s | search s (population.json) | speed-up | same numbers |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['case']} | {r['rc']} | {r['wall_s']} | {r['search_s']} | {r['speedup']}× | {r['same_numbers']} |"
              for r in rows]
    (args.out / f"search_dispatch-{args.device}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
