"""A small random search over Adadelta's settings for STORN (issue 20; 002 §4.4: the thesis' 128-run
search chose them and does not report them), as parallel processes on one machine, each run with a
time budget. Selection by the validation bound only; the test NLL is reported, never used.

    python -m benchmarks.storn_search --n 12 --parallel 12 --seconds 240 --device cuda --out DIR \
        -- experiment=storn-jsb protocol=breze-storn

Members 0 and 1 are the authors' public settings (conf/optim/adadelta-nesterov-mocap.yaml with batch
5, conf/optim/adadelta-nesterov-fdrnn-jsb.yaml with batch 35); the others are drawn from a seeded
RNG: momentum in {0.9, 0.95, 0.99, 0.995}, decay U(0.7, 0.95), offset log-U(1e-6, 1e-4), batch in
{5, 10, 35}, step rate 1. Writes DIR/search.json and DIR/search.md (ranked by the validation bound).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

PUBLIC = [  # the authors' notebooks (protocols.md §1b)
    ("optim=adadelta-nesterov-mocap", "train.batch_size=5"),
    ("optim=adadelta-nesterov-fdrnn-jsb", "train.batch_size=35"),
]


def members(n: int, seed: int) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    out = list(PUBLIC[:n])
    while len(out) < n:
        out.append(("optim=adadelta-nesterov", "optim.lr=1.0",
                    f"optim.momentum={rng.choice([0.9, 0.95, 0.99, 0.995])}",
                    f"optim.decay={rng.uniform(0.7, 0.95):.4f}",
                    f"optim.offset={10 ** rng.uniform(-6, -4):.3e}",
                    f"train.batch_size={rng.choice([5, 10, 35])}"))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=12)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--seconds", type=float, default=600, help="train.max_seconds of each run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (each run trains with seed=0)")
    p.add_argument("--is-samples", type=int, default=100)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--report-only", action="store_true", help="write the table of the runs already in --out")
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    drawn = members(args.n, args.seed)
    todo = list(enumerate(drawn))
    running: list[tuple[int, tuple, subprocess.Popen]] = []
    while (todo or running) and not args.report_only:
        while todo and len(running) < args.parallel:
            i, settings = todo.pop(0)
            cmd = [sys.executable, "-m", "rnnbench", *extra, *settings, f"device={args.device}",
                   f"train.max_seconds={args.seconds}", "train.progress=false", "train.checkpoint=false",
                   "train.save_model=false", f"eval.is_samples={args.is_samples}",
                   f"hydra.run.dir={args.out / f'member-{i:02d}'}"]
            log = open(args.out / f"member-{i:02d}.log", "w")
            running.append((i, settings, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)))
        time.sleep(2)
        running = [r for r in running if r[2].poll() is None]
    rows = []
    for i, settings in enumerate(drawn):
        path = args.out / f"member-{i:02d}" / "results.json"
        res = json.loads(path.read_text()) if path.is_file() else {}
        rows.append({"member": i, "settings": list(settings), "status": res.get("status", "failed"),
                     "epochs": res.get("epochs"), "best_epoch": res.get("best_epoch"),
                     "valid_elbo": res.get("valid_elbo"), "valid_nll": res.get("valid_nll"),
                     "test_nll": res.get("test_nll"), "test_nll_breze": res.get("test_nll_breze"),
                     "recognition_rates": res.get("recognition_rates"), "commit": res.get("commit")})
    key = lambda r: r["valid_elbo"] if r["status"] == "ok" and r["valid_elbo"] is not None else math.inf
    rows.sort(key=key)
    info = {"command": " ".join(["python -m benchmarks.storn_search", *argv]), "device": args.device,
            "seconds_per_run": args.seconds, "rows": rows}
    (args.out / "search.json").write_text(json.dumps(info, indent=2) + "\n")
    fmt = lambda v: "–" if v is None else f"{v:.3f}"
    lines = [f"# STORN: Adadelta search ({args.n} runs, {args.seconds:.0f} s each, {args.device})", "",
             f"`{info['command']}`; ranked by the validation bound (selection); test shown, never used.", "",
             "| member | settings | status | epochs (best) | valid bound | valid IS-NLL | test IS-NLL | test breze |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['member']} | {' '.join(r['settings'])} | {r['status']} | {r['epochs']} ({r['best_epoch']}) | "
              f"{fmt(r['valid_elbo'])} | {fmt(r['valid_nll'])} | {fmt(r['test_nll'])} | {fmt(r['test_nll_breze'])} |"
              for r in rows]
    (args.out / "search.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
