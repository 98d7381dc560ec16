"""Figures of the runs under a folder (``rnnbench-report --plot OUT``), written as PNG and PDF with
matplotlib's non-interactive backend; each function also returns its Figure so that tests can read
what is drawn.

- ``curves-<dataset>``: the training and validation metric per epoch (sentiment: training MSE and
  test RMSE, the form of 003's figure), one line per model / regulariser (the configuration the
  table shows for it), its seeds as mean ± one standard deviation;
- ``spectral-radius-<dataset>``: ρ(W_rec) per epoch of the sRNN runs (000 Fig. 2);
- ``published_bars``: ours (mean ± std over seeds) against the published numbers of a seed table,
  with the task's trivial floors as dashed lines (rnnbench-reproduce writes it beside its table).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rnnbench.engine.results import read_metrics  # noqa: E402

# per test metric: (training column, its label), (validation column, its label), y-axis label
PANELS = {
    "test_nll": (("train_nll", "training"), ("valid_nll", "validation"), "NLL (nats per frame)"),
    "test_ppl": (("train_ppl", "training"), ("valid_ppl", "validation"), "perplexity (per word)"),
    "test_rmse": (("train_mse", "training MSE (standardised)"), ("test_rmse", "test RMSE"), None),
}


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


def _save(fig, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    for p in paths:
        fig.savefig(p, dpi=120, bbox_inches="tight")
    return paths


def learning_curves(chosen: pd.DataFrame, runs: pd.DataFrame, dataset: str, metric: str, out: Path):
    """One figure for ``dataset``: a training and a validation panel, a line (mean ± std over the
    seeds) per model / regulariser. ``chosen`` holds the configuration picked per cell (its
    ``group``), ``runs`` every run. Returns (figure, written paths)."""
    (train_col, train_label), (valid_col, valid_label), ylabel = PANELS[metric]
    ylabel = ylabel or "RMSE ([0, 1] rating scale)"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    chosen = _with_curves(chosen)
    for row in chosen[(chosen["dataset"] == dataset) & (chosen["metric"] == metric)].itertuples():
        dirs = list(runs[(runs["dataset"] == dataset) & (runs["model"] == row.model) &
                         (runs["regulariser"] == row.regulariser) & (runs["group"] == row.group) &
                         (runs["status"] == "ok")]["run_dir"].unique())
        label = f"{row.model} / {row.regulariser} ({len(dirs)} seed{'s' if len(dirs) != 1 else ''})"
        for ax, col in zip(axes, (train_col, valid_col)):
            epochs, mean, std = _series(dirs, col)
            if len(epochs):
                line, = ax.plot(epochs, mean, label=label)
                ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    axes[0].set_title(f"{dataset}: {train_label}")
    axes[1].set_title(f"{dataset}: {valid_label}")
    axes[0].set_ylabel("MSE (standardised targets)" if metric == "test_rmse" else ylabel)
    axes[1].set_ylabel(ylabel)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        if metric != "test_rmse" and ax.lines:  # the first epochs sit far above the rest
            ax.set_yscale("log")
    if axes[1].lines:
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig, _save(fig, out, f"curves-{dataset}")


def spectral_radius(chosen: pd.DataFrame, runs: pd.DataFrame, dataset: str, out: Path):
    """ρ(W_rec) per epoch of the sRNN configurations on ``dataset`` (000 Fig. 2)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    chosen = _with_curves(chosen)
    for row in chosen[(chosen["dataset"] == dataset) & (chosen["model"] == "srnn")].itertuples():
        dirs = list(runs[(runs["dataset"] == dataset) & (runs["model"] == row.model) &
                         (runs["regulariser"] == row.regulariser) & (runs["group"] == row.group) &
                         (runs["status"] == "ok")]["run_dir"].unique())
        epochs, mean, std = _series(dirs, "spectral_radius")
        if len(epochs):
            line, = ax.plot(epochs, mean, label=f"srnn / {row.regulariser}")
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_title(f"{dataset}: spectral radius of W_rec during training")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ρ(W_rec)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, _save(fig, out, f"spectral-radius-{dataset}")


def plot_runs(runs: pd.DataFrame, chosen: pd.DataFrame, out: Path) -> list[Path]:
    """Every figure for the runs: learning curves per data set and test metric, and the spectral
    radius where there are sRNN runs. Returns the files written."""
    written = []
    for (dataset, metric), _ in chosen.groupby(["dataset", "metric"]):
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
    """Ours (mean ± std over seeds) next to the published number for each row and column of a seed
    table; the task's floors as dashed lines over their column. Returns (figure, written paths)."""
    cells = [ln for ln in lines if ln["mean"] is not None or ln["published"] is not None]
    columns = list(dict.fromkeys(ln["column"] for ln in cells))
    rows = list(dict.fromkeys(ln["row"] for ln in cells))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(columns) * max(1, len(rows)) ** 0.5), 4.5))
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        x = [columns.index(ln["column"]) + (i - (len(rows) - 1) / 2) * width for ln in cells if ln["row"] == row]
        ours = [ln["mean"] if ln["mean"] is not None else np.nan for ln in cells if ln["row"] == row]
        err = [ln["std"] or 0.0 for ln in cells if ln["row"] == row]
        published = [ln["published"] if ln["published"] is not None else np.nan for ln in cells if ln["row"] == row]
        ax.bar(x, ours, width * 0.9, yerr=err, capsize=3, label=row)
        ax.scatter(x, published, marker="_", s=900 * width, linewidths=3, color="black", zorder=3)
        for xi, ln in zip(x, [ln for ln in cells if ln["row"] == row]):
            if ln["mean"] is None and ln.get("other"):  # no number of ours: say why (e.g. diverged)
                ax.text(xi, 0.2, ", ".join(ln["other"]), rotation=90, ha="center", va="bottom", fontsize=8)
    for fl in floors:
        if fl["column"] in columns:
            c = columns.index(fl["column"])
            ax.hlines(fl["value"], c - 0.45, c + 0.45, colors="grey", linestyles="dashed", linewidth=1)
            ax.text(c - 0.45, fl["value"], fl["name"], fontsize=6, va="bottom", color="grey")
    ax.plot([], [], marker="_", linestyle="", markersize=15, markeredgewidth=3, color="black", label="published")
    if any(fl["column"] in columns for fl in floors):  # none when the data to fit them was not found
        ax.plot([], [], linestyle="dashed", color="grey", label="trivial floors")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig, _save(fig, out, stem)


YLABELS = {"test_nll": "test NLL (nats per frame)", "test_ppl": "test perplexity (per word)",
           "test_rmse": "test RMSE ([0, 1] rating scale)"}
