"""The cells of a table as rnnbench-reproduce lays them out and reads them: one folder per (row, column)
(``OUT/<table>/<row>[-search[-<pruner>]]/<column>/seed-<k>/``), each seed's run or search read as one result
(a search: the member its validation chose, once the search has ended), and a table's lines with the floors.
Selection is by validation only."""
from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Optional, Sequence

from omegaconf import OmegaConf

from rnnbench.engine.results import budget_stopped, read_metrics, read_results
from rnnbench.tools.report.table import counted
from rnnbench.tools.reproduce.tables import Row, Table


def search_suffix(search: bool, pruner: str = "none") -> str:
    """What a search (pruned or not) adds to the names of its folders and of its table: -search[-<pruner>]."""
    return ("-search" + ("" if pruner == "none" else f"-{pruner}")) if search else ""


def cell_dir(out: Path, table: Table, row: Row, col: str, search: bool, pruner: str = "none") -> Path:
    """The folder of one cell's seed runs: OUT/<table>/<row>[-search[-<pruner>]]/<column>/."""
    return out / table.name / (row.folder + search_suffix(search, pruner)) / col


def seed_folders(roots: Sequence[Path], table: Table, row: Row, col: str, search: bool,
                 pruner: str = "none") -> tuple[Optional[Path], list[Path]]:
    """The seed folders of one cell and their root: the last of ``roots`` that holds any (``rnnbench-reproduce
    --report-only --from A --from B``: a cell measured again in B replaces A's, whole; one root: its folders)."""
    for root in reversed(roots):
        folders = sorted(cell_dir(root, table, row, col, search, pruner).glob("seed-*"))
        if folders:
            return root, folders
    return None, []


def selected(folder: Path) -> Optional[dict]:
    """The results of a run folder: the run itself, or for a search the member with the best
    validation metric among those that ended ok (selection by validation only)."""
    own = read_results(folder / "results.json")
    members = [r for r in (read_results(p) for p in sorted(folder.glob("members/*/results.json"))) if r]
    if not members:  # a single run, or a search whose first group trains
        return own if own is not None or not (folder / "members").is_dir() else {
            "status": "running", "search_members": 0, "search_n": search_n(folder), "wall_s": 0.0}
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
    return {**chosen, "search_members": len(members), "search_n": search_n(folder), "wall_s": wall,
            "unpruned": sum(r.get("status") != "pruned" for r in members),
            "status": chosen.get("status") if finished else "running"}


def search_n(folder: Path) -> Optional[int]:
    """search.n of the search run in ``folder``: its .hydra/config.yaml, else the n_members of its population.json
    (a committed folder, its members copied in); None where neither records it."""
    try:
        return int(OmegaConf.load(folder / ".hydra" / "config.yaml").search.n)
    except Exception:  # no record (members copied in), or one without the key
        n = (read_results(folder / "population.json") or {}).get("n_members")
        return n if isinstance(n, int) else None


def progress(folder: Path) -> str:
    """How far the run in ``folder`` has come, in a few words (rnnbench-reproduce's progress lines): a search's
    finished members and the best validation among those that ended ok (validation only), a run's epochs."""
    if (folder / "members").is_dir():
        members = [r for r in (read_results(p) for p in sorted(folder.glob("members/*/results.json"))) if r]
        ok = [r.get(r.get("selection_metric", "valid_nll")) for r in members if r.get("status") == "ok"]
        ok = [v for v in ok if isinstance(v, (int, float)) and math.isfinite(v)]
        best = f", best validation so far {min(ok):.4f}" if ok else ""
        return f"{len(members)} of {search_n(folder) or '?'} members finished{best}"
    epochs = len(next(iter(read_metrics(folder).values()), []))
    return f"epoch {epochs} done" if epochs else "starting"


def ended_by(r: dict) -> str:
    """Why a run's training ended, in a word: patience, budget, max epochs, or its status."""
    reason = str(r.get("stop_reason") or "")
    if r.get("status") == "running" and "search_members" in r:  # a search not finished: how far it is
        return f"running ({r['search_members']} of {r.get('search_n') or '?'} members)"
    if r.get("status") != "ok":
        return str(r.get("status"))
    if reason.startswith("no improvement"):
        return "patience"
    if budget_stopped(r):
        return "budget"
    return "max epochs" if reason == "max_epochs" else (reason or "?")


def summarise(table: Table, search: bool, roots: Sequence[Path], pruner: str = "none") -> list[dict]:
    """One line per (row, column) of the whole table: ours over the seeds that ended ok, published,
    gap, the runs that did not end ok, and the root its runs were read from (``seed_folders``). Every seed
    folder of that root counts, whichever call made it."""
    lines = []
    for row in table.rows:
        for col in table.columns:
            if table.column_is_dataset and row.published and col not in row.published:
                continue
            values, seeds, wall, other, devices, commits, ended, samples = [], [], 0.0, [], set(), set(), [], set()
            root, folders = seed_folders(roots, table, row, col, search, pruner)
            for folder in folders:
                r = selected(folder)
                if r is None:
                    continue
                value = r.get(row.read or table.metric)
                if r.get("status") == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
                    values.append(value)
                    seeds.append(folder.name)
                else:
                    other.append(str(r.get("status")))
                wall += r.get("wall_s") or 0.0
                ended.append(ended_by(r))
                if pruner != "none" and "search_members" in r:  # how many members reached the last rung
                    ended.append(f"{r['unpruned']}/{r['search_members']} members not pruned")
                devices.add(str(r.get("device", "?")))
                commits.add(str(r.get("commit") or "?"))
                if row.read is None and r.get("is_samples"):  # STORN's importance samples (another read: its own K)
                    samples.add(int(r["is_samples"]))
            published = row.published.get(col)
            mean = statistics.fmean(values) if values else None
            std = statistics.stdev(values) if len(values) > 1 else None  # one seed has no measured spread
            gap = 100 * (mean - published) / published if mean is not None and published else None
            lines.append(dict(row=row.name, column=col, mean=mean, std=std, n=len(values), values=dict(zip(seeds, values)),
                              published=published,
                              gap=gap, other=other, wall_s=wall, source=row.source + _samples(samples), device=", ".join(sorted(devices)),
                              commit=", ".join(sorted(commits)),
                              ended=counted(ended), root=root))
    return lines


def _samples(ks: set) -> str:
    """The importance samples per sequence a cell's runs were evaluated with, as its source says them."""
    return f", K = {' / '.join(f'{k:,}' for k in sorted(ks))}" if ks else ""


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


def curves(table: Table, search: bool, roots: Sequence[Path]) -> str:
    """For tasks that log the test metric every epoch (sentiment: 003 §5.2 shows curves, not a
    table): one row per epoch, one column per run (row / column / seed) and one more for its Monte Carlo
    curve where it logged one (eval.mc_curve), from metrics.csv (each cell's seed folders as ``summarise``
    reads them)."""
    metric = table.metric
    series = {}
    for row in table.rows:
        if row.run is not None:
            continue
        for col in table.columns:
            for folder in seed_folders(roots, table, row, col, search)[1]:
                m = read_metrics(folder)
                label = row.name + ("" if len(table.columns) == 1 else f" / {col}") + f" / {folder.name}"
                for column, suffix in ((metric, ""), (f"{metric}_mc", " (MC)")):  # eval.mc_curve: the MC curve too
                    values = {int(e): v for e, v in zip(m.get("epoch", []), m.get(column, []))
                              if not (math.isnan(e) or math.isnan(v))}
                    if values:
                        series[label + suffix] = values
    if not series:
        return ""
    epochs = sorted({e for v in series.values() for e in v})
    lines = [f"\n### {metric} per epoch\n", "| epoch | " + " | ".join(series) + " |",
             "| --- |" + " --- |" * len(series)]
    for e in epochs:
        lines.append(f"| {e} | " + " | ".join(f"{v[e]:.4f}" if e in v else "" for v in series.values()) + " |")
    return "\n".join(lines) + "\n"
