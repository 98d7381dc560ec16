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

import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

from rnnbench.config.keys import operational
from rnnbench.errors import RnnbenchError, Terminated, cli_entry
from rnnbench.config.search import PRUNERS
from rnnbench.tools.args import Parser, count, number
from rnnbench.tools.reproduce.tables import TABLES, Row, Table
from rnnbench.engine.results import FINISHED, read_metrics, read_results, write_text_atomic


def parse_args(argv=None):
    p = Parser(
        prog="rnnbench-reproduce",
        description="Run the rows of a paper's table (presets, or the paper's random search with --search) and "
        "print ours (mean ± std over seeds) next to the published numbers. Tables: " + ", ".join(TABLES),
    )
    p.add_argument("table", help="one of: " + ", ".join(TABLES))
    p.add_argument("--seeds", type=count(1, 1000), default=1, help="seeds 0..N-1 per row and column (default 1, at most 1000)")
    p.add_argument("--rows", help="comma-separated row names (default: all); --dry-run lists them")
    p.add_argument("--datasets", help="comma-separated columns: data sets, or medium,large for 003-t1 (default: all)")
    p.add_argument("--max-seconds", type=number(gt=0), help="time budget of each run (train.max_seconds)")
    p.add_argument("--search", action="store_true", help="run the paper's random search (as populations) where "
                   "the paper reports one, instead of the preset")
    p.add_argument("--pruner", choices=list(PRUNERS), default="none",
                   help="with --search: stop poor members while they train (search.pruner; successive halving, "
                   "hyperband or the median rule, rnnbench/engine/prune.py); the runs go to <row>-search-<pruner>/")
    p.add_argument("--out", type=Path, default=Path("outputs/reproduce"), help="root of the run folders")
    p.add_argument("--dry-run", action="store_true", help="list the runs and their commands, run nothing")
    p.add_argument("--report-only", action="store_true", help="run nothing; print the table of the runs there are")
    p.add_argument("overrides", nargs="*", default=[], help="further rnnbench overrides for every run, "
                   "e.g. device=cuda data.root=...")
    return p.parse_intermixed_args(argv)  # overrides may come before, between or after the options


class UsageError(RnnbenchError):
    pass


def _pick(names: Optional[str], valid: list[str], what: str) -> list[str]:
    if not names:
        return valid
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(unknown)}; valid: {', '.join(valid)}")
    return chosen


def search_suffix(search: bool, pruner: str = "none") -> str:
    """What a search (pruned or not) adds to the names of its folders and of its table: -search[-<pruner>]."""
    return ("-search" + ("" if pruner == "none" else f"-{pruner}")) if search else ""


def cell_dir(out: Path, table: Table, row: Row, col: str, search: bool, pruner: str = "none") -> Path:
    """The folder of one cell's seed runs: OUT/<table>/<row>[-search[-<pruner>]]/<column>/."""
    return out / table.name / (row.folder + search_suffix(search, pruner)) / col


def plan(table: Table, rows: list[Row], columns: list[str], seeds: int, search: bool, out: Path,
         max_seconds: Optional[float], extra: list[str], pruner: str = "none") -> list[tuple[Row, str, int, Path, list[str]]]:
    """(row, column, seed, run folder, rnnbench overrides) of every run to make. Rows that only read
    another row's runs (MC rows) make none."""
    runs = []
    for row in rows:
        if row.run is not None:
            continue
        if search and row.search is None:
            raise UsageError(f"row {row.name} of {table.name}: the paper reports no random search rnnbench can run "
                             "as a population; run it without --search")
        template = row.search if search else row.overrides
        for col in columns:
            if not search and table.column_is_dataset and col not in row.published and row.published:
                continue  # the paper has no number here (002 Table 6 on two sets only)
            if not search and row.columns is not None and col not in row.columns:
                print(f"{row.name} / {col}: no per-set preset yet (not chosen on its validation set): not run",
                      file=sys.stderr)
                continue
            for seed in range(seeds):
                folder = cell_dir(out, table, row, col, search, pruner) / f"seed-{seed}"
                args = [o.replace("{col}", col) for o in template] + [f"seed={seed}", "train.progress=false"]
                if pruner != "none":
                    args.append(f"search.pruner={pruner}")
                if max_seconds is not None:
                    args.append(f"train.max_seconds={max_seconds}")
                runs.append((row, col, seed, folder, args + list(extra)))
    return runs


def _selected(folder: Path) -> Optional[dict]:
    """The results of a run folder: the run itself, or for a search the member with the best
    validation metric among those that ended ok (selection by validation only)."""
    own = read_results(folder / "results.json")
    members = [r for r in (read_results(p) for p in sorted(folder.glob("members/*/results.json"))) if r]
    if not members:  # a single run, or a search whose first group trains
        return own if own is not None or not (folder / "members").is_dir() else {
            "status": "running", "search_members": 0, "search_n": _search_n(folder), "wall_s": 0.0}
    def valid(r):
        v = r.get(r.get("selection_metric", "valid_nll"))
        return v if isinstance(v, (int, float)) and math.isfinite(v) and r.get("status") == "ok" else math.inf
    best = min(members, key=valid)
    search = read_results(folder / "population.json") or {}
    chosen = best if valid(best) < math.inf else (own or best)
    # finished: population.json is written when a search's command ends, and none of its latest groups was
    # interrupted (a killed command writes none; an interrupted one records its groups as interrupted)
    finished = bool(search) and not any(g.get("ended") == "interrupted" for g in search.get("groups", []))
    # a finished search's time is the whole search's wall; a running one's the members' training time so far
    wall = search.get("wall_s") if finished else sum(r.get("wall_s") or 0.0 for r in members)
    return {**chosen, "search_members": len(members), "search_n": _search_n(folder), "wall_s": wall,
            "unpruned": sum(r.get("status") != "pruned" for r in members),
            "status": chosen.get("status") if finished else "running"}


def _search_n(folder: Path) -> Optional[int]:
    """search.n of the search run in ``folder`` (its .hydra/config.yaml), None where none was recorded."""
    try:
        return int(OmegaConf.load(folder / ".hydra" / "config.yaml").search.n)
    except Exception:  # no record (members copied in), or one without the key
        return None


def run_all(runs, dry_run: bool) -> None:
    cmd = [sys.executable, "-m", "rnnbench.cli"]
    for i, (row, col, seed, folder, args) in enumerate(runs, 1):
        head = f"[{i}/{len(runs)}] {row.name} / {col} / seed {seed}"
        if dry_run:
            print(f"{head}: rnnbench {' '.join(args)} hydra.run.dir={folder}")
            continue
        done = _selected(folder)
        if done and done.get("status") in FINISHED:
            other = other_overrides(folder, args)
            if other:
                print(f"{head}: finished before with other settings (its overrides differ in {', '.join(other)}), "
                      f"not run again; the table below still reads it: delete {folder} or use another --out",
                      file=sys.stderr, flush=True)
                continue
            print(f"{head}: finished before ({done.get('status')}), {folder}", flush=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{head}: running in {folder}", flush=True)
        t0 = time.perf_counter()
        log = folder.parent / f"{folder.name}.out"
        with open(log, "w") as out:
            rc = _run_child(cmd + args + [f"hydra.run.dir={folder}"], out)
        r = _selected(folder) or {}
        if rc != 0 and r.get("status") not in FINISHED:  # refused, failed or interrupted: say why, from its output
            last = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-1:] or [""]
            print(f"{head}: exit {rc}: {last[0]} ({log})", file=sys.stderr, flush=True)
            continue
        print(f"{head}: {r.get('status', f'no results (exit {rc})')}, {r.get('test_metric', '')} "
              f"{r.get(r.get('test_metric', ''), '')} ({time.perf_counter() - t0:.0f} s)", flush=True)


def _run_child(cmd: list[str], out) -> int:
    """Run one rnnbench command to its end (its exit status). An interruption of this command is passed on and
    waited for, so that the run stops as it would alone (its checkpoints kept, a search's record written): SIGTERM
    at once, Ctrl-C after a few seconds (a terminal's reaches the child too; a `kill -INT` of this process alone
    does not)."""
    child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        return child.wait()
    except KeyboardInterrupt as e:
        try:
            child.wait(timeout=0 if isinstance(e, Terminated) else 5)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        raise


def _override_map(overrides) -> dict[str, str]:
    """Hydra overrides by the key they set (``+k=v``, ``++k=v``, ``~k`` and ``k=v`` all name ``k``)."""
    return {str(o).lstrip("~+").split("=", 1)[0]: str(o) for o in overrides}


def other_overrides(folder: Path, args: list[str]) -> list[str]:
    """The keys in which the overrides recorded by the finished run in ``folder`` (.hydra/overrides.yaml) differ
    from this command's ``args``; none where nothing was recorded (members copied in by hand). How a run is
    executed (OPERATIONAL: data root, device, progress bar, dispatch, fuse, ...; what rnnbench-report pools across) is
    not compared, the time budget only where one of the folder's runs was stopped by it, the seed always."""
    path = folder / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        recorded = _override_map(OmegaConf.to_container(OmegaConf.load(path)))
    except Exception:  # unreadable: say so rather than reuse a run of unknown settings
        return [f"{path} (unreadable)"]
    budget = any(str((read_results(p) or {}).get("stop_reason") or "").startswith("time budget")
                 for p in [folder / "results.json", *folder.glob("members/*/results.json")])
    now = _override_map(args)
    return [k for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)
            and not (operational(k, seed=False) and (k != "train.max_seconds" or not budget))]


def _ended_by(r: dict) -> str:
    """Why a run's training ended, in a word: patience, budget, max epochs, or its status."""
    reason = str(r.get("stop_reason") or "")
    if r.get("status") == "running" and "search_members" in r:  # a search not finished: how far it is
        return f"running ({r['search_members']} of {r.get('search_n') or '?'} members)"
    if r.get("status") != "ok":
        return str(r.get("status"))
    if reason.startswith("no improvement"):
        return "patience"
    if reason.startswith("time budget"):
        return "budget"
    return "max epochs" if reason == "max_epochs" else (reason or "?")


def _fmt(x: Optional[float], digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def summarise(table: Table, search: bool, out: Path, pruner: str = "none") -> list[dict]:
    """One line per (row, column) of the whole table: ours over the seeds that ended ok, published,
    gap, the runs that did not end ok. Every seed folder there is counts, whichever call made it."""
    lines = []
    for row in table.rows:
        for col in table.columns:
            if table.column_is_dataset and row.published and col not in row.published:
                continue
            values, seeds, wall, other, devices, commits, ended = [], [], 0.0, [], set(), set(), []
            for folder in sorted(cell_dir(out, table, row, col, search, pruner).glob("seed-*")):
                r = _selected(folder)
                if r is None:
                    continue
                value = r.get(row.read or table.metric)
                if r.get("status") == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
                    values.append(value)
                    seeds.append(folder.name)
                else:
                    other.append(str(r.get("status")))
                wall += r.get("wall_s") or 0.0
                ended.append(_ended_by(r))
                if pruner != "none" and "search_members" in r:  # how many members reached the last rung
                    ended.append(f"{r['unpruned']}/{r['search_members']} members not pruned")
                devices.add(str(r.get("device", "?")))
                commits.add(str(r.get("commit") or "?"))
            published = row.published.get(col)
            mean = statistics.fmean(values) if values else None
            std = statistics.stdev(values) if len(values) > 1 else None  # one seed has no measured spread
            gap = 100 * (mean - published) / published if mean is not None and published else None
            lines.append(dict(row=row.name, column=col, mean=mean, std=std, n=len(values), values=dict(zip(seeds, values)),
                              published=published,
                              gap=gap, other=other, wall_s=wall, source=row.source, device=", ".join(sorted(devices)),
                              commit=", ".join(sorted(commits)),
                              ended=", ".join(f"{k} ×{ended.count(k)}" if ended.count(k) > 1 else k
                                              for k in dict.fromkeys(ended))))
    return lines


def floors(table: Table, columns: list[str]) -> list[dict]:
    """The task's trivial floors on the test split, fitted on the training split."""
    from rnnbench.tools.reproduce.floors import table_floors

    return table_floors(table, columns)


def flag_floors(lines: list[dict], floor_lines: list[dict]) -> None:
    """Mark, among a cell's runs that ended ok, each seed whose test number is not below the column's
    strongest trivial floor (the lowest; copy-previous on the music sets), and the mean when it is not:
    such a cell has not learned the task (issue 31, item 5), so the table says so beside its number."""
    for ln in lines:
        floors = [fl for fl in floor_lines if fl["column"] == ln["column"]]
        if not floors or ln["mean"] is None:
            continue
        best = min(floors, key=lambda fl: fl["value"])
        what = f"{best['name']} floor {best['value']:.3f}"
        above = [seed for seed, value in ln["values"].items() if value >= best["value"]]
        if above:
            ln["other"].append(f"{', '.join(above)} ≥ {what}")
        if ln["mean"] >= best["value"]:
            ln["other"].append(f"mean ≥ {what}")


def curves(table: Table, search: bool, out: Path) -> str:
    """For tasks that log the test metric every epoch (sentiment: 003 §5.2 shows curves, not a
    table): one row per epoch, one column per run (row / column / seed), from metrics.csv."""
    metric = table.metric
    series = {}
    for row in table.rows:
        if row.run is not None:
            continue
        for col in table.columns:
            for folder in sorted(cell_dir(out, table, row, col, search).glob("seed-*")):
                m = read_metrics(folder)
                values = {int(e): v for e, v in zip(m.get("epoch", []), m.get(metric, []))
                          if not (math.isnan(e) or math.isnan(v))}
                if values:
                    label = row.name + ("" if len(table.columns) == 1 else f" / {col}") + f" / {folder.name}"
                    series[label] = values
    if not series:
        return ""
    epochs = sorted({e for v in series.values() for e in v})
    lines = [f"\n### {metric} per epoch\n", "| epoch | " + " | ".join(series) + " |",
             "| --- |" + " --- |" * len(series)]
    for e in epochs:
        lines.append(f"| {e} | " + " | ".join(f"{v[e]:.4f}" if e in v else "" for v in series.values()) + " |")
    return "\n".join(lines) + "\n"


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
        columns = _pick(args.datasets, list(table.columns), "column")
        if args.pruner != "none" and not args.search:
            raise UsageError("--pruner prunes the members of a search: add --search")
        runs = plan(table, rows, columns, args.seeds, args.search, args.out, args.max_seconds, args.overrides, args.pruner)
    except UsageError as e:
        print(f"rnnbench-reproduce: error: {e}", file=sys.stderr)
        return 2
    if not args.report_only:
        run_all(runs, args.dry_run)
    if args.dry_run:
        return 0
    lines = summarise(table, args.search, args.out, args.pruner)
    try:
        floor_lines = floors(table, sorted({ln["column"] for ln in lines if ln["n"] or ln["other"]},
                                           key=table.columns.index))
    except Exception as e:  # the floors need the data; the table stands without them
        print(f"rnnbench-reproduce: floors not computed: {e}", file=sys.stderr)
        floor_lines = []
    flag_floors(lines, floor_lines)
    text = render(table, lines, floor_lines, args.search)
    if table.metric == "test_rmse":  # the runs log their test curve (sentiment): show it
        text += curves(table, args.search, args.out)
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
