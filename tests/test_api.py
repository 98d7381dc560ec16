"""The Python API (rnnbench/api.py, issue 23): the three-line notebook example, overrides as a string,
a list or a dict, the same folder files as the command, and a user mistake as an exception."""
import json
import math

import pytest
from omegaconf import OmegaConf

from rnnbench.errors import RnnbenchError

QUICK = "dataset=synthetic train=debug model.hidden=8 device=cpu train.progress=false"


def test_the_notebook_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default folder is outputs/<date>/<time>, as the command's
    from rnnbench import run

    r = run(QUICK + f" data.root={tmp_path / 'data'}")
    assert math.isfinite(r["test_nll"]) and r["status"] in ("ok", "no_better_than_floor")
    folder = tmp_path / r["run_dir"]
    assert folder.parent.parent == tmp_path / "outputs"
    on_disk = json.loads((folder / "results.json").read_text())
    assert on_disk["test_nll"] == r["test_nll"] and (folder / "metrics.csv").is_file()
    assert OmegaConf.load(folder / ".hydra" / "config.yaml").model.hidden == 8 and (folder / "rnnbench.log").is_file()
    with pytest.raises(RnnbenchError, match="already holds a finished run"):
        run(QUICK + f" data.root={tmp_path / 'data'}", run_dir=folder)


def test_overrides_as_a_string_a_list_or_a_dict_compose_the_same_config(tmp_path):
    from rnnbench import compose

    text = QUICK + " optim.lr=0.01 search=random 'search.space.model.hidden=[8, 16]' regulariser=fd data.root='a b'"
    as_dict = {"dataset": "synthetic", "train": "debug", "model.hidden": 8, "device": "cpu", "train.progress": False,
               "optim.lr": 0.01, "search": "random", "search.space.model.hidden": [8, 16], "regulariser": "fd",
               "data.root": "a b"}
    a, b = compose(text), compose(as_dict)
    assert OmegaConf.to_container(a) == OmegaConf.to_container(b)
    assert a.search.space.model.hidden == [8, 16] and a.data.root == "a b" and a.train.progress is False
    assert OmegaConf.to_container(compose(QUICK.split(" "))) == OmegaConf.to_container(compose(QUICK))


def test_a_user_mistake_is_an_exception_with_the_commands_message(tmp_path):
    from rnnbench import run

    with pytest.raises(RnnbenchError, match="optim.lr=-1.0 is not valid: optim.lr must be a finite number > 0"):
        run(QUICK + " optim.lr=-1", run_dir=tmp_path / "run")
    with pytest.raises(RnnbenchError, match="Could not find 'dataset/nope'"):
        run("dataset=nope", run_dir=tmp_path / "run")
    with pytest.raises(RnnbenchError, match="give run\\(\\) a run_dir"):
        run(QUICK + " hydra.run.dir=x")
    assert not (tmp_path / "run").exists()  # nothing was written


def test_a_search_returns_its_chosen_member_and_every_member(tmp_path):
    from rnnbench import run

    r = run(QUICK + f" data.root={tmp_path / 'data'} search=random search.n=2 search.space.model.hidden=[8]",
            run_dir=tmp_path / "search", quiet=True)
    assert len(r["members"]) == 2 and r["valid_nll"] == min(m["valid_nll"] for m in r["members"])
    assert (tmp_path / "search" / "population.json").is_file()
