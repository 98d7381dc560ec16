"""Lay the kept runs of the chosen 001 Table 1 cells out as rnnbench-reproduce reads them, then render the table
and its figure (issue 31):

    python docs/measurements/2026-12-02-001-t1/assemble.py SET OUT   # then: rnnbench-reproduce 001-t1 --report-only --out OUT

A cell's seed 0 is the run that chose its level and reading (the per-set preset composes to exactly its config);
seeds 1 and 2 are runs of the preset (<row>-<level>[-paper]-s<seed>). The plain row's seeds are plain-s<seed>
(Piano-midi: piano-plain-s<seed>, the runs of experiment=srnn-piano-midi on chunked validation; Nottingham:
nott-plain-paper-004-s<seed>, the runs of experiment=srnn-nottingham; MuseData: muse-plain-031-s<seed>, the runs of
experiment=srnn-musedata, the search's member 031). A row without a per-set preset is skipped.
"""
import json
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
CONF = HERE.parents[2] / "conf" / "experiment"
# the plain row's runs, seeds 0, 1, 2, per set, relative to this folder (the module docstring says which runs they are)
PLAIN_SEEDS = {
    "jsb": ["jsb/plain-s0", "jsb/plain-s1", "jsb/plain-s2"],
    "piano-midi": ["piano-midi/piano-plain-s0", "piano-midi/piano-plain-s1", "piano-midi/piano-plain-s2"],
    "nottingham": ["nottingham/nott-plain-paper-004-s0", "nottingham/nott-plain-paper-004-s1",
                   "nottingham/nott-plain-paper-004-s2"],
    "musedata": ["musedata/muse-plain-031-s0", "musedata/muse-plain-031-s1", "musedata/muse-plain-031-s2"],
}


def chosen(data_set: str, row: str) -> str:
    """<set>/<row>-<level>[-paper][-base<member>] of the preset rnn-<row>-<set> (read from its comment)."""
    text = (CONF / f"rnn-{row}-{data_set}.yaml").read_text()
    folder = re.search(r"^# Chosen run: (\S+)$", text, re.M).group(1)  # written by choose.py
    return str((HERE.parents[2] / folder).relative_to(HERE))


def main(data_set: str, out: Path) -> None:
    cells = {"plain-rnn": PLAIN_SEEDS[data_set]}
    for row in ("nbr", "n", "ns", "mn", "mns", "do", "dos", "ff"):
        if not (CONF / f"rnn-{row}-{data_set}.yaml").is_file():
            print(f"rnn-{row}: no preset for {data_set}")
            continue
        base = chosen(data_set, row)
        cells[f"rnn-{row}"] = [base] + [f"{base}-s{s}" for s in (1, 2)]
    for name, folders in cells.items():
        for seed, folder in enumerate(folders):
            src = HERE / folder
            if not (src / "results.json").is_file():
                print(f"{name} seed {seed}: {folder} not run")
                continue
            dst = out / "001-t1" / name / data_set / f"seed-{seed}"
            dst.mkdir(parents=True, exist_ok=True)
            for f in ("results.json", "metrics.csv"):
                shutil.copy(src / f, dst / f)
            r = json.loads((src / "results.json").read_text())
            print(f"{name} seed {seed}: {folder} {r['status']} valid {r['valid_nll']:.4f} test {r['test_nll']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
