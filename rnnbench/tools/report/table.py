"""Collect results.json files and pivot them: rows model / regulariser, columns data sets.

Two ways to fill a cell, among the runs that ended ``ok``:
- ``seeds`` (default): runs of one configuration that differ only in the seed form a group; the
  cell is the group with the best mean validation metric, its test metric as mean ± std (n);
- ``best-valid``: the test metric of the single run with the best validation metric (the papers'
  selection over a random search), with the number of runs in brackets.
"""
from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from pathlib import Path

import pandas as pd

from rnnbench.config.keys import operational, without  # what may differ between runs pooled over seeds
from rnnbench.tools.report.paper import MUSIC_COLUMNS, PUBLISHED

COLUMN_ORDER = MUSIC_COLUMNS + ("ptb", "sentiment", "synthetic")



def counted(items) -> str:
    """Items counted, in the order they first come: "budget, patience ×2" (how a cell's runs ended, or their
    statuses when none ended ok)."""
    return ", ".join(k if n == 1 else f"{k} ×{n}" for k, n in Counter(items).items())

def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _unusable(r: dict, sel: str, test: str) -> str:
    """Why a results.json cannot fill a cell ("" if it can): every ended run must name its data set,
    and an ``ok`` run needs finite metrics (NaN or Infinity in the file: a run that is not ok)."""
    for key in ("dataset", "model", "regulariser"):
        if not isinstance(r.get(key), str) or not r.get(key):
            return f"no '{key}' (a results.json that rnnbench did not write, or was edited)"
    if r["status"] == "ok":
        for key in (sel, test):
            if not _finite(r.get(key)):
                return f"status ok but {key} is {r.get(key)!r}, not a finite number: left out of the table"
    return ""


def collect(dirs: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    """One row per results.json below ``dirs``; also the files that could not be read."""
    rows, bad = [], []
    for d in dirs:
        for path in sorted(Path(d).rglob("results.json")):
            if not path.is_file():  # a FIFO would block the report forever; a folder is no file
                bad.append(f"{path}: not a regular file")
                continue
            try:
                r = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                bad.append(f"{path}: {e}")
                continue
            if not isinstance(r, dict):
                bad.append(f"{path}: not a JSON object")
                continue
            if not isinstance(r.get("status"), str):
                bad.append(f"{path}: no status (expected ok, diverged or failed)")
                continue
            sel, test = r.get("selection_metric", "valid_nll"), r.get("test_metric", "test_nll")
            problem = _unusable(r, sel, test)
            if problem:
                bad.append(f"{path}: {problem}")
                continue
            row = {"dataset": r.get("dataset"), "model": r.get("model"), "regulariser": r.get("regulariser"),
                   "status": r.get("status"), "reason": r.get("stop_reason"), "metric": test, "valid": r.get(sel),
                   "test": r.get(test),
                   "run_dir": str(path.parent), "group": _config_key(r.get("config"))}
            rows.append(row)
            if f"{test}_mc" in r:  # Monte Carlo evaluation of the same run: a row of its own
                rows.append({**row, "regulariser": f"{row['regulariser']} (MC)", "test": r[f"{test}_mc"]})
    columns = ["dataset", "model", "regulariser", "status", "reason", "metric", "valid", "test", "run_dir", "group"]
    return pd.DataFrame(rows, columns=columns), bad


# Keys added to the schema later, with the default that reproduces the runs made before them:
# absent and default mean the same configuration.
ADDED_WITH_DEFAULT = {("model", "init", "sparse_io"): True}


def _config_key(config) -> str:
    """The configuration without its seed and its operational settings (time budget, device, data
    root, progress bar, ...): runs with equal keys differ only in the seed."""
    if not isinstance(config, dict):
        return ""
    key = without(json.loads(json.dumps(config, default=str)), operational)
    for (*path, leaf), default in ADDED_WITH_DEFAULT.items():
        node = key
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) == default:
            del node[leaf]
    return json.dumps(key, sort_keys=True)


def _usable(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that ended ok with finite numbers (a diverged run's best-so-far model never counts)."""
    return runs[(runs["status"] == "ok") & runs["valid"].map(_finite) & runs["test"].map(_finite)]


def seed_groups(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (metric, model, regulariser, dataset): the configuration (seeds pooled) with the best mean
    validation metric, with its test metric's mean, standard deviation and number of seeds."""
    ok = _usable(runs)
    keys = ["metric", "model", "regulariser", "dataset"]
    if ok.empty:
        return pd.DataFrame(columns=keys + ["group", "valid", "test", "std", "runs", "run_dir"])
    groups = ok.groupby(keys + ["group"]).agg(valid=("valid", "mean"), test=("test", "mean"),
                                              std=("test", lambda x: statistics.stdev(x) if len(x) > 1 else 0.0),
                                              runs=("test", "size"), run_dir=("run_dir", "first")).reset_index()
    best = groups.loc[groups.groupby(keys)["valid"].idxmin()]
    return best.reset_index(drop=True)  # with its "group": the figures draw the same configuration


def best_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (metric, model, regulariser, dataset): the run with the lowest validation metric and
    the number of runs with finite numbers (failed and diverged-before-any-epoch runs have none)."""
    ok = _usable(runs)
    keys = ["metric", "model", "regulariser", "dataset"]
    if ok.empty:
        return pd.DataFrame(columns=keys + ["valid", "test", "runs", "run_dir"])
    best = ok.loc[ok.groupby(keys)["valid"].idxmin()].set_index(keys)
    best["runs"] = ok.groupby(keys).size()
    return best.reset_index()


def _columns(datasets) -> list[str]:
    known = [c for c in COLUMN_ORDER if c in datasets]
    return known + sorted(set(datasets) - set(known))


def pivot(best: pd.DataFrame, metric: str, paper: bool) -> pd.DataFrame:
    """Table for one test metric: index row label, one column per data set (+ ``source``)."""
    best = best[best["metric"] == metric]
    show_paper = paper and metric in PUBLISHED
    published, paper_columns = PUBLISHED[metric] if show_paper else ([], ())
    columns = _columns(set(best["dataset"]) | set(paper_columns))
    # Ours in the order of the paper's rows, each followed by the paper rows of the same setup;
    # setups the papers do not have come after, paper rows without a counterpart last.
    rank = {}
    for i, row in enumerate(published):
        rank.setdefault(row["key"], i)
    entries = []  # (sort key, label, source, {dataset: (value, runs)})
    for (model, reg), group in best.groupby(["model", "regulariser"], sort=True):
        # one run has no measured spread: its cell is 'value (1)', never '± 0.00' (issue 23)
        cells = {row.dataset: (row.test, int(row.runs), getattr(row, "std", None) if int(row.runs) > 1 else None)
                 for row in group.itertuples()}
        entries.append(((rank.get((model, reg), 500), 0, model, reg, 0), f"{model} / {reg}", "rnnbench", cells))
    if show_paper:
        for i, row in enumerate(published):
            cells = {k: (v, None, None) for k, v in row["values"].items() if v is not None}
            order = rank[row["key"]] if row["key"] is not None else 999
            entries.append(((order, 1, "", "", i), f"paper: {row['label']}", row["source"], cells))
    entries.sort(key=lambda e: e[0])
    table = pd.DataFrame(
        [{"row": label, **{c: cells.get(c) for c in columns}, "source": source} for _, label, source, cells in entries],
        columns=["row", *columns, "source"],
    ).set_index("row")
    return table


def render(table: pd.DataFrame, fmt: str, digits: int = 2) -> str:
    """markdown/latex: 'value (runs)' or 'mean ± std (runs)'; csv: numeric value, std and runs columns
    per data set."""
    data_cols = [c for c in table.columns if c != "source"]
    if fmt == "csv":
        out = pd.DataFrame(index=table.index)
        for c in data_cols:
            out[c] = [cell[0] if cell else None for cell in table[c]]
            out[f"{c} runs"] = pd.array([cell[1] if cell else None for cell in table[c]], dtype="Int64")
            if any(cell and cell[2] is not None for cell in table[c]):
                out[f"{c} std"] = [cell[2] if cell else None for cell in table[c]]
        out["source"] = table["source"]
        return out.to_csv()

    def fmt_cell(cell):
        if not cell:
            return "–"
        value, runs, std = cell
        if runs is None:
            return f"{value:.{digits}f}"
        return f"{value:.{digits}f} ({runs})" if std is None else f"{value:.{digits}f} ± {std:.{digits}f} ({runs})"

    shown = table.copy()
    for c in data_cols:
        shown[c] = [fmt_cell(cell) for cell in table[c]]
    if fmt == "latex":
        return shown.to_latex()
    return shown.to_markdown()
