"""search=tpe (rnnbench/population/tpe.py): optuna's ask/tell rounds trained as populations, a stored
study that an interrupted search continues, and TPE doing better than random on a small problem."""
import csv
import json
import math
import random
import statistics

import pytest

from rnnbench.population.search import _draw
from tests.conftest import ENDED, compose_cfg

optuna = pytest.importorskip("optuna")
from rnnbench.population.study import open_study  # noqa: E402
from rnnbench.population.tpe import run_tpe, tpe_search  # noqa: E402

# a small synthetic search problem over the kinds of leaves search.space has (log-uniform, uniform, int)
SPACE = {"optim.lr": {"low": 1e-5, "high": 0.1, "log": True}, "optim.momentum": {"low": 0.0, "high": 0.999},
         "optim.decay": {"low": 0.1, "high": 0.99}, "model.init.var_in": {"low": 1e-4, "high": 1.5, "log": True},
         "model.hidden": {"low": 100, "high": 600, "int": True}}


def objective(d: dict) -> float:
    return ((math.log10(d["optim.lr"]) + 3) ** 2 + 4 * (d["optim.momentum"] - 0.95) ** 2
            + 2 * (d["optim.decay"] - 0.85) ** 2 + 0.5 * (math.log10(d["model.init.var_in"]) + 2) ** 2
            + ((d["model.hidden"] - 400) / 200) ** 2)


def test_tpe_beats_random_search_with_the_same_budget(tmp_path):
    tpe, rnd = [], []
    for seed in range(6):
        study = open_study(tmp_path / f"s{seed}.db", seed, startup=8)
        tpe_search(study, SPACE, n=40, per_round=8, evaluate=lambda numbers, draws: [objective(d) for d in draws])
        assert len(study.trials) == 40
        tpe.append(study.best_value)
        rng = random.Random(seed)
        rnd.append(min(objective({k: _draw(v, rng, k) for k, v in SPACE.items()}) for _ in range(40)))
    assert all(t < r for t, r in zip(tpe, rnd)), (tpe, rnd)
    assert statistics.fmean(tpe) < 0.5 * statistics.fmean(rnd)


def _cfg(n: int):
    return compose_cfg("dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu", "train.progress=false",
                       "regulariser=fd", "search=tpe", f"search.n={n}", "search.per_round=2", "search.startup=2",
                       "search.space.model.hidden=[8]")


@pytest.mark.slow
def test_a_tpe_search_trains_rounds_and_continues_after_an_interruption(tmp_path):
    results = run_tpe(_cfg(4), tmp_path)
    assert len(results) == 4 and all(r["status"] in ENDED for r in results)
    summary = json.loads((tmp_path / "population.json").read_text())
    assert summary["search"] == "tpe" and [m["state"] for m in summary["members"]] == ["COMPLETE"] * 4
    assert [m["valid_nll"] for m in summary["members"]] == pytest.approx([r["valid_nll"] for r in results])
    first = {p: p.read_bytes() for p in tmp_path.glob("members/*/results.json")}
    assert len(first) == 4
    study = optuna.load_study(study_name="rnnbench", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    study.ask()  # a trial that an interruption left running
    results = run_tpe(_cfg(6), tmp_path)  # the same folder, a larger budget: it continues
    states = [t.state.name for t in optuna.load_study(study_name="rnnbench",
                                                      storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials]
    assert states == ["COMPLETE"] * 4 + ["FAIL"] + ["COMPLETE"] * 2
    assert all(p.read_bytes() == b for p, b in first.items())  # the finished trials are untouched
    assert sorted(p.parent.name for p in tmp_path.glob("members/*/results.json")) == ["000", "001", "002", "003",
                                                                                       "005", "006"]
    seeds = {json.loads(p.read_text())["seed"] for p in tmp_path.glob("members/*/results.json")}
    assert seeds == {0, 1, 2, 3, 5, 6}  # trial k trains with seed + k
    trials = optuna.load_study(study_name="rnnbench", storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials
    assert [t.user_attrs.get("member") for t in trials if t.state.name == "COMPLETE"] == \
        [f"members/{k:03d}" for k in (0, 1, 2, 3, 5, 6)]  # each trial names its member folder
    record = json.loads((tmp_path / "population.json").read_text())
    assert len(record["runs"]) == 2 and record["wall_s"] == pytest.approx(sum(r["wall_s"] for r in record["runs"]))


def test_retrain_command_and_startup_limit():
    from rnnbench.config import check_common
    from rnnbench.errors import ConfigError
    from rnnbench.population.search import retrain_command

    cfg = _cfg(4)
    assert retrain_command(cfg, 3, {"optim.lr": 0.01, "model.hidden": 8}) == \
        "rnnbench search=none seed=3 optim.lr=0.01 model.hidden=8"
    with pytest.raises(ConfigError, match="search.startup=8 random trials would leave TPE less than half of "
                                          "search.n=8; set search.startup <= 4"):
        check_common(compose_cfg("search=tpe", "search.n=8"))


@pytest.mark.slow
def test_optunas_pruner_stops_tpe_members_while_they_train(tmp_path):
    """Issue 22: search=tpe with search.pruner=sha asks optuna's SuccessiveHalvingPruner: every active member
    reports its best validation NLL so far at step = epoch; a pruned trial is told PRUNED, its member is written
    `pruned` at the epoch it stopped, and pruned trials count towards search.n."""
    cfg = compose_cfg("dataset=synthetic", "model.hidden=8", "device=cpu", "train.progress=false", "regulariser=fd",
                      "search=tpe", "search.n=8", "search.per_round=4", "search.startup=4", "search.space.model.hidden=[8]",
                      "search.pruner=sha", "search.rung=1", "search.eta=2", "train.max_epochs=4", "train.patience=4",
                      "train.diverge_factor=null")
    results = run_tpe(cfg, tmp_path)
    study = optuna.load_study(study_name="rnnbench", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    trials = study.trials
    states = [t.state.name for t in trials]
    assert len(trials) == 8 and "PRUNED" in states and set(states) <= {"COMPLETE", "PRUNED"}
    for t in trials:
        member = tmp_path / t.user_attrs["member"]
        r = json.loads((member / "results.json").read_text())
        best = [float(row["best_valid_nll"]) for row in csv.DictReader(open(member / "metrics.csv"))]
        # one report per epoch trained, up to the epoch it was pruned at (the epoch a member stops at for another
        # reason, here max_epochs, asks no pruner: its value is the one told)
        reported = r["epochs"] if t.state.name == "PRUNED" else r["epochs"] - 1
        assert sorted(t.intermediate_values) == list(range(1, reported + 1))
        assert [t.intermediate_values[e] for e in sorted(t.intermediate_values)] == pytest.approx(best[:reported])
        if t.state.name == "PRUNED":
            assert r["status"] == "pruned" and r["epochs"] < 4 and "SuccessiveHalvingPruner" in r["stop_reason"]
            assert t.value == pytest.approx(r["valid_nll"])  # optuna keeps the last report: the member's best
            assert math.isfinite(r["test_nll"])  # frozen at its best state and evaluated
        else:
            assert r["status"] in ENDED and t.value == pytest.approx(r["valid_nll"])
    assert len(results) == 8
    summary = json.loads((tmp_path / "population.json").read_text())
    assert [m["state"] for m in summary["members"]] == states
