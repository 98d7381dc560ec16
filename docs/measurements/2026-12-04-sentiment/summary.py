"""The sentiment curves of a measurement folder as one table (003 §5.2, fig. 3 and fig. 10): for each run there
(rnnbench-reproduce's layout, 003-sentiment/<row>/sentiment/seed-0/), the reported number (the last epoch's model:
the protocol has no validation split), its MC estimate, and how the test curve moved: its lowest point and the
epoch of it (a description of the curve, as 003 describes its own figures; nothing is selected by it), and the rise
from there to the end; where runs logged the Monte Carlo curve too (eval.mc_curve), the same of it.

    python docs/measurements/2026-12-04-sentiment/summary.py [FOLDER]     # default: this folder
"""
from __future__ import annotations

import sys
from pathlib import Path

from rnnbench.engine.results import read_metrics, read_results
from rnnbench.tools.reproduce.cells import ended_by as _ended_by
from rnnbench.tools.reproduce.tables import TABLES

HERE = Path(__file__).resolve().parent
# the runs of rnnbench-reproduce's 003-sentiment table (its MC rows read the same runs)
ROWS = [row.name for row in TABLES["003-sentiment"].rows if row.read is None]


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    runs = {}
    for row in ROWS:
        folder = root / "003-sentiment" / row / "sentiment" / "seed-0"
        res = read_results(folder / "results.json")
        runs[row] = (res, read_metrics(folder) if res is not None else None)
    # runs with eval.mc_curve also log the MC test curve, which is what 003 §5.2 plots: its lowest point too
    with_mc = any(curve is not None and "test_rmse_mc" in curve for _, curve in runs.values())
    mc_head = " | lowest MC (epoch) | MC last − lowest" if with_mc else ""
    print("| run | epochs (s each) | train MSE, last | test RMSE, last epoch | MC (10) | lowest test RMSE (epoch) "
          f"| last − lowest{mc_head} | ended by | commit |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if with_mc else ""))
    for row, (res, curve) in runs.items():
        if res is None:
            print(f"| {row} | not run | | | | | | | |" + (" | |" if with_mc else ""))
            continue
        test = curve["test_rmse"]
        low = min(range(len(test)), key=test.__getitem__)
        mc = res.get("test_rmse_mc")
        mc_cells = ""
        if with_mc:
            mc_curve = curve.get("test_rmse_mc")
            if mc_curve:
                mc_low = min(range(len(mc_curve)), key=mc_curve.__getitem__)
                mc_cells = f" | {mc_curve[mc_low]:.4f} ({mc_low + 1}) | {mc_curve[-1] - mc_curve[mc_low]:+.4f}"
            else:
                mc_cells = " | – | –"
        print(f"| {row} | {len(test)} ({res['seconds_per_epoch']:.1f}) | {curve['train_mse'][-1]:.4f} "
              f"| {test[-1]:.4f} | {'–' if mc is None else f'{mc:.4f}'} | {test[low]:.4f} ({low + 1}) "
              f"| {test[-1] - test[low]:+.4f}{mc_cells} | {_ended_by(res)} | {res['commit']} |")

if __name__ == "__main__":
    main()
