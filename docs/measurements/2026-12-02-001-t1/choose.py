"""Choose each 001 Table 1 row's reading and level on a set by validation NLL (issue 31) and write its per-set
preset conf/experiment/rnn-<row>-<set>.yaml, with the validation numbers that chose it in its comment.

    python docs/measurements/2026-12-02-001-t1/choose.py SET      # prints the choices, writes the presets
    python docs/measurements/2026-12-02-001-t1/choose.py --table  # the choices on every set as a markdown table

Reads the runs kept beside this file (<set>/<row>-<level>[-paper][-base<member>]/results.json, seed 0); the test NLL
is never read. A row's runs may stand on more than one base: the set's plain row when its level runs were made, and
(-base<member>) a later plain row, a member of the set's plain search. The base is one more choice validation makes:
a preset chosen on another base than the set's plain row today carries that base's hyper-parameters itself, so
that it still composes to the run that chose it (tests/test_presets.py).
"""
import json
import re
import sys
from pathlib import Path
from typing import NamedTuple

from omegaconf import OmegaConf

HERE = Path(__file__).parent
CONF = HERE.parents[2] / "conf" / "experiment"
PLAIN = HERE.parents[2] / "conf" / "plain"
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


class Run(NamedTuple):
    """A seed-0 level run kept under <set>/: <row>-<level>[-paper][-base<member>]."""
    level: float
    reading: str
    valid: float | None
    status: str | None
    variant: str | None  # RNN-NBR's norm ("l1", "l2"); None for the other rows
    base: str  # "" on the base of the set's first level runs; "<member>" on the plain search's member (-base<member>)
    pinned: dict  # all its plain-row hyper-parameters when any differs from the set's plain row today (conf/plain/)
    folder: str  # relative to the repository; the preset's comment names it (assemble.py, tests/test_presets.py read it)


def plain_row(data_set: str) -> dict:
    """The set's plain row today: {key: value} of conf/plain/srnn_rmsprop-nesterov_<set>.yaml."""
    return flat(OmegaConf.to_container(OmegaConf.load(PLAIN / f"srnn_rmsprop-nesterov_{data_set}.yaml")))


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def level_runs(data_set: str, row: str) -> list[Run]:
    """The row's seed-0 level runs on the set, on every base they were run on."""
    plain, out = plain_row(data_set), []
    for d in sorted((HERE / data_set).iterdir()):
        for prefix, variant in VARIANTS.get(row, {row: None}).items():
            # not <row>-<level>-s<seed>: the preset's seeds
            m = re.fullmatch(rf"{prefix}-([0-9.e+-]+?)(-paper)?(?:-base(\d{{3}}))?", d.name)
            if m is None or not (d / "results.json").is_file():
                continue
            r = json.loads((d / "results.json").read_text())
            config = flat(r["config"])
            pinned = {k: config[k] for k in plain} if any(config[k] != plain[k] for k in plain) else {}
            out.append(Run(float(m.group(1)), "paper" if m.group(2) else "breze", r.get("valid_nll"), r.get("status"),
                           variant, m.group(3) or "", pinned, str(d.relative_to(HERE.parents[2]))))
    return sorted(out, key=lambda x: (x.variant or "", x.level, x.base, x.reading))


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


def best(runs: list[Run]) -> Run | None:
    """The run validation chooses: the lowest validation NLL among those that ended ok (None if none did)."""
    ok = [x for x in runs if x.status == "ok" and x.valid is not None]
    return min(ok, key=lambda x: x.valid) if ok else None


def on(run: Run) -> str:
    """'paper' or, on a search member's base, 'paper on 031'."""
    return run.reading + (f" on {run.base}" if run.base else "")


def preset(data_set: str, row: str, runs: list[Run]) -> tuple[str, Run]:
    label, group, name, key, what = ROWS[row]
    chosen = best(runs)
    if chosen.variant == "l1":  # RNN-NBR with the L1 norm (001 §7)
        group, name, what = "l1", "l1", what.replace("an L2 penalty", "an L1 penalty")
    grid = "; ".join(f"{vr + ' ' if vr else ''}{lv:g}: " + ", ".join(
        f"{on(x)} {x.valid:.4f}" for x in runs if (x.level, x.variant) == (lv, vr) and x.valid is not None)
        for lv, vr in sorted({(x.level, x.variant) for x in runs}, key=lambda t: (t[1] or "", t[0])))
    plain = re.search(r"override /protocol: (\w+)", (CONF / f"srnn-{data_set}.yaml").read_text()).group(1)
    if chosen.reading == plain:  # the plain row's own reading
        base = [f"  - srnn-{data_set}   # the plain row and its reading (protocol={plain})"]
    else:  # the plain row's hyper-parameters (conf/plain/) under the other reading
        base = [f"  - override /dataset: {data_set}   # the plain row's hyper-parameters (conf/plain/)", "  - override /model: srnn"]
        base += ["  - override /protocol: breze"] if chosen.reading == "breze" else []
    lines = [
        "# @package _global_",
        f"# {label} on {data_set} (001 Table 1): {what},",
        f"# on the set's plain sRNN. Level and reading chosen by validation NLL (issue 31, seed 0; the runs and",
        f"# their commands: docs/measurements/2026-12-02-001-t1/): {key} = {chosen.level:g}, protocol={chosen.reading}, "
        f"valid {chosen.valid:.4f}.",
        f"# Valid NLL per level and reading: {grid}.",
        f"# Chosen run: {chosen.folder}",
        f"#   rnnbench experiment=rnn-{row}-{data_set}",
        "defaults:",
        *base,
        f"  - override /regulariser: {group}",
        "",
        "regulariser:",
    ]
    extra = "train:\n  batches: rows   # what the level runs ran\n" if chosen.reading == "breze" and plain != "breze" else ""
    block = "  name: l1\n  penalty: l1\n  penalty_weight: {x:g}\n" if chosen.variant == "l1" else BLOCKS[row]
    text = "\n".join(lines) + "\n" + block.format(x=chosen.level) + ("\n" + extra if extra else "")
    if chosen.pinned:  # chosen on another base than the set's plain row today: the preset keeps the run's numbers
        nested: dict = {}
        for k, v in chosen.pinned.items():
            *path, leaf = k.split(".")
            node = nested
            for part in path:
                node = node.setdefault(part, {})
            node[leaf] = v
        today = sum(1 for x in runs if not x.pinned and x.valid is not None)
        text += ("\n# The base this level was chosen on (its run's hyper-parameters), not the set's plain row today\n"
                 f"# (conf/plain/srnn_rmsprop-nesterov_{data_set}.yaml), on which "
                 + (f"this row's {today} run(s) validated worse" if today else "this row has no run yet") + ".\n"
                 + OmegaConf.to_yaml(OmegaConf.create(nested)))
    return text, chosen


def choice_cell(runs: list[Run]) -> str:
    """'L2 0.001, breze (valid 8.4063; 6 runs, 2 reading(s), bracketed)': the choice, as preset() makes it, and its
    evidence (bracketed: the grid of the chosen norm and base has a level on either side of it, under either reading)."""
    chosen = best(runs)
    if chosen is None:
        return "no run ended ok"
    levels = {x.level for x in runs if (x.variant, x.base) == (chosen.variant, chosen.base)}
    edge = ("bracketed" if min(levels) < chosen.level < max(levels) else
            "one level on its base" if len(levels) == 1 else "at the grid's edge")
    return (f"{chosen.variant.upper() + ' ' if chosen.variant else ''}{chosen.level:g}, {on(chosen)} "
            f"(valid {chosen.valid:.4f}; {len(runs)} runs, {len({x.reading for x in runs})} reading(s), {edge})")


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
        text, chosen = preset(data_set, row, runs)
        (CONF / f"rnn-{row}-{data_set}.yaml").write_text(text)
        print(f"{row}: {on(chosen)} {chosen.level:g}  ->  conf/experiment/rnn-{row}-{data_set}.yaml")
