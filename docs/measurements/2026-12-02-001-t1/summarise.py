"""The level and reading of each 001 Table 1 row, chosen by validation NLL (issue 31): reads the runs' results.json
kept beside this file (<set>/<row>-<level>[-paper]/) and prints one markdown table per set, the chosen run of each
row in bold. The test NLL is printed, never used: selection is by valid_nll only.

    python docs/measurements/2026-12-02-001-t1/summarise.py [SET ...]
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROWS = ["plain", "nbr", "n", "ns", "mn", "mns", "do", "dos", "ff"]
PUBLISHED = {"jsb": {"plain": 8.58, "nbr": 8.83, "n": 8.92, "ns": 8.96, "mn": 8.64, "mns": 8.64, "do": 8.48, "dos": 8.55,
                     "ff": 8.67},
             "piano-midi": {"plain": 7.58, "nbr": 7.78, "n": 7.66, "ns": 7.74, "mn": 7.71, "mns": 7.70, "do": 7.65,
                            "dos": 7.67, "ff": 7.69}}


def runs(folder: Path):
    for d in sorted(folder.iterdir()):
        if not (d / "results.json").is_file():
            continue
        r = json.loads((d / "results.json").read_text())
        name = d.name
        reading = "paper" if "paper" in name else "breze"
        parts = name.replace("-paper", "").split("-")
        row = parts[0]
        level = "-".join(parts[1:])
        yield row, level, reading, name, r


def table(data_set: str) -> str:
    found = [x for x in runs(HERE / data_set) if not x[1].startswith("s")]  # levels, not the plain row's seeds
    seeds = [x for x in runs(HERE / data_set) if x[0] == "plain"]
    lines = [f"### {data_set}", "", "| row | level | reading | valid NLL | test NLL | published | status | epochs | wall (s) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in ROWS:
        mine = [x for x in found + seeds if x[0] == row]
        ok = [x for x in mine if x[4].get("status") == "ok" and x[4].get("valid_nll") is not None]
        best = min(ok, key=lambda x: x[4]["valid_nll"]) if ok else None
        for x in sorted(mine, key=lambda x: (x[2], x[1])):
            r = x[4]
            cells = [row, x[1] or "–", x[2], f"{r.get('valid_nll', float('nan')):.4f}",
                     f"{r.get('test_nll', float('nan')):.4f}", f"{PUBLISHED.get(data_set, {}).get(row, '–')}",
                     str(r.get("status")), str(r.get("epochs")), f"{r.get('wall_s') or 0:.0f}"]
            if x is best:
                cells = [f"**{c}**" for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for s in sys.argv[1:] or ["jsb"]:
        print(table(s))
