"""The sentiment curves of a measurement folder as one table (003 §5.2, fig. 3 and fig. 10): for each run there
(rnnbench-reproduce's layout, 003-sentiment/<row>/sentiment/seed-0/), the reported number (the last epoch's model:
the protocol has no validation split), its MC estimate, and how the test curve moved: its lowest point and the
epoch of it (a description of the curve, as 003 describes its own figures; nothing is selected by it), and the rise
from there to the end.

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
    print("| run | epochs (s each) | train MSE, last | test RMSE, last epoch | MC (10) | lowest test RMSE (epoch) "
          "| last − lowest | ended by | commit |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in ROWS:
        folder = root / "003-sentiment" / row / "sentiment" / "seed-0"
        res = read_results(folder / "results.json")
        if res is None:
            print(f"| {row} | not run | | | | | | | |")
            continue
        curve = read_metrics(folder)
        test = curve["test_rmse"]
        low = min(range(len(test)), key=test.__getitem__)
        mc = res.get("test_rmse_mc")
        print(f"| {row} | {len(test)} ({res['seconds_per_epoch']:.1f}) | {curve['train_mse'][-1]:.4f} "
              f"| {test[-1]:.4f} | {'–' if mc is None else f'{mc:.4f}'} | {test[low]:.4f} ({low + 1}) "
              f"| {test[-1] - test[low]:+.4f} | {_ended_by(res)} | {res['commit']} |")


if __name__ == "__main__":
    main()
