"""``rnnbench-report [DIR ...]``: print the comparison table of every results.json under DIRs."""
from __future__ import annotations

import sys
from pathlib import Path

from rnnbench.errors import RnnbenchError, cli_entry
from rnnbench.tools.args import Parser, count

from rnnbench.engine.results import FLOOR_STATUS, folder_problem
from rnnbench.tools.report.table import best_runs, collect, pivot, render, seed_groups


def parse_args(argv=None):
    p = Parser(
        prog="rnnbench-report",
        description="Rows model / regulariser, columns data sets. Each cell pools the runs of one configuration "
        "that differ only in the seed: mean ± std of the test metric (seeds in brackets), for the configuration "
        "with the best mean validation metric. --pick best-valid shows the single best-validation run instead.",
    )
    p.add_argument("dirs", nargs="*", type=Path, default=[Path("outputs")], help="folders to search (default: outputs/)")
    p.add_argument("--format", choices=["markdown", "csv", "latex"], default="markdown")
    p.add_argument("--paper", action="store_true", help="add the published numbers (protocols.md §1) as reference rows")
    p.add_argument("--pick", choices=["seeds", "best-valid"], default="seeds",
                   help="seeds: mean ± std over the seeds of the best configuration (default); best-valid: the "
                   "single run with the best validation metric (the papers' selection over a search)")
    p.add_argument("--plot", type=Path, metavar="DIR", help="also write figures (PNG and PDF) into DIR: learning "
                   "curves per data set, the spectral radius of W_rec (sRNN), seeds as mean ± std")
    p.add_argument("--digits", type=count(0, 12), default=2, help="decimals shown (markdown, latex; 0 to 12)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    missing = [str(d) for d in args.dirs if not d.is_dir()]
    if missing:
        raise RnnbenchError(f"no such folder: {', '.join(missing)}")
    problem = folder_problem(args.plot) if args.plot is not None else None
    if problem:  # checked before the table is printed, so that a bad folder is not found last
        raise RnnbenchError(f"--plot {args.plot} cannot be written ({problem})")
    runs, bad = collect(args.dirs)
    for line in bad:
        print(f"rnnbench-report: skipped {line}", file=sys.stderr)
    if runs.empty and not args.paper:
        print(f"rnnbench-report: no results.json under {', '.join(map(str, args.dirs))}", file=sys.stderr)
        return 1
    best = seed_groups(runs) if args.pick == "seeds" else best_runs(runs)
    metrics = sorted(set(best["metric"])) or ["test_nll"]
    for i, metric in enumerate(metrics):
        if i:
            print()
        if args.format != "csv":
            how = ("mean ± std over seeds of the configuration with the best mean validation metric; seeds in brackets"
                   if args.pick == "seeds" else "test metric of the best-validation run; runs in brackets")
            print(f"{metric} ({how})\n")
        print(render(pivot(best, metric, args.paper), args.format, args.digits).rstrip("\n"))
        if args.pick == "best-valid" and args.format != "csv":  # the run behind each cell, to retrain or inspect it
            cells = best[best["metric"] == metric].sort_values(["model", "regulariser", "dataset"])
            print("\nruns of the cells:")
            for _, c in cells.iterrows():
                print(f"  {c['model']} / {c['regulariser']} | {c['dataset']}: {c['run_dir']}")
    drew = True
    if args.plot is not None:
        from rnnbench.tools.report.plots import plot_runs, undrawable

        chosen = best if args.pick == "seeds" else seed_groups(runs)
        written = plot_runs(runs, chosen, args.plot) if not runs.empty else []
        for line in undrawable(runs) if not runs.empty else []:
            print(f"rnnbench-report: no curve for {line}", file=sys.stderr)
        print(f"\n{len(written)} figure files written to {args.plot}", file=sys.stderr)
        drew = bool(written)
    not_ok = runs[runs["status"] != "ok"] if not runs.empty else runs
    if len(not_ok) and args.format != "csv":
        counts = not_ok["status"].value_counts().to_dict()
        print(f"\n{len(runs)} runs read; not ok: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for _, run in not_ok[not_ok["status"] == FLOOR_STATUS].iterrows():
            print(f"  {run['run_dir']}: {run['reason']}")
    if not drew:  # --plot that drew nothing is a failure, not an empty success (issue 32)
        print(f"rnnbench-report: no figure drawn in {args.plot}: no run has a curve", file=sys.stderr)
        return 1
    return 0


def entry() -> int:
    return cli_entry("rnnbench-report", main)


if __name__ == "__main__":
    sys.exit(entry())
