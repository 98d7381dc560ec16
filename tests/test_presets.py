"""001 Table 1's per-set presets (issue 31): each conf/experiment/rnn-<row>-<set>.yaml composes to exactly the
config of the run that chose it on validation, whose results.json is kept under docs/measurements/ (its
comment names the level and reading; choose.py wrote it)."""
import json
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.conftest import compose_cfg

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "docs" / "measurements" / "2026-12-02-001-t1"
PRESETS = sorted(p for p in (ROOT / "conf" / "experiment").glob("rnn-*-*.yaml")
                 if re.fullmatch(r"rnn-[a-z]+-(jsb|piano-midi|nottingham|musedata)", p.stem))
# what a run may set without changing what it trains: its budget, its progress bar, where it reads the data
FREE = {"train.max_seconds", "train.progress", "data.root"}


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = getattr(value, "value", value)  # an enum as the string results.json holds
    return out


def test_there_are_per_set_presets():
    assert {"jsb", "piano-midi", "nottingham", "musedata"} <= {p.stem.split("-", 2)[2] for p in PRESETS}


@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_a_per_set_preset_composes_to_the_run_that_chose_it(preset):
    row, data_set = re.fullmatch(r"rnn-([a-z]+)-(.+)", preset.stem).groups()
    text = preset.read_text()
    valid = re.search(r"protocol=\w+, valid ([0-9]+\.[0-9]+)", text).group(1)
    folder = re.search(r"^# Chosen run: (\S+)$", text, re.M).group(1)  # choose.py names the run it chose by
    assert folder.startswith(f"{RUNS.relative_to(ROOT)}/{data_set}/{row}")
    run = json.loads((ROOT / folder / "results.json").read_text())
    assert f"{run['valid_nll']:.4f}" == valid and run["status"] == "ok" and run["seed"] == 0
    assert not differences(run, preset.stem)


def differences(run: dict, preset: str) -> dict:
    """{key: (the run's value, the preset's)} where the preset composes to another config than the run's."""
    saved = flat(run["config"])
    now = flat(OmegaConf.to_container(compose_cfg(f"experiment={preset}"), resolve=True))
    # a switch added after the run, absent from its record, stands at its default
    recorded = {"dataset.valid_whole": False, "population.workers": 2, "eval.mc_curve": False, **saved}
    return {k: (recorded.get(k, "absent"), now.get(k)) for k in (set(recorded) | set(now)) - FREE
            if recorded.get(k, "absent") != now.get(k)}


# the seed-0 run of each set's plain row (issue 31 item 2: chosen on validation, the set's default sRNN)
PLAIN = {"jsb": "jsb/plain-s0", "piano-midi": "piano-midi/piano-plain-s0",
         "nottingham": "nottingham/nott-plain-paper-004-s0", "musedata": "musedata/muse-plain-031-s0"}


@pytest.mark.parametrize("data_set", sorted(PLAIN))
def test_a_plain_row_and_the_sets_default_compose_to_the_run_that_chose_it(data_set):
    run = json.loads((RUNS / PLAIN[data_set] / "results.json").read_text())
    assert run["status"] == "ok" and run["seed"] == 0
    assert not differences(run, f"srnn-{data_set}")
    # rnnbench dataset=<set> starts from the same numbers (conf/plain/; the reading stays the default's)
    keys = flat(OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "plain" / f"srnn_rmsprop-nesterov_{data_set}.yaml")))
    default, saved = flat(OmegaConf.to_container(compose_cfg(f"dataset={data_set}"), resolve=True)), flat(run["config"])
    assert {k: default[k] for k in keys} == {k: saved[k] for k in keys} == keys
