"""Population training: a member gives the numbers of its single run; members that diverge are
frozen alone; random-search draws and grouping."""
import json
import math
import time

import pytest
import torch

from rnnbench.errors import ConfigError
from rnnbench.population.search import expand, flatten_space, groups, run_population
from rnnbench.population.train import train_population
from rnnbench.train import train
from tests.conftest import ENDED


def _search(quick_cfg, *overrides):
    return quick_cfg("model.hidden=8", "search=random", "search.n=4", "search.space.model.hidden=[8]",
                     "train.max_epochs=3", "train.patience=3", *overrides)


def _compare(pop_results, members, tmp_path, tol):
    diffs = []
    for i, (member, res) in enumerate(zip(members, pop_results)):
        alone = train(member, tmp_path / f"alone-{i}")
        for key in ("train_nll", "valid_nll", "test_nll", "test_nll_seq_mean"):
            diffs.append(abs(alone[key] - res[key]))
        assert alone["best_epoch"] == res["best_epoch"] and alone["epochs"] == res["epochs"]
        a = torch.load(tmp_path / f"alone-{i}" / "best.pt", weights_only=True)
        b = torch.load(tmp_path / "pop" / f"{i}" / "best.pt", weights_only=True)
        diffs.extend(float((a[k] - b[k]).abs().max()) for k in a)
    print(f"max |population - single run| over {len(members)} members: {max(diffs):.3g}")
    assert max(diffs) <= tol
    return max(diffs)


@pytest.mark.slow
def test_members_of_a_fast_dropout_search_equal_their_single_runs_float64(quick_cfg, tmp_path):
    """Different init scales, rho, nu, dropout rates, FD-for-final-layer, step rates, momenta."""
    cfg = _search(quick_cfg, "regulariser=fd", "train.precision=float64")
    members, draws = expand(cfg)
    assert len({d["regulariser.recurrent.rate"] for d in draws}) > 1 and len({d["optim.lr"] for d in draws}) > 1
    results = train_population(members, [tmp_path / "pop" / f"{i}" for i in range(len(members))])
    _compare(results, members, tmp_path, 1e-10)


def test_members_with_a_penalty_and_an_lstm_equal_their_single_runs(quick_cfg, tmp_path):
    cfg = quick_cfg("model=lstm", "model.hidden=6", "regulariser=l2", "population.size=2", "train.precision=float64")
    members, _ = expand(cfg)
    members[1].optim.lr = 0.003  # and a step rate of its own
    results = train_population(members, [tmp_path / "pop" / f"{i}" for i in range(2)])
    _compare(results, members, tmp_path, 1e-10)


def test_members_equal_their_single_runs_float32(quick_cfg, tmp_path):
    cfg = quick_cfg("model.hidden=8", "population.size=3", "train.max_epochs=2")
    members, _ = expand(cfg)
    results = train_population(members, [tmp_path / "pop" / f"{i}" for i in range(3)])
    _compare(results, members, tmp_path, 1e-4)  # float32: batched and single kernels may round differently


def test_a_diverging_member_is_frozen_and_the_others_go_on(quick_cfg, tmp_path):
    cfg = quick_cfg("model.hidden=8", "population.size=3", "train.max_epochs=3", "train.patience=3",
                    "train.precision=float64", "train.limit_batches=null")
    members, _ = expand(cfg)
    members[1].optim.lr = 1e300  # the first update makes it non-finite
    members[1].train.clip = None
    results = train_population(members, [tmp_path / "pop" / f"{i}" for i in range(3)])
    assert results[1]["status"] == "diverged" and "non-finite" in results[1]["stop_reason"]
    assert all(r["status"] in ENDED for r in (results[0], results[2]))
    for i in (0, 2):
        alone = train(members[i], tmp_path / f"alone-{i}")
        assert alone["test_nll"] == pytest.approx(results[i]["test_nll"], abs=1e-10)


def test_search_draws_are_seeded_and_grouped_by_shape(quick_cfg):
    cfg = quick_cfg("search=random", "search.n=12", "regulariser=fd", "search.space.model.hidden=[8,16]")
    members, draws = expand(cfg)
    again, draws_again = expand(cfg)
    assert draws == draws_again and [m.seed for m in members] == list(range(12))
    plan = groups(members, max_members=128)
    assert sorted(i for g in plan for i in g) == list(range(12))
    for g in plan:  # one hidden size per group; rates, rates and step rates vary inside
        assert len({members[i].model.hidden for i in g}) == 1
    assert len(plan) == 2
    assert all(len(g) <= 4 for g in groups(members, max_members=4))
    l2, _ = expand(quick_cfg("regulariser=l2", "population.size=2"))
    l2[1].regulariser.penalty_weight = 0.5  # the penalty weight is shared inside a population
    assert len(groups(l2, max_members=128)) == 2
    assert flatten_space({"a": {"b": [1, 2]}, "c.d": {"low": 0.1, "high": 1.0}}) == \
        {"a.b": [1, 2], "c.d": {"low": 0.1, "high": 1.0}}


def test_search_over_a_silent_site_skips_its_rate(quick_cfg):
    members, draws = expand(quick_cfg("search=random", "search.n=2"))  # regulariser=none: no noisy site
    assert not any(k.startswith("regulariser.") and k.endswith(".rate") for k in draws[0])


def test_population_writes_member_results_and_summary(quick_cfg, tmp_path):
    run_population(quick_cfg("population.size=2", "model.hidden=8"), tmp_path)
    summary = json.loads((tmp_path / "population.json").read_text())
    assert summary["n_members"] == 2 and [g["size"] for g in summary["groups"]] == [2]
    for k in range(2):
        res = json.loads((tmp_path / "members" / f"{k:03d}" / "results.json").read_text())
        assert res["status"] in ENDED and res["seed"] == k and res["population"] == {"size": 2, "member": k}
        assert res["config"]["population"]["size"] == 1  # each member re-runs alone as it is


def test_runs_that_cannot_be_batched_train_alone(quick_cfg, tmp_path, caplog):
    """Members of a kind population training cannot stack (an optimiser without per-member rates, STORN, climin's
    blocks, another task) form groups of one, each trained as its single run (the log says why); a population
    that holds two of them is refused."""
    from rnnbench.tasks.music_population import PopulationTask
    from tests.engine_reference import _numbers

    cfg = quick_cfg("population.size=2", "optim=adam", "model.hidden=8")
    with caplog.at_level("INFO", logger="rnnbench"):
        run_population(cfg, tmp_path / "adam")
    assert any("each member trains alone, as its single run: population training supports optim=" in r.getMessage()
               for r in caplog.records)
    assert [g["size"] for g in json.loads((tmp_path / "adam" / "population.json").read_text())["groups"]] == [1, 1]
    members, _ = expand(cfg)
    for i, member in enumerate(members):
        train(member, tmp_path / f"alone-{i}")
        assert _numbers(tmp_path / "adam" / "members" / f"{i:03d}") == _numbers(tmp_path / f"alone-{i}")
    storn = quick_cfg("model=storn", "model.hidden=6", "model.storn.latent=2", "eval.is_samples=2", "search=random",
                      "search.n=2", "search.space.model.hidden=[6]", "train.max_epochs=1")
    assert groups(expand(storn)[0], max_members=128) == [[0], [1]]
    assert all(r["status"] in ENDED for r in run_population(storn, tmp_path / "storn"))  # 002 Table 13 searched STORN
    assert groups(expand(quick_cfg("dataset=ptb", "population.size=2"))[0], max_members=128) == [[0], [1]]
    blocks = quick_cfg("population.size=3", "train.batches=blocks")
    assert groups(expand(blocks)[0], max_members=128) == [[0], [1], [2]]
    assert groups(expand(quick_cfg("population.size=3"))[0], max_members=128) == [[0, 1, 2]]
    with pytest.raises(ConfigError, match="population training batches model=srnn, lstm or gru, not storn"):
        PopulationTask(expand(storn)[0], [tmp_path / "s0", tmp_path / "s1"])
    with pytest.raises(ConfigError, match=r"^search.space.nope: cannot set nope=1: Key 'nope' is not in struct$"):
        expand(quick_cfg("search=random", "+search.space.nope=[1]"))


def test_successive_halving_keeps_exactly_the_best_members():
    """Issue 22: known curves; at rungs 2, 6, 18 (r = 2, eta = 3) the best floor(n/3) of the active go on."""
    from rnnbench.engine.prune import Pruner, rungs

    assert rungs(2, 3, 20) == [2, 6, 18]
    sha = Pruner("sha", 2, 3, 20)
    best = {i: v for i, v in enumerate([5.0, 1.0, 3.0, 2.0, 4.0, 0.5, 6.0, 2.5, 7.0])}
    assert sha(1, list(best.items())) == []  # not a rung
    pruned = sha(2, list(best.items()))
    assert pruned == [0, 2, 4, 6, 7, 8]  # 9 // 3 = 3 go on: members 5 (0.5), 1 (1.0), 3 (2.0)
    assert sha(6, [(5, 0.4), (1, 0.9), (3, 0.3)]) == [1, 5]  # 3 // 3 = 1: member 3
    assert sha(18, [(3, 0.3)]) == []  # the last member is never pruned
    median = Pruner("median", 2, 3, 20)
    assert median(2, [(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0)]) == [2, 3]


def test_hyperband_brackets_are_successive_halving_from_later_rungs():
    """Li et al. 2018, Algorithm 1 with R = 500, r = 5, eta = 3: s_max = 4 and n_s = 81, 34, 15, 8, 5; bracket s
    halves at r * eta^(s_max - s) .. r * eta^(s_max - 1) and its last round trains to R."""
    from rnnbench.engine.prune import Pruner, bracket_sizes

    assert bracket_sizes(143, 5, 3, 500) == [81, 34, 15, 8, 5]  # n = sum n_s: Hyperband's own counts
    assert bracket_sizes(14, 5, 3, 500) == [8, 3, 1, 1, 1] and sum(bracket_sizes(7, 2, 2, 9)) == 7
    hb = Pruner("hyperband", 5, 3, 500, 14)
    assert [(sorted(m), sorted(r)) for m, r in hb.brackets] == [
        (list(range(8)), [5, 15, 45, 135]), ([8, 9, 10], [15, 45, 135]), ([11], [45, 135]), ([12], [135]), ([13], [])]
    best = [(i, float(14 - i)) for i in range(14)]  # member 13 is the best, 0 the worst
    assert hb(5, best) == [0, 1, 2, 3, 4, 5]  # only bracket 4 has a rung at 5: 8 // 3 = 2 of it go on (6, 7)
    assert hb(15, [(6, 1.0), (7, 2.0), (8, 3.0), (9, 0.5), (10, 4.0), (13, 0.1)]) == [7, 8, 10]  # each bracket alone
    assert hb(405, [(6, 1.0), (9, 0.5), (13, 0.1)]) == []  # past the last rung: every bracket trains to R
    assert hb.bracket(0) == 4 and hb.bracket(13) == 0 and "hyperband bracket 3" in hb.reason(15, 9)


def test_a_pruned_member_is_frozen_and_written(quick_cfg, tmp_path):
    cfg = quick_cfg("model.hidden=8", "search=random", "search.n=4", "search.space.model.hidden=[8]",
                    "search.pruner=sha", "search.rung=1", "search.eta=2", "train.max_epochs=3", "train.patience=3")
    results = run_population(cfg, tmp_path)
    statuses = [r["status"] for r in results]
    assert statuses.count("pruned") == 3  # 4 -> 2 after epoch 1, 2 -> 1 after epoch 2
    by_epoch = sorted((r["epochs"], r["status"]) for r in results)
    assert [e for e, s in by_epoch if s == "pruned"] == [1, 1, 2] and by_epoch[-1][0] == 3
    for r in results:
        if r["status"] == "pruned":
            assert "pruned after epoch" in r["stop_reason"] and math.isfinite(r["test_nll"])  # evaluated at its best
    on_disk = [json.loads(p.read_text())["status"] for p in sorted(tmp_path.glob("members/*/results.json"))]
    assert on_disk == statuses


def test_a_group_of_one_trains_as_its_single_run_bit_for_bit(quick_cfg, tmp_path):
    """A group of one member (population.max_members=1 here; in 002's open search every drawn hidden size) trains as
    its single run: the numbers of the command that retrains it alone, bit for bit (the same kernels on the same
    shapes), also where its noise is sampled (DropConnect: under vmap each member would draw its own masks)."""
    from tests.engine_reference import _numbers

    cfg = _search(quick_cfg, "regulariser=dropconnect", "search.n=2", "population.max_members=1")
    members, _ = expand(cfg)
    run_population(cfg, tmp_path / "search")
    record = json.loads((tmp_path / "search" / "population.json").read_text())
    assert [g["size"] for g in record["groups"]] == [1, 1]
    for i, member in enumerate(members):
        train(member, tmp_path / f"alone-{i}")
        assert _numbers(tmp_path / "search" / "members" / f"{i:03d}") == _numbers(tmp_path / f"alone-{i}")
        a = torch.load(tmp_path / f"alone-{i}" / "best.pt", weights_only=True)
        b = torch.load(tmp_path / "search" / "members" / f"{i:03d}" / "best.pt", weights_only=True)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_group_of_one_checkpointed_as_a_population_goes_on_as_one(quick_cfg, tmp_path, monkeypatch):
    """A group of one that a population started (rnnbench before groups of one trained alone) holds a population's
    checkpoint: train_population resumes it as a population, to the numbers of an uninterrupted population."""
    from rnnbench.engine import checkpoint as ckpt
    from rnnbench.engine.checkpoint import holds_population
    from rnnbench.engine.fit import fit
    from rnnbench.tasks.music_population import PopulationTask
    from tests.engine_reference import _numbers

    [member] = expand(quick_cfg("model.hidden=8", "regulariser=dropconnect", "train.max_epochs=3", "train.patience=3",
                                "train.precision=float64"))[0]
    fit(PopulationTask([member], [tmp_path / "whole"]), time.perf_counter(), "whole")

    class Killed(BaseException):
        pass

    real = ckpt.save

    def save_then_kill(path, state):  # kill -9 right after the first epoch's checkpoint is on disk
        real(path, state)
        raise Killed

    monkeypatch.setattr(ckpt, "save", save_then_kill)
    with pytest.raises(Killed):
        fit(PopulationTask([member], [tmp_path / "killed"]), time.perf_counter(), "killed")
    monkeypatch.setattr(ckpt, "save", real)
    assert holds_population(tmp_path / "killed" / "checkpoint.pt")
    [res] = train_population([member], [tmp_path / "killed"])
    assert res["resumed"]["after_epoch"] == 1 and res["population"] == {"size": 1, "member": 0}
    assert _numbers(tmp_path / "killed") == _numbers(tmp_path / "whole")


def test_seeds_of_a_word_model_train_alone_as_their_single_runs(tmp_path):
    """population.size=N on PTB (a task populations do not batch): N groups of one, each its seed's single run."""
    from rnnbench.train import run_config
    from tests.conftest import compose_cfg
    from tests.datafiles import write_tiny_ptb
    from tests.engine_reference import _numbers

    write_tiny_ptb(tmp_path / "data")
    common = ("dataset=ptb", "model.hidden=8", "model.embedding=8", "train=debug", "device=cpu", "train.batch_size=4",
              "dataset.bptt=7", "train.progress=false", f"data.root={tmp_path / 'data'}", "data.download=false",
              "data.verify=false")
    _, members = run_config(compose_cfg(*common, "population.size=2"), tmp_path / "seeds")
    assert [m["seed"] for m in members] == [0, 1]
    assert [g["size"] for g in json.loads((tmp_path / "seeds" / "population.json").read_text())["groups"]] == [1, 1]
    train(compose_cfg(*common, "seed=1"), tmp_path / "alone")
    assert _numbers(tmp_path / "seeds" / "members" / "001") == _numbers(tmp_path / "alone")
