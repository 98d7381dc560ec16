"""The sentiment curves of this folder as one table (003 §5.2, fig. 3 and fig. 10): for each run in runs/,
the reported number (the last epoch's model: the protocol has no validation split), its MC estimate, and how
the test curve moved: its lowest point and the epoch of it (a description of the curve, as 003 describes its
own figures; nothing is selected by it), and the rise from there to the end.

    python docs/measurements/2026-12-04-sentiment/summary.py
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = ["lstm-none", "lstm-dropout", "lstm-variational", "gru-none", "gru-dropout", "gru-variational"]


def main() -> None:
    print("| run | epochs (s each) | train MSE, last | test RMSE, last epoch | MC (10) | lowest test RMSE (epoch) "
          "| last − lowest | ended by | commit |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in ROWS:
        folder = HERE / "runs" / row
        if not (folder / "results.json").is_file():
            print(f"| {row} | not run | | | | | | | |")
            continue
        res = json.loads((folder / "results.json").read_text())
        with open(folder / "metrics.csv", newline="") as f:
            curve = list(csv.DictReader(f))
        test = [float(r["test_rmse"]) for r in curve]
        low = min(range(len(test)), key=test.__getitem__)
        mc = res.get("test_rmse_mc")
        ended = "budget" if "budget" in str(res.get("stop_reason", "")) else res.get("stop_reason", "")
        print(f"| {row} | {len(curve)} ({res['seconds_per_epoch']:.1f}) | {float(curve[-1]['train_mse']):.4f} "
              f"| {test[-1]:.4f} | {'–' if mc is None else f'{mc:.4f}'} | {test[low]:.4f} ({low + 1}) "
              f"| {test[-1] - test[low]:+.4f} | {ended} | {res['commit']} |")


if __name__ == "__main__":
    main()
