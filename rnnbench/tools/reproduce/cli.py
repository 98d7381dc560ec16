"""``rnnbench-reproduce TABLE``: run a seed table's rows through the ordinary runner and print the
ours-vs-published table.

Every run is an ordinary ``rnnbench`` run (a subprocess) in
``OUT/<table>/<row>/<column>/seed-<k>/``, so ``rnnbench-report`` reads it like any other. A run
folder that already holds a results.json is reused, never run again: an interrupted reproduction
continues where it stopped (delete a folder to run it again); a finished folder whose run was made with
other overrides is not run again, and is named with the keys that differ. The table (also written to
``OUT/<table>/reproduction.md``) gives per row and column our test metric as mean ± std over the
seeds whose run ended ``ok`` (n), the published number, the gap in %, the runs that diverged or
failed, and the trivial floors of the task as reference rows (rnnbench/floors.py). Selection is by
validation only: a search contributes the member with the best validation metric of each seed.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from rnnbench.config.search import PRUNERS
from rnnbench.engine.results import write_text_atomic
from rnnbench.errors import cli_entry
from rnnbench.tools.args import Parser, count, number
from rnnbench.tools.reproduce.cells import curves, flag_floors, floors, search_suffix, summarise
from rnnbench.tools.reproduce.runs import UsageError, plan, run_all
from rnnbench.tools.reproduce.tables import TABLES, Table


def parse_args(argv=None):
    p = Parser(
        prog="rnnbench-reproduce",
        description="Run the rows of a paper's table (presets, or the paper's random search with --search) and "
        "print ours (mean ± std over seeds) next to the published numbers. Tables: " + ", ".join(TABLES),
    )
    p.add_argument("table", help="one of: " + ", ".join(TABLES))
    p.add_argument("--seeds", type=count(1, 1000), default=1, help="seeds 0..N-1 per row and column (default 1, at most 1000)")
    p.add_argument("--rows", help="comma-separated row names (default: all; with --search: all that have one); "
                   "--dry-run lists them")
    p.add_argument("--datasets", help="comma-separated columns: data sets, or medium,large for 003-t1 (default: all)")
    p.add_argument("--max-seconds", type=number(gt=0), help="time budget of each run (train.max_seconds)")
    p.add_argument("--search", action="store_true", help="run the paper's random search (as populations) where "
                   "the paper reports one, instead of the preset")
    p.add_argument("--pruner", choices=list(PRUNERS), default="none",
                   help="with --search: stop poor members while they train (search.pruner; successive halving, "
                   "hyperband or the median rule, rnnbench/engine/prune.py); the runs go to <row>-search-<pruner>/")
    p.add_argument("--out", type=Path, default=Path("outputs/reproduce"), help="root of the run folders")
    p.add_argument("--dry-run", action="store_true", help="list the runs and their commands, run nothing")
    p.add_argument("--report-only", action="store_true", help="run nothing; print the table of the runs there are "
                   "(the whole table under --out, whatever --rows and --datasets choose: the table is one report)")
    p.add_argument("--from", dest="roots", type=Path, action="append", metavar="DIR",
                   help="with --report-only: read the runs from DIR instead of --out (repeat it: each cell is read "
                   "from the last DIR that holds runs of it, whole); the table is still written under --out")
    p.add_argument("overrides", nargs="*", default=[], help="further rnnbench overrides for every run, "
                   "e.g. device=cuda data.root=...")
    return p.parse_intermixed_args(argv)  # overrides may come before, between or after the options


def _pick(names: Optional[str], valid: list[str], what: str) -> list[str]:
    if not names:
        return valid
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(unknown)}; valid: {', '.join(valid)}")
    return chosen


def _fmt(x: Optional[float], digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def render(table: Table, lines: list[dict], floor_lines: list[dict], search: bool) -> str:
    head = (f"## {table.title}\n\n{'Random search (best validation per seed)' if search else 'Paper presets'}; "
            f"metric `{table.metric}`, ours = mean ± std over the seeds whose run ended ok (n; one seed: its number, no spread); gap = (ours − "
            f"published) / published; not ok = the runs that did not end ok, and the seeds (and a mean) whose number is not "
            f"below the strongest trivial floor of its column.\n\n")
    out = ["| row | " + ("data set" if table.column_is_dataset else "size") + " | ours | published | gap | "
           "not ok | ended by | wall (s) | device | commit | source |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    ran = [ln for ln in lines if ln["n"] or ln["other"]]
    if ran and len(ran) < len(lines):
        head += f"Cells without runs are left out ({len(lines) - len(ran)}; `--report-only` before any run lists them).\n\n"
    for ln in ran or lines:
        ours = ("–" if ln["mean"] is None else f"{ln['mean']:.3f} ({ln['n']})" if ln["std"] is None
                else f"{ln['mean']:.3f} ± {ln['std']:.3f} ({ln['n']})")
        gap = "–" if ln["gap"] is None else f"{ln['gap']:+.1f}%"
        other = ", ".join(ln["other"]) or ""
        out.append(f"| {ln['row']} | {ln['column']} | {ours} | {_fmt(ln['published'])} | {gap} | {other} | "
                   f"{ln['ended']} | {ln['wall_s']:.0f} | {ln['device']} | {ln['commit']} | {ln['source']} |")
    for fl in floor_lines:
        out.append(f"| floor: {fl['name']} | {fl['column']} | {fl['value']:.3f} | | | | | | | | {fl['source']} |")
    return head + "\n".join(out) + "\n"


def sources(lines: list[dict]) -> str:
    """Which root each cell with runs was read from (``--from`` given more than once)."""
    by_root: dict = {}
    for ln in lines:
        if ln["root"] is not None:
            by_root.setdefault(ln["root"], []).append(f"{ln['row']}/{ln['column']}")
    return ("\nRuns read from (each cell from the last `--from` folder that holds runs of it): " +
            "; ".join(f"`{root}`: {', '.join(cells)}" for root, cells in by_root.items()) + ".\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.table not in TABLES:
        print(f"rnnbench-reproduce: error: unknown table '{args.table}'; valid: {', '.join(TABLES)}", file=sys.stderr)
        return 2
    table = TABLES[args.table]
    try:
        if args.seeds < 1:
            raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
        if args.max_seconds is not None and args.max_seconds <= 0:
            raise UsageError(f"--max-seconds must be > 0, got {args.max_seconds}")
        rows = [r for r in table.rows if r.name in _pick(args.rows, [r.name for r in table.rows], "row")]
        if args.search and args.rows is None:  # every row the paper searched (a row named with --rows must have one)
            rows = [r for r in rows if r.search is not None or r.run is not None]
            if not any(r.search is not None for r in rows):
                raise UsageError(f"no row of {table.name} has a random search rnnbench can run; run it without --search")
        columns = _pick(args.datasets, list(table.columns), "column")
        if args.pruner != "none" and not args.search:
            raise UsageError("--pruner prunes the members of a search: add --search")
        if args.roots and not args.report_only:
            raise UsageError("--from names folders to report from: add --report-only (runs go to --out)")
        missing = [str(d) for d in args.roots or [] if not d.is_dir()]
        if missing:
            raise UsageError(f"--from: no such folder: {', '.join(missing)}")
        runs = plan(table, rows, columns, args.seeds, args.search, args.out, args.max_seconds, args.overrides, args.pruner)
    except UsageError as e:
        print(f"rnnbench-reproduce: error: {e}", file=sys.stderr)
        return 2
    if not args.report_only:
        run_all(runs, args.dry_run)
    if args.dry_run:
        return 0
    roots = args.roots or [args.out]
    lines = summarise(table, args.search, roots, args.pruner)
    try:
        floor_lines = floors(table, sorted({ln["column"] for ln in lines if ln["n"] or ln["other"]},
                                           key=table.columns.index))
    except Exception as e:  # the floors need the data; the table stands without them
        print(f"rnnbench-reproduce: floors not computed: {e}", file=sys.stderr)
        floor_lines = []
    flag_floors(lines, floor_lines)
    text = render(table, lines, floor_lines, args.search)
    if len(roots) > 1:
        text += sources(lines)
    if table.metric == "test_rmse":  # the runs log their test curve (sentiment): show it
        text += curves(table, args.search, roots)
    print("\n" + text)
    stem = "reproduction" + search_suffix(args.search, args.pruner)
    path = args.out / table.name / f"{stem}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    print(f"written to {path}")
    if any(ln["mean"] is not None for ln in lines):  # the same table as a figure, beside it
        import matplotlib.pyplot as plt

        from rnnbench.tools.report.plots import YLABELS, published_bars, published_panels

        how = (f"random search{'' if args.pruner == 'none' else ', pruned by ' + args.pruner}, best validation per seed"
               if args.search else "presets")
        draw = published_panels if table.column_is_dataset else published_bars  # data sets: a panel each
        fig, files = draw(lines, floor_lines, f"{table.title}: {how}", YLABELS[table.metric], path.parent, path.stem)
        plt.close(fig)
        print(f"figure: {files[0]}")
    return 0


def entry() -> int:
    return cli_entry("rnnbench-reproduce", main, "interrupted; run the same command again to continue")


if __name__ == "__main__":
    sys.exit(entry())
