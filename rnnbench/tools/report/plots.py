"""Figures of the runs under a folder (``rnnbench-report --plot OUT``), written as PNG and PDF with
matplotlib's non-interactive backend; each function also returns its Figure so that tests can read
what is drawn.

- ``curves-<dataset>``: the training and validation metric per epoch (sentiment: training MSE and
  test RMSE, the form of 003's figure, with the Monte Carlo test RMSE dotted where the runs logged it:
  eval.mc_curve), one line per model / regulariser (the configuration the table shows for it), its
  seeds as mean ± one standard deviation;
- ``spectral-radius-<dataset>``: ρ(W_rec) per epoch of the sRNN runs (000 Fig. 2);
- ``published_bars``: ours (mean ± std over seeds, a dot with its error bar) against the published
  numbers of a seed table, with the task's trivial floors as dashed lines and cells without a number
  marked "not run" or with why (rnnbench-reproduce writes it beside its table).

Every figure is in the house style (rnnbench/tools/figures.py): TrueType fonts in the PDF, one or two
columns wide, lines told apart by colour and line style, log axes ticked with plain numbers.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rnnbench.engine.results import read_metrics
from rnnbench.tools.figures import plain_log_ticks, plt, save, size, styles, use_style
from rnnbench.tools.report.table import counted

# per test metric: (training column, its label), (validation column, its label), y-axis label
PANELS = {
    "test_nll": (("train_nll", "training"), ("valid_nll", "validation"), "NLL (nats per frame)"),
    "test_ppl": (("train_ppl", "training"), ("valid_ppl", "validation"), "perplexity (per word)"),
    "test_rmse": (("train_mse", "training MSE (standardised)"), ("test_rmse", "test RMSE"), None),
}

MC_CURVE = {"test_rmse": "test_rmse_mc"}  # the Monte Carlo curve drawn beside a test panel's (eval.mc_curve), dotted


def _read_metrics(run_dir: str) -> dict[str, np.ndarray]:
    """metrics.csv as {column: float array}, epochs in order; empty cells are NaN."""
    return {key: np.array(values) for key, values in read_metrics(Path(run_dir)).items()}


def _series(run_dirs: list[str], column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, mean, std) of ``column`` over the runs; epochs where any run has a value."""
    curves = [m for m in map(_read_metrics, run_dirs) if column in m and "epoch" in m]
    if not curves:
        return np.array([]), np.array([]), np.array([])
    length = max(len(c["epoch"]) for c in curves)
    stack = np.full((len(curves), length), np.nan)
    for i, c in enumerate(curves):
        stack[i, : len(c[column])] = c[column]
    epochs = np.arange(1, length + 1)
    with warnings.catch_warnings():  # an epoch that only some seeds reached, or none has a value for
        warnings.simplefilter("ignore", RuntimeWarning)
        return epochs, np.nanmean(stack, 0), np.nan_to_num(np.nanstd(stack, 0))


def _with_curves(chosen: pd.DataFrame) -> pd.DataFrame:
    """The table's cells that have a curve: a "(MC)" row is the same run evaluated by Monte Carlo,
    whose curve is its deterministic row's."""
    return chosen[~chosen["regulariser"].astype(str).str.endswith("(MC)")]


def learning_curves(chosen: pd.DataFrame, runs: pd.DataFrame, dataset: str, metric: str, out: Path):
    """One figure for ``dataset``: a training and a validation panel, a line (mean ± std over the
    seeds) per model / regulariser. ``chosen`` holds the configuration picked per cell (its
    ``group``), ``runs`` every run. Returns (figure, written paths)."""
    (train_col, train_label), (valid_col, valid_label), ylabel = PANELS[metric]
    ylabel = ylabel or "RMSE ([0, 1] rating scale)"
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=size(2, 2.8), sharex=True)
    chosen = _with_curves(chosen)
    cells = list(chosen[(chosen["dataset"] == dataset) & (chosen["metric"] == metric)].itertuples())
    for row, style in zip(cells, styles(len(cells))):
        dirs = list(runs[(runs["dataset"] == dataset) & (runs["model"] == row.model) &
                         (runs["regulariser"] == row.regulariser) & (runs["group"] == row.group) &
                         (runs["status"] == "ok")]["run_dir"].unique())
        label = f"{row.model} / {row.regulariser} ({len(dirs)} seed{'s' if len(dirs) != 1 else ''})"
        for ax, col in zip(axes, (train_col, valid_col)):
            epochs, mean, std = _series(dirs, col)
            if len(epochs):
                ax.plot(epochs, mean, label=label, linewidth=1, markersize=3, **style)
                ax.fill_between(epochs, mean - std, mean + std, color=style["color"], alpha=0.15, linewidth=0)
        if metric not in MC_CURVE:
            continue
        epochs, mean, _ = _series(dirs, MC_CURVE[metric])  # eval.mc_curve: the curve 003 §5.2 plots
        if len(epochs):
            axes[1].plot(epochs, mean, label=f"{label}, MC", linewidth=1, color=style["color"], linestyle="dotted")
    axes[0].set_ylabel("MSE (standardised targets)" if metric == "test_rmse" else ylabel)
    axes[1].set_ylabel(ylabel)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        if metric != "test_rmse" and ax.lines:  # the first epochs sit far above the rest
            ax.set_yscale("log")
            plain_log_ticks(ax)
    # every run that did not end ok gets its own dashed line, its status in the legend (issue 33): the run a
    # user most wants to look at, one that diverged or did not learn, has a picture too
    others = runs[(runs["dataset"] == dataset) & (runs["metric"] == metric) & (runs["status"] != "ok")]
    for row, style in zip(others.itertuples(), styles(len(others))):
        label = f"{row.model} / {row.regulariser}: {row.status} ({Path(str(row.run_dir)).name})"
        for ax, col in zip(axes, (train_col, valid_col)):
            epochs, mean, _ = _series([row.run_dir], col)
            if len(epochs):
                ax.plot(epochs, mean, label=label, linewidth=0.8, linestyle="dashed", color=style["color"])
    axes[0].set_title(f"{dataset}: {train_label}")
    axes[1].set_title(f"{dataset}: {valid_label}")
    if axes[1].lines:
        axes[1].legend(fontsize=6)
    fig.tight_layout()
    if not any(ax.lines for ax in axes):  # no run of this set has a curve: no empty figure (undrawable says why)
        return fig, []
    return fig, save(fig, out, f"curves-{dataset}")


def spectral_radius(chosen: pd.DataFrame, runs: pd.DataFrame, dataset: str, out: Path):
    """ρ(W_rec) per epoch of the sRNN configurations on ``dataset`` (000 Fig. 2)."""
    use_style()
    fig, ax = plt.subplots(figsize=size(1))
    chosen = _with_curves(chosen)
    cells = list(chosen[(chosen["dataset"] == dataset) & (chosen["model"] == "srnn")].itertuples())
    for row, style in zip(cells, styles(len(cells))):
        dirs = list(runs[(runs["dataset"] == dataset) & (runs["model"] == row.model) &
                         (runs["regulariser"] == row.regulariser) & (runs["group"] == row.group) &
                         (runs["status"] == "ok")]["run_dir"].unique())
        epochs, mean, std = _series(dirs, "spectral_radius")
        if len(epochs):
            ax.plot(epochs, mean, label=f"srnn / {row.regulariser}", linewidth=1, markersize=3, **style)
            ax.fill_between(epochs, mean - std, mean + std, color=style["color"], alpha=0.15, linewidth=0)
    ax.set_title(f"{dataset}: spectral radius of W_rec")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ρ(W_rec)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    return fig, (save(fig, out, f"spectral-radius-{dataset}") if ax.lines else [])


def undrawable(runs: pd.DataFrame) -> list[str]:
    """The runs without a curve to draw (metrics.csv missing, empty or without epochs), each with why."""
    out = []
    for run_dir in runs["run_dir"].unique():
        m = read_metrics(Path(run_dir))
        if not m or not len(m.get("epoch", [])):
            why = "no metrics.csv" if not (Path(run_dir) / "metrics.csv").is_file() else "metrics.csv holds no epochs"
            out.append(f"{run_dir} ({why})")
    return out


def plot_runs(runs: pd.DataFrame, chosen: pd.DataFrame, out: Path) -> list[Path]:
    """Every figure for the runs: learning curves per data set and test metric (the chosen configurations,
    and every run that did not end ok), and the spectral radius where there are sRNN runs. Returns the files
    written."""
    written = []
    for (dataset, metric), _ in runs.groupby(["dataset", "metric"]):
        if metric not in PANELS:
            continue
        fig, paths = learning_curves(chosen, runs, dataset, metric, out)
        written += paths
        plt.close(fig)
        if metric == "test_nll" and (chosen[chosen["dataset"] == dataset]["model"] == "srnn").any():
            fig, paths = spectral_radius(chosen, runs, dataset, out)
            written += paths
            plt.close(fig)
    return written


def published_bars(lines: list[dict], floors: list[dict], title: str, ylabel: str, out: Path, stem: str):
    """Ours (mean ± std over seeds: a dot with its error bar) next to the published number (a black bar)
    for each row and column of a seed table; the task's floors as dashed lines over their column; a cell
    without a number of ours says why ("not run", or the statuses of its runs). The axis spans the numbers,
    not zero, so that 116 against 114.5 shows. Returns (figure, written paths)."""
    use_style()
    cells = [ln for ln in lines if ln["mean"] is not None or ln["published"] is not None]
    columns = list(dict.fromkeys(ln["column"] for ln in cells))
    rows = list(dict.fromkeys(ln["row"] for ln in cells))
    fig, ax = plt.subplots(figsize=size(2, 3.0))
    width = 0.8 / max(1, len(rows))
    values = [v for ln in cells for v in (ln["published"],) + ((ln["mean"] - (ln["std"] or 0.0), ln["mean"] +
              (ln["std"] or 0.0)) if ln["mean"] is not None else ()) if v is not None]
    for fl in floors:
        if fl["column"] in columns:
            values.append(fl["value"])
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = 0.08 * (high - low or abs(high) or 1.0)
    for i, (row, style) in enumerate(zip(rows, styles(len(rows)))):
        mine = [ln for ln in cells if ln["row"] == row]
        x = [columns.index(ln["column"]) + (i - (len(rows) - 1) / 2) * width for ln in mine]
        ours = [ln["mean"] if ln["mean"] is not None else np.nan for ln in mine]
        err = [ln["std"] or 0.0 for ln in mine]
        if any(ln["mean"] is not None for ln in mine):  # a legend entry only for a row with a number
            ax.errorbar(x, ours, yerr=err, fmt=style["marker"] or "o", color=style["color"], capsize=2, markersize=4,
                        linestyle="none", label=row)
        ax.scatter(x, [ln["published"] if ln["published"] is not None else np.nan for ln in mine], marker="_",
                   s=600 * width, linewidths=2, color="black", zorder=3)
        for xi, ln in zip(x, mine):
            if ln["mean"] is None:  # no number of ours: say why (e.g. diverged), or that it was not run
                why = counted(ln.get("other") or []) or "not run"  # e.g. "diverged ×3"
                at = ln["published"] if ln["published"] is not None else (low + high) / 2
                ax.annotate(why, (xi, at), xytext=(0, -6), textcoords="offset points", rotation=90, ha="center",
                            va="top", fontsize=6, color=style["color"])
    for fl in floors:
        if fl["column"] in columns:
            c = columns.index(fl["column"])
            ax.hlines(fl["value"], c - 0.45, c + 0.45, colors="grey", linestyles="dashed", linewidth=0.8)
            ax.text(c - 0.45, fl["value"], fl["name"], fontsize=5, va="bottom", color="grey")
    ax.plot([], [], marker="_", linestyle="", markersize=10, markeredgewidth=2, color="black", label="published")
    if any(fl["column"] in columns for fl in floors):  # none when the data to fit them was not found
        ax.plot([], [], linestyle="dashed", color="grey", label="trivial floors")
    ax.set_ylim(low - 4 * pad, high + pad)  # room below for the "not run" marks
    ax.set_xticks(range(len(columns)), columns)
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig, save(fig, out, stem)


def published_panels(lines: list[dict], floors: list[dict], title: str, ylabel: str, out: Path, stem: str):
    """A seed table whose columns are data sets, one panel per set (their scales differ: JSB ~8.5, Nottingham
    ~3.5): the rows along x, ours (mean ± std over seeds, a dot with its error bar) beside the published
    number (a black bar), the set's trivial floors as dashed lines across its panel; a row without a number of
    ours says why. Each panel's axis spans its own numbers. Returns (figure, written paths)."""
    use_style()
    cells = [ln for ln in lines if ln["mean"] is not None or ln["published"] is not None]
    columns = list(dict.fromkeys(ln["column"] for ln in cells))
    rows = list(dict.fromkeys(ln["row"] for ln in cells))
    colours = {row: st for row, st in zip(rows, styles(len(rows)))}
    fig, axes = plt.subplots(1, max(1, len(columns)), figsize=size(2, 3.2), squeeze=False)
    for ax, column in zip(axes[0], columns):
        mine = [ln for ln in cells if ln["column"] == column]
        here = [fl for fl in floors if fl["column"] == column]
        values = [v for ln in mine for v in (ln["published"],) + ((ln["mean"] - (ln["std"] or 0.0), ln["mean"] +
                  (ln["std"] or 0.0)) if ln["mean"] is not None else ()) if v is not None] + [fl["value"] for fl in here]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        pad = 0.08 * (high - low or abs(high) or 1.0)
        for ln in mine:
            x, st = rows.index(ln["row"]), colours[ln["row"]]
            if ln["published"] is not None:
                ax.scatter([x], [ln["published"]], marker="_", s=150, linewidths=2, color="black", zorder=3)
            if ln["mean"] is not None:
                ax.errorbar([x], [ln["mean"]], yerr=[ln["std"] or 0.0], fmt=st["marker"] or "o", color=st["color"],
                            capsize=2, markersize=4, linestyle="none")
            else:
                why = counted(ln.get("other") or []) or "not run"  # e.g. "diverged ×3"
                ax.annotate(why, (x, 0.0), xycoords=("data", "axes fraction"), xytext=(0, 3),  # up from the
                            textcoords="offset points", rotation=90, ha="center", va="bottom",  # axis: never
                            fontsize=5, color=st["color"])  # over the row names below it
        for fl in here:
            ax.axhline(fl["value"], color="grey", linestyle="dashed", linewidth=0.8)
            ax.text(-0.4, fl["value"], fl["name"], fontsize=5, va="bottom", color="grey")
        ax.set_ylim(low - 4 * pad, high + pad)  # room below for the "not run" marks
        ax.set_xticks(range(len(rows)), rows, rotation=90, fontsize=6)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_title(column, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].plot([], [], marker="_", linestyle="", markersize=10, markeredgewidth=2, color="black",
                     label="published")
    axes[0][-1].errorbar([], [], yerr=[], fmt="o", color="grey", capsize=2, markersize=4, label="ours (mean ± std)")
    if floors:
        axes[0][-1].plot([], [], linestyle="dashed", color="grey", label="trivial floors")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig, save(fig, out, stem)


YLABELS = {"test_nll": "test NLL (nats per frame)", "test_ppl": "test perplexity (per word)",
           "test_rmse": "test RMSE ([0, 1] rating scale)"}
