"""The house style of every figure rnnbench draws (issue 23): what a journal accepts and a reader can tell
apart.

- fonts embedded as TrueType (Type 42) in PDF and PostScript, never Type 3;
- two widths: a single column (3.5 in) and a double column (7 in) (``size``);
- ``styles(n)``: n lines that differ in colour, and also in line style and marker past the colour cycle, so
  that no two lines of a figure look alike;
- ``plain_log_ticks``: a log axis ticked with plain numbers (30, 50, 100), not 3×10^1;
- ``save``: PNG (300 dpi) and PDF of one figure.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

SINGLE, DOUBLE = 3.5, 7.0  # inches: one and two columns of a two-column paper
RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8,
      "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "savefig.bbox": "tight"}
# Okabe & Ito's colour-blind-safe palette (8 colours); past it, line styles and markers tell lines apart
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["", "o", "s", "^", "D", "v"]


def use_style() -> None:
    """Set the house style for the figures drawn after it."""
    plt.rcParams.update(RC)


def size(columns: int = 2, height: float | None = None) -> tuple[float, float]:
    """(width, height) in inches of a figure spanning one or two columns."""
    width = SINGLE if columns == 1 else DOUBLE
    return width, height if height is not None else width * (0.75 if columns == 1 else 0.4)


def styles(n: int) -> list[dict]:
    """Keyword arguments of ``ax.plot`` for n lines, all distinct: colour first, then line style, then marker."""
    out = []
    for i in range(n):
        c, rest = i % len(COLOURS), i // len(COLOURS)
        out.append({"color": COLOURS[c], "linestyle": LINESTYLES[rest % len(LINESTYLES)],
                    "marker": MARKERS[(rest // len(LINESTYLES)) % len(MARKERS)] or None, "markevery": 0.1})
    return out


def _plain(value: float, _pos=None) -> str:
    return f"{value:g}"


def plain_log_ticks(ax, axis: str = "y") -> None:
    """Tick a log axis with plain numbers at 1, 2 and 5 of each decade (no 3×10^1, no 1.3×10^2)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(_plain))
    target.set_minor_formatter(NullFormatter())


def save(fig, out: Path, stem: str) -> list[Path]:
    """``out/stem.png`` (300 dpi) and ``out/stem.pdf`` (TrueType fonts); the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    with plt.rc_context(RC):
        for p in paths:
            fig.savefig(p, dpi=300)
    return paths
