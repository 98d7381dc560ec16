"""Which points of the authors' reading matter (issue 18, protocols.md §1b): one rnnbench run per
point of conf/protocol/breze.yaml switched alone on the papers' reading, the whole breze reading,
and the breze reading with one point switched back, on one preset, one seed and a fixed number of
epochs. Validation numbers only: the table never shows a test NLL, so nothing here is chosen on it.

    python -m benchmarks.protocol_ablation PRESET EPOCHS [--out DIR] [--only a,b] [overrides ...]

Each run is an ordinary `rnnbench` subprocess (OMP_NUM_THREADS as set by the caller) writing
DIR/<label>/; a label whose results.json exists is not run again, so the same command resumes.
Writes DIR/ablation.json and DIR/ablation.md (best valid NLL, its epoch, the status and why the run
ended, the commit of the run).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

from rnnbench.engine.results import write_bytes_atomic

# (label, the breze value of one point, the papers' value): conf/protocol/breze.yaml, point by point
POINTS = [
    ("fd_rec_mean", "regulariser.fd_rec_mean=drop", "regulariser.fd_rec_mean=keep"),
    ("fd_tanh", "regulariser.fd_tanh=half", "regulariser.fd_tanh=tanh"),
    ("loss", "train.loss=padded", "train.loss=masked"),
    ("batches", "train.batches=blocks", "train.batches=rows"),
    ("batch_size", "train.batch_size=35", "train.batch_size=32"),
    ("clip", "train.clip=null", "train.clip=225"),
    ("init_scale", "model.init.scale=std", "model.init.scale=variance"),
    ("sparse_io", "model.init.sparse_io=false", "model.init.sparse_io=true"),
    ("h0", "model.init.h0=gaussian", "model.init.h0=zero"),
    ("prob_clip", "model.prob_clip=1e-7", "model.prob_clip=null"),
]
# the final-layer versions are not in protocol=breze (which one made the tables is unknown): tried on top of it
VERSIONS = [
    ("output_rate", ["regulariser.output_rate=recurrent"]),
    ("final_layer_no", ["regulariser.final_layer_no=readout_and_input"]),
    # Jan-2014 learn/rnn.py: the read-out drops with the hidden rate and is always the FD read-out
    ("jan2014", ["regulariser.output_rate=recurrent", "regulariser.fd_output=true"]),
]


def plan() -> list[tuple[str, list[str]]]:
    runs = [("paper", ["protocol=paper"]), ("breze", ["protocol=breze"])]
    runs += [(f"paper+{name}", ["protocol=paper", on]) for name, on, _ in POINTS]
    runs += [(f"breze-{name}", ["protocol=breze", off]) for name, _, off in POINTS]
    runs += [(f"breze+{name}", ["protocol=breze", *on]) for name, on in VERSIONS]
    return runs


def best_valid(run_dir: Path) -> tuple[float, int]:
    """(best valid NLL, its epoch) from metrics.csv; (nan, 0) if no epoch finished."""
    best, epoch = float("nan"), 0
    path = run_dir / "metrics.csv"
    if path.exists():
        with open(path) as f:
            for row in csv.DictReader(f):
                v = float(row["valid_nll"]) if row["valid_nll"] not in ("", "nan") else float("nan")
                if v == v and not (best <= v):
                    best, epoch = v, int(row["epoch"])
    return best, epoch


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.protocol_ablation", description=__doc__.split("\n")[0])
    parser.add_argument("preset", help="an experiment preset, e.g. fdrnn-jsb")
    parser.add_argument("epochs", type=int, help="the fixed budget: epochs per run")
    parser.add_argument("--out", default=None, help="default: outputs/ablation/<preset>")
    parser.add_argument("--only", default=None, help="comma-separated labels to run (default: all); the table "
                                                     "also lists the runs earlier calls made in --out")
    args, overrides = parser.parse_known_args(argv)
    out = Path(args.out or f"outputs/ablation/{args.preset}")
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for label, extra in plan():
        run_dir = out / label
        if only is not None and label not in only:
            if not (run_dir / "results.json").exists():
                continue  # not asked for: listed only if an earlier call ran it
        elif not (run_dir / "results.json").exists():
            cmd = ["rnnbench", f"experiment={args.preset}", *extra, f"train.max_epochs={args.epochs}",
                   "train.progress=false", f"hydra.run.dir={run_dir}", *overrides]
            print(f"[ablation] {label}: {' '.join(cmd)}", flush=True)
            start = time.time()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"[ablation] {label}: {time.time() - start:.0f}s", flush=True)
        results = json.loads((run_dir / "results.json").read_text()) if (run_dir / "results.json").exists() else {}
        best, epoch = best_valid(run_dir)
        rows.append(dict(label=label, overrides=extra, best_valid_nll=best, best_epoch=epoch,
                         epochs=results.get("epochs"), status=results.get("status", "failed"),
                         stop_reason=results.get("stop_reason"), wall_s=results.get("wall_s"),
                         commit=results.get("commit")))
        write_outputs(out, args, overrides, rows)
    return 0


def write_outputs(out: Path, args, overrides: list[str], rows: list[dict]) -> None:
    meta = dict(preset=args.preset, epochs=args.epochs, overrides=overrides, seed=0,
                command=" ".join(["python -m benchmarks.protocol_ablation", args.preset, str(args.epochs), *overrides]))
    write_bytes_atomic(out / "ablation.json", json.dumps(dict(meta, runs=rows), indent=1).encode())
    paper = next((r["best_valid_nll"] for r in rows if r["label"] == "paper"), float("nan"))
    lines = [f"`{meta['command']}` (seed 0, {args.epochs} epochs; validation NLL only)", "",
             "| run | best valid NLL | vs paper | best epoch | epochs | status | ended by | wall (s) | commit |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        gap = (r["best_valid_nll"] - paper) / paper * 100 if paper == paper else float("nan")
        lines.append(f"| {r['label']} | {r['best_valid_nll']:.3f} | {gap:+.1f}% | {r['best_epoch']} | {r['epochs']} | "
                     f"{r['status']} | {r['stop_reason'] or ''} | {r['wall_s'] or 0:.0f} | {(r['commit'] or '?')[:12]} |")
    write_bytes_atomic(out / "ablation.md", ("\n".join(lines) + "\n").encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
