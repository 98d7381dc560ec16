"""Choose each 001 Table 1 row's reading and level on a set by validation NLL (issue 31) and write its per-set
preset conf/experiment/rnn-<row>-<set>.yaml, with the validation numbers that chose it in its comment.

    python docs/measurements/2026-12-02-001-t1/choose.py SET      # prints the choices, writes the presets
    python docs/measurements/2026-12-02-001-t1/choose.py --table  # the choices on every set as a markdown table

Reads the runs kept beside this file (<set>/<row>-<level>[-paper]/results.json, seed 0); the test NLL is never read.
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
CONF = HERE.parents[2] / "conf" / "experiment"
# row -> (001 Table 1 label, the generic preset's regulariser group, its name, what the level sets, sections)
ROWS = {
    "nbr": ("RNN-NBR", "l2", "l2", "penalty_weight", "an L2 penalty lambda on every weight matrix (001 §7)"),
    "n": ("RNN-N", "noise", "noise-n", "recurrent.rate", "additive Gaussian noise on W_hh, sigma, per step (001 §8.1.1)"),
    "ns": ("RNN-NS", "noise", "noise-ns", "recurrent.rate", "additive Gaussian noise on W_hh, sigma, per sequence (001 §8.1.1)"),
    "mn": ("RNN-MN", "noise", "noise-mn", "recurrent.rate", "multiplicative Gaussian noise on W_hh, sigma, per step (001 §8.1.2)"),
    "mns": ("RNN-MNS", "noise", "noise-mns", "recurrent.rate", "multiplicative Gaussian noise on W_hh, sigma, per sequence (001 §8.1.2)"),
    "do": ("RNN-DO", "dropconnect", "dropconnect-do", "recurrent.rate", "DropConnect on W_hh, dropout_p, per step (001 §9)"),
    "dos": ("RNN-DOS", "dropconnect", "dropconnect-dos", "recurrent.rate", "DropConnect on W_hh, dropout_p, per sequence (001 §9)"),
    "ff": ("RNN-FF", "noise", "noise-ff", "input.rate and output.rate", "additive Gaussian noise on W_ih and W_ho, sigma, per step (001 §8.2)"),
}
GENERIC = {"nbr": "rnn-nbr", "n": "rnn-n", "ns": "rnn-ns", "mn": "rnn-mn", "mns": "rnn-mns", "do": "rnn-do",
           "dos": "rnn-dos", "ff": "rnn-ff"}


# a row's variants beside its generic preset's: RNN-NBR is L1 or L2 (001 §7), its L1 runs are nbrl1-<level>
VARIANTS = {"nbr": {"nbr": "l2", "nbrl1": "l1"}}


def level_runs(data_set: str, row: str):
    """(level, reading, valid NLL, status, variant) of the row's seed-0 runs."""
    out = []
    for d in sorted((HERE / data_set).iterdir()):
        for prefix, variant in VARIANTS.get(row, {row: None}).items():
            m = re.fullmatch(rf"{prefix}-([0-9.e+-]+?)(-paper)?", d.name)  # not <row>-<level>-s<seed>: the preset's seeds
            if m is None or not (d / "results.json").is_file():
                continue
            r = json.loads((d / "results.json").read_text())
            out.append((float(m.group(1)), "paper" if m.group(2) else "breze", r.get("valid_nll"), r.get("status"), variant))
    return sorted(out, key=lambda x: (x[4] or "", x[0], x[1]))


BLOCKS = {  # the generic preset's regulariser block with the level put in (conf/experiment/rnn-<row>.yaml)
    "nbr": "  name: l2\n  penalty_weight: {x:g}\n",
    "n": "  name: noise-n\n  realise: step\n  recurrent: {{noise: additive, rate: {x:g}}}\n",
    "ns": "  name: noise-ns\n  realise: sequence\n  recurrent: {{noise: additive, rate: {x:g}}}\n",
    "mn": "  name: noise-mn\n  realise: step\n  recurrent: {{noise: multiplicative, rate: {x:g}}}\n",
    "mns": "  name: noise-mns\n  realise: sequence\n  recurrent: {{noise: multiplicative, rate: {x:g}}}\n",
    "do": "  name: dropconnect-do\n  realise: step\n  recurrent: {{noise: dropconnect, rate: {x:g}}}\n",
    "dos": "  name: dropconnect-dos\n  realise: sequence\n  recurrent: {{noise: dropconnect, rate: {x:g}}}\n",
    "ff": ("  name: noise-ff\n  realise: step\n  recurrent: {{noise: none, rate: 0.0}}\n"
           "  input: {{noise: additive, rate: {x:g}}}\n  output: {{noise: additive, rate: {x:g}}}\n"),
}


def best(runs: list):
    """The run validation chooses: the lowest validation NLL among those that ended ok (None if none did)."""
    ok = [x for x in runs if x[3] == "ok" and x[2] is not None]
    return min(ok, key=lambda x: x[2]) if ok else None


def run_folder(data_set: str, row: str, level: float, reading: str, variant) -> str:
    """The kept folder of a seed-0 level run, relative to the repository: <set>/<row>-<level>[-paper], RNN-NBR's L1
    runs nbrl1-<level>[-paper]. The preset's comment names it (assemble.py and tests/test_presets.py read it there)."""
    prefix = next((p for p, v in VARIANTS.get(row, {row: None}).items() if v == variant), row)
    return f"docs/measurements/2026-12-02-001-t1/{data_set}/{prefix}-{level:g}" + ("-paper" if reading == "paper" else "")


def preset(data_set: str, row: str, runs: list) -> tuple[str, float, str]:
    label, group, name, key, what = ROWS[row]
    level, reading, valid, _, variant = best(runs)
    if variant == "l1":  # RNN-NBR with the L1 norm (001 §7)
        group, name, what = "l1", "l1", what.replace("an L2 penalty", "an L1 penalty")
    grid = "; ".join(f"{(vr or '') + ' ' if vr else ''}{lv:g}: " + ", ".join(
        f"{rd} {v:.4f}" for l2, rd, v, st, v2 in runs if (l2, v2) == (lv, vr) and v is not None)
        for lv, vr in sorted({(x[0], x[4]) for x in runs}, key=lambda t: (t[1] or "", t[0])))
    plain = re.search(r"override /protocol: (\w+)", (CONF / f"srnn-{data_set}.yaml").read_text()).group(1)
    if reading == plain:  # the plain row's own reading
        base = [f"  - srnn-{data_set}   # the plain row and its reading (protocol={plain})"]
    else:  # the plain row's hyper-parameters (conf/plain/) under the other reading
        base = [f"  - override /dataset: {data_set}   # the plain row's hyper-parameters (conf/plain/)", "  - override /model: srnn"]
        base += ["  - override /protocol: breze"] if reading == "breze" else []
    lines = [
        "# @package _global_",
        f"# {label} on {data_set} (001 Table 1): {what},",
        f"# on the set's plain sRNN. Level and reading chosen by validation NLL (issue 31, seed 0; the runs and",
        f"# their commands: docs/measurements/2026-12-02-001-t1/): {key} = {level:g}, protocol={reading}, valid {valid:.4f}.",
        f"# Valid NLL per level and reading: {grid}.",
        f"# Chosen run: {run_folder(data_set, row, level, reading, variant)}",
        f"#   rnnbench experiment=rnn-{row}-{data_set}",
        "defaults:",
        *base,
        f"  - override /regulariser: {group}",
        "",
        "regulariser:",
    ]
    extra = "train:\n  batches: rows   # what the level runs ran\n" if reading == "breze" and reading != plain else ""
    block = "  name: l1\n  penalty: l1\n  penalty_weight: {x:g}\n" if variant == "l1" else BLOCKS[row]
    return "\n".join(lines) + "\n" + block.format(x=level) + ("\n" + extra if extra else ""), level, reading


def choice_cell(runs: list) -> str:
    """'L2 0.001, breze (valid 8.4063; 6 runs, 2 reading(s), bracketed)': the choice, as preset() makes it, and its
    evidence (bracketed: the grid of the chosen norm has a level on either side of it, under either reading)."""
    if best(runs) is None:
        return "no run ended ok"
    level, reading, valid, _, variant = best(runs)
    levels = {x[0] for x in runs if x[4] == variant}
    edge = "bracketed" if min(levels) < level < max(levels) else "at the grid's edge"
    return (f"{variant.upper() + ' ' if variant else ''}{level:g}, {reading} "
            f"(valid {valid:.4f}; {len(runs)} runs, {len({x[1] for x in runs})} reading(s), {edge})")


def table() -> str:
    order = [s for s in ("piano-midi", "nottingham", "musedata", "jsb") if (HERE / s).is_dir()]  # 000 Table 1's order
    out = ["| row | " + " | ".join(order) + " |", "| --- |" + " --- |" * len(order)]
    for row, (label, *_) in ROWS.items():
        out.append(f"| {label} | " + " | ".join(choice_cell(level_runs(s, row)) for s in order) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        print(table())
        sys.exit(0)
    data_set = sys.argv[1]
    for row in ROWS:
        runs = level_runs(data_set, row)
        if not runs:
            print(f"{row}: no runs")
            continue
        if best(runs) is None:
            print(f"{row}: no run ended ok; no preset written")
            continue
        text, level, reading = preset(data_set, row, runs)
        (CONF / f"rnn-{row}-{data_set}.yaml").write_text(text)
        print(f"{row}: {reading} {level:g}  ->  conf/experiment/rnn-{row}-{data_set}.yaml")
