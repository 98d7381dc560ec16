"""Piano-midi's 001 Table 1 column under each reading, three seeds per cell (issue 31, measurement README section 17):

    RNNBENCH_DATA=../shared/data python docs/measurements/2026-12-02-001-t1/readings.py

For each row, the runs of the papers' reading (`protocol=paper`) and of the authors' reading (`protocol=breze
train.batches=rows`) at the level validation chose under that reading, seeds 0-2: validation NLL (what may choose)
and test NLL (what is reported), with the mean over seeds. Evidence for the open protocol question of test piece 16
(section 10), not a choice: the presets are chosen by choose.py on seed 0 and stay as they are.
"""
import json
import statistics
from pathlib import Path

from rnnbench.tools.report.paper import PUBLISHED_NLL
from rnnbench.tools.reproduce.floors import table_floors
from rnnbench.tools.reproduce.tables import NOISE_ROWS, TABLES, _published

HERE = Path(__file__).parent / "piano-midi"
PUBLISHED = {"plain": _published(PUBLISHED_NLL, "sRNN, plain")["piano-midi"]} | {
    preset.removeprefix("rnn-"): _published(PUBLISHED_NLL, label)["piano-midi"] for label, preset in NOISE_ROWS}
# row -> (papers' reading's run, authors' reading's run), seed 0's folder; seeds 1-2 are <folder>-s1, -s2
RUNS = {
    "plain": ("piano-plain", "piano-plain-breze"),
    "nbr": ("nbr-0.001-paper", "nbr-0.001"),
    "n": ("n-0.02-paper", "n-0.02"),
    "ns": ("ns-0.02-paper", "ns-0.02"),
    "mn": ("mn-0.05-paper", "mn-0.05"),
    "mns": ("mns-1-paper", "mns-1"),
    "do": ("do-0.6-paper", "do-0.8"),
    "dos": ("dos-0.6-paper", "dos-0.8"),
    "ff": ("ff-0.005-paper", "ff-0.005"),
}


def seeds(folder: str) -> list[dict]:
    names = [f"{folder}-s{s}" for s in range(3)] if folder.startswith("piano-plain") else \
        [folder, f"{folder}-s1", f"{folder}-s2"]
    out = []
    for name in names:
        path = HERE / name / "results.json"
        out.append(json.loads(path.read_text()) if path.is_file() else None)
    return out


def cell(runs: list[dict], floor: float) -> tuple[str, float | None, float | None]:
    done = [r for r in runs if r is not None]
    if not done:
        return "not run", None, None
    text = " / ".join(f"{r['valid_nll']:.4f} → {r['test_nll']:.3f}" + (" ≥ floor" if r["test_nll"] >= floor else "")
                      if r else "–" for r in runs)
    return text, statistics.mean(r["valid_nll"] for r in done), statistics.mean(r["test_nll"] for r in done)


def main() -> None:
    # the strongest trivial floor on the test pieces (copy-previous), as rnnbench-reproduce computes it (needs the data)
    floor = min(fl["value"] for fl in table_floors(TABLES["001-t1"], ["piano-midi"]))
    print("| row | reading | seeds 0 / 1 / 2: valid → test | valid mean | test mean | gap |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row, folders in RUNS.items():
        for reading, folder in zip(("paper", "breze"), folders):
            text, valid, test = cell(seeds(folder), floor)
            gap = f"{100 * (test / PUBLISHED[row] - 1):+.1f}%" if test is not None else ""
            print(f"| {row} | {reading} ({folder}) | {text} | {valid or 0:.4f} | {test or 0:.3f} | {gap} |")


if __name__ == "__main__":
    main()
