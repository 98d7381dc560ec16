"""The engine (rnnbench/engine/): one loop for every task, the numbers of each task unchanged by the
move, tasks chosen by dataset.task, the import layers, and resume after a kill."""
import ast
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import rnnbench.engine.checkpoint as ckpt
from rnnbench.errors import ConfigError
from rnnbench.tasks import TASKS, task_class
from rnnbench.train import train
from tests.conftest import ENDED, REPO, compose_cfg
from tests.datafiles import write_tiny_ptb
from tests.engine_reference import CASES, COMMON, REFERENCE, UNSTABLE, _numbers, run_case


def _equal(ref, got, path=""):
    """Every entry of ``ref`` is in ``got`` with the same value (floats to 1e-12 relative, for CPUs
    whose float64 reductions differ in the last bits)."""
    if isinstance(ref, dict):
        assert isinstance(got, dict), path
        for k in ref:
            assert k in got, f"{path}{k} missing"
            _equal(ref[k], got[k], f"{path}{k}.")
    elif isinstance(ref, list):
        assert isinstance(got, list) and len(ref) == len(got), path
        for i, (a, b) in enumerate(zip(ref, got)):
            _equal(a, b, f"{path}{i}.")
    elif isinstance(ref, float) and isinstance(got, float):
        assert got == pytest.approx(ref, rel=1e-12, abs=1e-300), path
    elif isinstance(ref, str) and isinstance(got, str) and ref != got:
        try:  # a number in metrics.csv
            assert float(got) == pytest.approx(float(ref), rel=1e-12), path
        except ValueError:
            assert got == ref, path
    else:
        assert got == ref, path


@pytest.mark.parametrize("name", list(CASES))
def test_numbers_equal_the_recorded_reference(name, tmp_path):
    """Each task's numbers on a fixed seed (float64, CPU) are those recorded before the loops became one
    engine (tests/data/engine_reference.json, recorded at the commit it names)."""
    reference = json.loads(REFERENCE.read_text())
    got = run_case(name, tmp_path)
    assert set(got) == set(reference["cases"][name])
    _equal(reference["cases"][name], got)


@pytest.mark.parametrize("dataset, task", [("jsb", "music"), ("nottingham", "music"), ("musedata", "music"),
                                           ("piano-midi", "music"), ("synthetic", "music"), ("ptb", "word-lm"),
                                           ("sentiment", "regression")])
def test_the_data_set_names_its_task(dataset, task):
    cfg = compose_cfg(f"dataset={dataset}")
    assert cfg.dataset.task == task
    assert task_class(cfg).__module__ == TASKS[task].split(":")[0]


def test_an_unknown_task_is_a_config_error():
    cfg = compose_cfg("dataset=synthetic", "dataset.task=vision")
    with pytest.raises(ConfigError, match="dataset.task=vision is not a task; valid: music, word-lm, regression"):
        task_class(cfg)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("rnnbench")}


# each layer, and what it must not import (the data path reads top-down: cli -> train -> tasks,
# population -> engine -> models, data, regularisers, optim, config)
LAYERS = {
    "engine": ("rnnbench.tasks", "rnnbench.population", "rnnbench.tools", "rnnbench.cli", "rnnbench.train"),
    "tasks": ("rnnbench.population", "rnnbench.tools", "rnnbench.cli", "rnnbench.train"),
    "population": ("rnnbench.tools", "rnnbench.cli", "rnnbench.train"),
    "models": ("rnnbench.engine", "rnnbench.tasks", "rnnbench.population", "rnnbench.tools", "rnnbench.cli"),
    "data": ("rnnbench.engine", "rnnbench.tasks", "rnnbench.population", "rnnbench.tools", "rnnbench.cli"),
    "regularisers": ("rnnbench.engine", "rnnbench.tasks", "rnnbench.population", "rnnbench.tools", "rnnbench.cli"),
    "optim": ("rnnbench.engine", "rnnbench.tasks", "rnnbench.population", "rnnbench.tools", "rnnbench.cli"),
    "config": ("rnnbench.engine", "rnnbench.tasks", "rnnbench.population", "rnnbench.tools", "rnnbench.cli"),
}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_no_lower_layer_imports_a_higher_one(layer):
    bad = [(str(p.relative_to(REPO)), m) for p in (REPO / "rnnbench" / layer).glob("*.py") for m in _imports(p)
           if m.startswith(LAYERS[layer])]
    assert not bad


def test_no_dataset_name_chooses_code():
    """Tasks are chosen by dataset.task; no module tests a data set's name to decide what to run."""
    hits = [str(p.relative_to(REPO)) for p in (REPO / "rnnbench").rglob("*.py")
            if any(s in p.read_text() for s in ('dataset.name == "', "dataset.name in (", 'name in ("ptb"'))]
    assert not hits


# ------------------------------------------------------------------------------------------- resume

class Killed(BaseException):
    """Stands for kill -9 in-process: nothing catches it, nothing after it runs."""


def _kill_at(monkeypatch, n, written: bool):
    """Kill the run at its n-th checkpoint (or the first whose state ``n(state)`` is true): right after
    it is on disk (written=True), or just before (the epoch's metrics row is then on disk and the
    checkpoint is the previous one's)."""
    real, calls = ckpt.save, {"n": 0}

    def save(path, state):
        calls["n"] += 1
        now = n(state) if callable(n) else calls["n"] == n
        if now and not written:
            raise Killed
        real(path, state)
        if now:
            raise Killed

    monkeypatch.setattr(ckpt, "save", save)
    return lambda: monkeypatch.setattr(ckpt, "save", real)


def _run_numbers(run_dir: Path) -> dict:
    out = _numbers(run_dir)
    out["metrics"] = [{k: v for k, v in r.items() if k not in UNSTABLE} for r in out["metrics"]]
    return out


def _cfg(name: str, root: Path, *extra):
    write, overrides = CASES[name]
    if write is not None and not (root / ("ptb" if write is write_tiny_ptb else "sentiment")).exists():
        write(root)
    return compose_cfg(*COMMON, f"data.root={root}", *overrides, *extra)


RESUME_CASES = [("music-srnn-fd", 2, True), ("music-srnn-fd", 2, False), ("music-storn", 1, True),
                ("ptb-lstm-variational", 2, False), ("sentiment-gru-variational", 2, True)]


@pytest.mark.parametrize("name, n, written", RESUME_CASES)
def test_a_killed_run_resumes_to_the_numbers_of_an_uninterrupted_one(name, n, written, tmp_path, monkeypatch, caplog):
    root = tmp_path / "data"
    root.mkdir()
    cfg = _cfg(name, root)
    train(cfg, tmp_path / "whole")
    assert not (tmp_path / "whole" / "checkpoint.pt").exists()  # removed once the run is finished
    restore = _kill_at(monkeypatch, n, written)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed")
    restore()
    assert (tmp_path / "killed" / "checkpoint.pt").is_file() and not (tmp_path / "killed" / "results.json").exists()
    rows_before = (tmp_path / "killed" / "metrics.csv").read_text().count("\n") - 1
    assert rows_before == n  # the epoch after the last checkpoint may be on disk: the resumed run drops it
    res = train(cfg, tmp_path / "killed")
    assert "resuming from" in caplog.text
    assert res["resumed"]["after_epoch"] == n - (0 if written else 1)
    assert _run_numbers(tmp_path / "killed") == _run_numbers(tmp_path / "whole")
    assert not (tmp_path / "killed" / "checkpoint.pt").exists()


def test_the_mc_test_curve_leaves_training_alone_and_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    """eval.mc_curve (003 §5.2: the MC dropout test RMSE every epoch) draws in a forked random state: the training
    numbers and the deterministic curve equal those of the run without it (same kernels, same shapes: exactly);
    results.json's test_rmse_mc is the curve's last point; a killed run resumes to the same curve."""
    root = tmp_path / "data"
    root.mkdir()
    plain, curve = _cfg("sentiment-gru-variational", root), _cfg("sentiment-gru-variational", root, "eval.mc_curve=true")
    train(plain, tmp_path / "plain")
    res = train(curve, tmp_path / "curve")
    without, with_mc = _run_numbers(tmp_path / "plain"), _run_numbers(tmp_path / "curve")
    rows = with_mc["metrics"]
    assert list(rows[0]) == ["epoch", "lr", "train_mse", "test_rmse", "test_rmse_mc"]  # epoch_s is UNSTABLE
    assert [{k: v for k, v in r.items() if k != "test_rmse_mc"} for r in rows] == without["metrics"]
    assert with_mc["best_abs_sum"] == without["best_abs_sum"]
    assert all(r["test_rmse_mc"] != r["test_rmse"] for r in rows)  # the noisy passes average to another number
    assert res["test_rmse_mc"] == float(rows[-1]["test_rmse_mc"]) and res["eval_modes"] == ["deterministic", "mc3"]
    restore = _kill_at(monkeypatch, 2, True)
    with pytest.raises(Killed):
        train(curve, tmp_path / "killed")
    restore()
    train(curve, tmp_path / "killed")
    assert _run_numbers(tmp_path / "killed") == with_mc


@pytest.mark.parametrize("overrides, message", [
    (("dataset=sentiment", "eval.mc_curve=true"), "eval.mc_curve=true needs eval.mc_samples > 0"),
    (("dataset=jsb", "eval.mc_curve=true", "eval.mc_samples=2"),
     "eval.mc_curve=true logs the Monte Carlo test RMSE every epoch, which the sentiment task does (the test curve of "
     "003 §5.2); dataset=jsb is a music task"),
])
def test_the_mc_curve_is_refused_where_it_cannot_be_drawn(overrides, message):
    from rnnbench.config import check_common

    with pytest.raises(ConfigError, match=re.escape(message)):
        check_common(compose_cfg(*overrides))


def test_a_run_stopped_by_its_time_budget_continues_under_a_larger_one(tmp_path):
    """A single run stopped by train.max_seconds keeps its checkpoint; the same command with a larger budget trains on
    from it to the numbers of one run that never had the smaller budget; the first results are set aside, never
    overwritten; the same budget again, or one still below the time it ran, is refused with the way to continue."""
    from rnnbench.api import run
    from rnnbench.errors import RnnbenchError

    args = [*COMMON, f"data.root={tmp_path}", *CASES["music-srnn-fd"][1]]
    run(args, run_dir=tmp_path / "whole", quiet=True)
    cut = run(args + ["train.max_seconds=1e-6"], run_dir=tmp_path / "cut", quiet=True)  # stops after epoch 1
    assert cut["epochs"] == 1 and cut["stop_reason"].startswith("time budget of 1e-06s reached")  # (above the floor)
    assert (tmp_path / "cut" / "checkpoint.pt").is_file()  # kept: the run can go on
    first = (tmp_path / "cut" / "results.json").read_bytes()
    for budget in ("1e-6", "2e-6"):  # not larger than the time the run had trained
        with pytest.raises(RnnbenchError, match=r"already holds a finished run \(status \w+\); its time budget \(1e-06 s\) "
                           r"stopped it after epoch 1: a larger train.max_seconds, or train.max_seconds=null, "
                           r"continues it from its checkpoint; nothing was changed"):
            run(args + [f"train.max_seconds={budget}"], run_dir=tmp_path / "cut", quiet=True)
    assert (tmp_path / "cut" / "results.json").read_bytes() == first
    more = run(args + ["train.max_seconds=600"], run_dir=tmp_path / "cut", quiet=True)
    assert more["resumed"] == {"from": "checkpoint.pt", "after_epoch": 1, "inside_epoch": None, "budget_before": 1e-6}
    assert _run_numbers(tmp_path / "cut") == _run_numbers(tmp_path / "whole")
    assert (tmp_path / "cut" / "results.budget-1e-06s.json").read_bytes() == first  # set aside, not overwritten
    assert (tmp_path / "cut" / "best.budget-1e-06s.pt").is_file()
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()  # ended by max_epochs: nothing left to continue


def test_a_search_member_stopped_by_its_budget_keeps_no_checkpoint(tmp_path):
    """Only the command's single run keeps the checkpoint of a budget stop: a search's group of one (fit_run, as
    rnnbench/population/train.py calls it) removes it, as every finished group does."""
    from rnnbench.tasks import fit_run

    cfg = _cfg("music-srnn-fd", tmp_path, "train.max_seconds=1e-6")
    r = fit_run(cfg, tmp_path / "member", time.perf_counter())
    assert r["stop_reason"].startswith("time budget") and not (tmp_path / "member" / "checkpoint.pt").exists()


def test_a_word_lm_resumes_inside_an_epoch(tmp_path, monkeypatch):
    """PTB: train.checkpoint_every_s writes checkpoints inside an epoch (here after every window); a
    kill inside epoch 2 resumes at the next window with the carried state and running sums."""
    root = tmp_path / "data"
    root.mkdir()
    cfg = _cfg("ptb-lstm-variational", root, "train.checkpoint_every_s=0")
    train(cfg, tmp_path / "whole")
    restore = _kill_at(monkeypatch, lambda s: s["epoch"] == 1 and (s["partial"] or {}).get("windows") == 2, True)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed")
    restore()
    state = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1 and state["partial"]["windows"] == 2
    res = train(cfg, tmp_path / "killed")
    assert res["resumed"]["inside_epoch"] == 2
    assert _run_numbers(tmp_path / "killed") == _run_numbers(tmp_path / "whole")
    # killed inside its first epoch (the checkpoint says epoch 0): the resumed run says so too
    restore = _kill_at(monkeypatch, lambda s: s["epoch"] == 0 and (s["partial"] or {}).get("windows") == 2, True)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "first")
    restore()
    res = train(cfg, tmp_path / "first")
    assert res["resumed"] == {"from": "checkpoint.pt", "after_epoch": None, "inside_epoch": 1}
    assert _run_numbers(tmp_path / "first") == _run_numbers(tmp_path / "whole")


def test_a_killed_population_resumes(tmp_path, monkeypatch):
    from rnnbench.population.search import run_population

    root = tmp_path / "data"
    root.mkdir()
    cfg = _cfg("music-population-random", root)
    run_population(cfg, tmp_path / "whole")
    restore = _kill_at(monkeypatch, 2, False)
    with pytest.raises(Killed):
        run_population(cfg, tmp_path / "killed")
    restore()
    assert (tmp_path / "killed" / "members" / "000" / "checkpoint.pt").is_file()
    run_population(cfg, tmp_path / "killed")
    for member in ("000", "001", "002"):
        assert _run_numbers(tmp_path / "killed" / "members" / member) == _run_numbers(tmp_path / "whole" / "members" / member)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "killed").rglob("results.json")}
    run_population(cfg, tmp_path / "killed")  # finished: every group is skipped, nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "killed").rglob("results.json")} == before


def test_run_config_checks_a_population_from_python_and_says_when_dispatch_does_nothing(quick_cfg, tmp_path, caplog):
    """rnnbench.train.run_config (the Python entry of a run, population or search) checks the settings the CLI
    checks: an unknown population.dispatch is a ConfigError before a folder is made; on a single run a
    dispatch other than here is said in a warning (the run trains here) and the run trains."""
    from omegaconf import open_dict

    from rnnbench.train import run_config

    bad = quick_cfg("population.size=2")
    with open_dict(bad):
        bad.population.dispatch = "threads"  # past the CLI's parse, as a script might set it
    with pytest.raises(ConfigError, match="population.dispatch=threads is not a way to dispatch groups"):
        run_config(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    with caplog.at_level("WARNING", logger="rnnbench"):
        one, members = run_config(quick_cfg("population.dispatch=processes"), tmp_path / "one")
    assert members == [] and one["status"] in ENDED
    assert any("population.dispatch=processes sends the groups of a population or search away; this is one run "
               "and trains here" in r.getMessage() for r in caplog.records)


def test_an_interrupted_search_records_its_groups_and_time_and_the_next_run_adds_its_own(quick_cfg, tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM (KeyboardInterrupt) in a search's second group: population.json records the run so far (the
    first group finished, the others interrupted, its wall time) and rnnbench-reproduce reads the search as running;
    the same command finishes it and appends its own run, the search's wall time being the sum of the two."""
    import rnnbench.population.train as population_train
    from rnnbench.population.search import run_population
    from rnnbench.tools.reproduce.cells import selected

    cfg = quick_cfg("search=random", "search.n=3", "search.space.model.hidden=[8,12,16]", "population.max_members=1",
                    "train.max_epochs=2")
    calls, real = [], population_train.train_population

    def stopped_in_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(population_train, "train_population", stopped_in_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_population(cfg, tmp_path)
    record = json.loads((tmp_path / "population.json").read_text())
    assert [g["ended"] for g in record["groups"]] == ["finished", "interrupted", "interrupted"]
    assert [m["status"] is not None for m in record["members"]] == [True, False, False]
    assert len(record["runs"]) == 1 and record["wall_s"] > 0
    assert selected(tmp_path)["status"] == "running"
    monkeypatch.setattr(population_train, "train_population", real)
    run_population(cfg, tmp_path)
    record = json.loads((tmp_path / "population.json").read_text())
    assert [g.get("ended") for g in record["groups"]] == [None, "finished", "finished"]  # the first skipped
    assert len(record["runs"]) == 2 and record["wall_s"] == pytest.approx(sum(r["wall_s"] for r in record["runs"]))
    assert selected(tmp_path)["status"] in ENDED


def test_resuming_with_another_configuration_is_refused(tmp_path, monkeypatch):
    cfg = _cfg("music-srnn-fd", tmp_path)
    restore = _kill_at(monkeypatch, 1, True)
    with pytest.raises(Killed):
        train(cfg, tmp_path / "run")
    restore()
    other = _cfg("music-srnn-fd", tmp_path, "optim.lr=0.01", "train.max_seconds=100")  # the budget may change
    with pytest.raises(ConfigError, match=r"holds a run of another configuration \(it differs in optim.lr\)"):
        train(other, tmp_path / "run")
    assert (tmp_path / "run" / "checkpoint.pt").is_file()


def test_a_broken_checkpoint_is_named_not_loaded(tmp_path):
    cfg = _cfg("music-srnn-fd", tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ConfigError, match="checkpoint.pt is not a readable rnnbench checkpoint .*Delete it to start"):
        train(cfg, tmp_path / "run")


def test_checkpoints_can_be_switched_off(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(ckpt, "save", lambda path, state: calls.append(path))
    train(_cfg("music-srnn-fd", tmp_path, "train.checkpoint=false"), tmp_path / "run")
    assert calls == []


def _whole_then_again(args: list[str], tmp_path: Path, **popen):
    """Run the command ``args`` to its end in tmp_path/whole, then start it in tmp_path/killed: (that
    command, its environment, its process)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.run(args + [f"hydra.run.dir={tmp_path / 'whole'}"], env=env, capture_output=True, text=True,
                           timeout=600)
    assert whole.returncode == 0, whole.stderr
    cmd = args + [f"hydra.run.dir={tmp_path / 'killed'}"]
    return cmd, env, subprocess.Popen(cmd, env=env, **popen)


def _reached(path: Path, epoch: int, proc, seconds: float = 300) -> bool:
    """Wait until the checkpoint ``path`` holds ``epoch`` or later (True), or ``proc`` ended or time ran out."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            if path.exists() and torch.load(path, weights_only=True)["epoch"] >= epoch:
                return True
        except Exception:  # read between its write and its rename: read it again
            pass
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_kill_9_then_the_same_command_continues(tmp_path):
    """The real thing: SIGKILL a CLI run after its second checkpoint, run the same command again."""
    args = [sys.executable, "-m", "rnnbench", "dataset=synthetic", "dataset.n_train=400", "model.hidden=64",
            "train.batch_size=8", "train.max_epochs=6", "train.patience=6", "device=cpu", "train.progress=false",
            "train.precision=float64", "regulariser=fd", f"data.root={tmp_path / 'data'}"]
    run, env, proc = _whole_then_again(args, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _reached(tmp_path / "killed" / "checkpoint.pt", 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "results.json").exists()
    again = subprocess.run(run, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stdout + again.stderr
    assert _run_numbers(tmp_path / "killed") == _run_numbers(tmp_path / "whole")
    finished = subprocess.run(run, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 2 and "already holds a finished run" in finished.stderr


class Cancelled(Exception):
    """What a parent sees when its group's job is cancelled or pre-empted (submitit's UncompletedJobError)."""


def test_a_search_whose_group_was_cancelled_resumes_it(tmp_path, monkeypatch):
    """Issue 22: a group that stops with its checkpoint on disk is interrupted, not failed: nothing is written
    for its members, the search ends with SearchIncomplete, and the same command resumes the group from its
    checkpoint to the numbers of an uninterrupted search; population.json keeps every run."""
    from rnnbench.errors import SearchIncomplete
    from rnnbench.population.search import run_population

    root = tmp_path / "data"
    root.mkdir()
    cfg = _cfg("music-population-random", root)
    run_population(cfg, tmp_path / "whole")
    real, calls = ckpt.save, {"n": 0}

    def save(path, state):
        real(path, state)
        calls["n"] += 1
        if calls["n"] == 2:
            raise Cancelled("job 1234 was cancelled")

    monkeypatch.setattr(ckpt, "save", save)
    with pytest.raises(SearchIncomplete, match="1 of 1 groups did not finish \\(group 0 interrupted\\); run the same "
                                               "command to resume"):
        run_population(cfg, tmp_path / "cut")
    monkeypatch.setattr(ckpt, "save", real)
    cut = tmp_path / "cut"
    assert not list(cut.glob("members/*/results.json")) and (cut / "members" / "000" / "checkpoint.pt").is_file()
    first = json.loads((cut / "population.json").read_text())
    assert [g["ended"] for g in first["groups"]] == ["interrupted"]
    run_population(cfg, cut)
    for member in ("000", "001", "002"):
        assert _run_numbers(cut / "members" / member) == _run_numbers(tmp_path / "whole" / "members" / member)
    again = json.loads((cut / "population.json").read_text())
    assert [[g["ended"] for g in r["groups"]] for r in again["runs"]] == [["interrupted"], ["finished"]]
    assert again["wall_s"] == pytest.approx(sum(r["wall_s"] for r in again["runs"]))
    run_population(cfg, cut)  # finished: skipped, and the record is extended, not overwritten
    assert len(json.loads((cut / "population.json").read_text())["runs"]) == 3


def test_a_failure_written_beside_a_checkpoint_is_not_a_finished_group(tmp_path):
    from rnnbench.population.search import group_finished

    ok, failed = {"status": "ok"}, {"status": "failed"}
    (tmp_path / "checkpoint.pt").write_bytes(b"x")
    assert not group_finished([ok, failed], tmp_path / "checkpoint.pt")  # a cancelled job's parent wrote "failed"
    assert group_finished([ok, ok], tmp_path / "checkpoint.pt")  # a kill after the results: a leftover
    assert group_finished([ok, failed], tmp_path / "nothing.pt") and not group_finished([ok, None], tmp_path / "x")


def _same_numbers(a: dict, b: dict, rel: float = 1e-12) -> bool:
    """Equal, numbers up to ``rel``: a repacked population runs other shapes than the stack it came from,
    and BLAS's kernels (chosen by CPU and shape) need not round alike; the spectral radius of W_rec, an
    eigenvalue of a repacked copy of the matrix, may move in its last digits too."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_numbers(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_numbers(x, y, rel) for x, y in zip(a, b))
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    return x == y or abs(x - y) <= rel * max(abs(x), abs(y))


def test_repacking_keeps_the_survivors_numbers(tmp_path, monkeypatch):
    """Issue 22: members that stop leave the stacked population (parameters and optimiser state repacked);
    the survivor's numbers equal those it has in an unpruned search (float64, FD: deterministic), also when
    the search is killed after the rung and resumed from its repacked checkpoint."""
    from rnnbench.population.search import run_population

    root = tmp_path / "data"
    root.mkdir()
    base = _cfg("music-population-random", root)
    pruned = _cfg("music-population-random", root, "search.pruner=sha", "search.rung=1", "search.eta=3")
    whole = run_population(base, tmp_path / "whole")
    cut = run_population(pruned, tmp_path / "pruned")
    [survivor] = [k for k, r in enumerate(cut) if r["status"] != "pruned"]
    assert [r["epochs"] for k, r in enumerate(cut) if k != survivor] == [1, 1]
    name = f"{survivor:03d}"
    assert _same_numbers(_run_numbers(tmp_path / "pruned" / "members" / name), _run_numbers(tmp_path / "whole" / "members" / name))
    for k in range(3):  # the pruned ones: their first epoch is the unpruned run's (the same stack of three:
        # the same kernels on the same shapes, so exact)
        first = _run_numbers(tmp_path / "pruned" / "members" / f"{k:03d}")["metrics"][0]
        assert first == _run_numbers(tmp_path / "whole" / "members" / f"{k:03d}")["metrics"][0]
    restore = _kill_at(monkeypatch, 2, True)  # after epoch 2: the checkpoint holds the repacked population
    with pytest.raises(Killed):
        run_population(pruned, tmp_path / "killed")
    restore()
    assert torch.load(tmp_path / "killed" / "members" / "000" / "checkpoint.pt", weights_only=True)["task"]["alive"] == [survivor]
    run_population(pruned, tmp_path / "killed")
    assert _same_numbers(_run_numbers(tmp_path / "killed" / "members" / name), _run_numbers(tmp_path / "whole" / "members" / name))
    # a population of three and a repacked one of one are different shapes: BLAS may pick other kernels
    # (CPU-dependent), so the float64 sums agree to a stated tolerance, not bit for bit (issue 32)
    assert whole[survivor]["test_nll"] == pytest.approx(cut[survivor]["test_nll"], rel=1e-12, abs=0)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _communicate(process: subprocess.Popen, timeout: float) -> tuple:
    """process.communicate(timeout=timeout); on a timeout the process and every process under it are killed before
    the failure is raised, so that a hung search (and its workers) does not outlive the test run."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        tree, todo = [], [process.pid]
        while todo:
            tree.append(todo.pop())
            todo.extend(_children(tree[-1]))
        for pid in tree:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        process.communicate()
        raise


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the job's process through Linux /proc")
def test_a_search_whose_submitit_job_was_killed_resumes_to_the_numbers_of_an_uninterrupted_one(tmp_path):
    """Issue 22, the real thing: a search whose group is a submitit job (hydra/launcher=submitit_local, the path a
    SLURM search takes); the job's process gets SIGKILL after its third checkpoint; the parent exits 1 naming
    the interrupted group and writes nothing for its members; the same command resumes the group from its
    checkpoint to the numbers of an uninterrupted search, and population.json keeps both runs."""
    args = [sys.executable, "-m", "rnnbench", "hydra/launcher=submitit_local", "population.dispatch=launcher",
            "dataset=synthetic", "model.hidden=16", "device=cpu", "train.progress=false", "regulariser=fd",
            "search=random", "search.n=2", "search.space.model.hidden=[16]", "train.max_epochs=20", "train.patience=20",
            "train.diverge_factor=null", "train.precision=float64", f"data.root={tmp_path / 'data'}"]
    cmd, env, parent = _whole_then_again(args, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run, path = tmp_path / "killed", tmp_path / "killed" / "members" / "000" / "checkpoint.pt"
    assert _reached(path, 3, parent), "the search ended before its job could be killed: train it for more epochs"
    job = next(d.name for d in (run / ".submitit").iterdir() if d.name.isdigit())
    for pid in _children(int(job)):  # a local job's id is its controller's process id; the group
        os.kill(pid, signal.SIGKILL)  # trains in the controller's child (submitit.core._submit)
    out, err = _communicate(parent, 300)
    assert parent.returncode == 1, err
    assert f"group 0 stopped before its end" in out + err and "1 of 1 groups did not finish (group 0 interrupted)" in err
    assert not list(run.glob("members/*/results.json")) and path.is_file()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    for member in ("000", "001"):
        resumed = json.loads((run / "members" / member / "results.json").read_text())["resumed"]
        assert resumed["from"] == "checkpoint.pt" and resumed["after_epoch"] >= 3
        assert _run_numbers(run / "members" / member) == _run_numbers(tmp_path / "whole" / "members" / member)
    record = json.loads((run / "population.json").read_text())
    assert [[g["ended"] for g in r["groups"]] for r in record["runs"]] == [["interrupted"], ["finished"]]
    assert record["runs"][0]["groups"][0]["job"] == job and record["runs"][1]["groups"][0]["job"] != job


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting for its reaper has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes through Linux /proc")
def test_a_search_on_worker_processes_trains_the_numbers_of_one_trained_here_and_dies_with_its_parent(tmp_path):
    """population.dispatch=processes: three groups (max_members=1) on two worker processes. The search's parent
    gets SIGKILL after group 0's third checkpoint: its workers end too (no process trains on, none holds a
    group's lock); the same command resumes group 0 from its checkpoint and every member ends with the numbers
    of the same search trained here, one group after the other (one thread everywhere: the same kernels)."""
    args = [sys.executable, "-m", "rnnbench", "dataset=synthetic", "model.hidden=16", "device=cpu", "regulariser=fd",
            "search=random", "search.n=3", "search.space.model.hidden=[8,16]", "population.max_members=1",
            "train.max_epochs=20", "train.patience=20", "train.diverge_factor=null", "train.precision=float64",
            f"data.root={tmp_path / 'data'}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    here = subprocess.run(args + [f"hydra.run.dir={tmp_path / 'here'}"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert here.returncode == 0, here.stderr
    cmd = args + ["population.dispatch=processes", "population.workers=2", f"hydra.run.dir={tmp_path / 'killed'}"]
    parent = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = tmp_path / "killed"
    assert _reached(run / "members" / "000" / "checkpoint.pt", 3, parent), "the search ended before it was killed"
    workers = _children(parent.pid)
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "a worker trains on after its parent was killed"
    assert not (run / "members" / "000" / "results.json").exists(), "group 0 trained on to its end after the kill"
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert re.search(r"[123] group\(s\) on [12] worker process\(es\) of 1 thread\(s\) each", again.stdout)
    assert "group 0: epoch 20 " in again.stdout  # a worker's lines, relayed to the search's log
    assert json.loads((run / "members" / "000" / "results.json").read_text())["resumed"]["after_epoch"] >= 3
    for member in ("000", "001", "002"):
        assert _run_numbers(run / "members" / member) == _run_numbers(tmp_path / "here" / "members" / member)
    record = json.loads((run / "population.json").read_text())
    assert [g["ended"] for g in record["groups"]] == ["finished"] * 3 and not (run / "members" / "000" / ".lock").exists()
    for g in record["groups"]:  # a group's wall time is its training's, not the time the search waited for it
        member = json.loads((run / "members" / f"{g['members'][0]:03d}" / "results.json").read_text())
        assert g["wall_s"] == member["wall_s"] and g["waited_s"] >= 0


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes through Linux /proc")
@pytest.mark.parametrize("who", ["terminal", "parent"])
def test_ctrl_c_ends_a_search_on_worker_processes_within_seconds(tmp_path, who):
    """Ctrl-C on a search with population.dispatch=processes: the terminal interrupts the whole process group, a
    `kill -INT` the parent alone (which passes it on). The running groups stop, the one queued for a worker is not
    started, the command exits 130 within seconds (not after its groups' end, minutes here) naming the members'
    checkpoints, no process is left, nothing is written as a result, the groups are recorded interrupted in
    population.json, and the checkpoints are readable."""
    args = [sys.executable, "-m", "rnnbench", "dataset=synthetic", "model.hidden=16", "device=cpu", "regulariser=fd",
            "search=random", "search.n=3", "search.space.model.hidden=[8,16]", "population.max_members=1",
            "train.max_epochs=5000", "train.patience=5000", "train.diverge_factor=null", f"data.root={tmp_path / 'data'}",
            "population.dispatch=processes", "population.workers=2", f"hydra.run.dir={tmp_path / 'run'}"]
    # SIGINT reaches the search whatever this process inherited: a job a non-interactive shell starts in the background
    # (`bash .ci/run &`) ignores SIGINT, its children inherit that, and the search's parent would ignore a `kill -INT`
    parent = subprocess.Popen(args, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run = tmp_path / "run"
    assert _reached(run / "members" / "000" / "checkpoint.pt", 2, parent), "the search ended before Ctrl-C"
    processes = [parent.pid, *_children(parent.pid)]
    (os.killpg if who == "terminal" else os.kill)(parent.pid, signal.SIGINT)
    start = time.time()
    _, err = _communicate(parent, 120)
    assert parent.returncode == 130 and time.time() - start < 30, err
    assert f"interrupted; {run}/members hold the checkpoints of its unfinished groups" in err
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(p) for p in processes):
        time.sleep(0.1)
    assert not any(_alive(p) for p in processes), "a worker is left after Ctrl-C"
    assert not list(run.glob("members/*/results.json"))
    record = json.loads((run / "population.json").read_text())  # the stopped run is recorded: its groups, its time
    assert [g["ended"] for g in record["groups"]] == ["interrupted"] * 3 and len(record["runs"]) == 1
    assert all(m["status"] is None for m in record["members"])
    for checkpoint in run.glob("members/*/checkpoint.pt"):  # what the same command resumes from
        assert torch.load(checkpoint, weights_only=True)["epoch"] >= 1


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker processes through Linux /proc")
def test_a_worker_that_does_not_stop_after_ctrl_c_is_killed_after_the_grace(monkeypatch, caplog):
    """A search's Ctrl-C returns whatever a worker is stuck in: a worker still busy GRACE_S seconds after the
    interruption was passed on (here a call that no Ctrl-C stops: no group runs in it) is killed, with a warning."""
    import logging

    from rnnbench.population import dispatch

    monkeypatch.setattr(dispatch, "GRACE_S", 1.0)
    with caplog.at_level(logging.WARNING, logger="rnnbench"), pytest.raises(KeyboardInterrupt):
        with dispatch._worker_pool(1, 1) as pool:
            pid = pool.submit(os.getpid).result(timeout=120)  # the worker is up, its Ctrl-C handler installed
            pool.submit(time.sleep, 3600)
            time.sleep(0.5)
            start = time.time()
            raise KeyboardInterrupt
    assert time.time() - start < 10 and not _alive(pid)
    assert f"a worker process (pid {pid}) did not stop within 1 s of the interruption; killed" in caplog.text


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.pop("rng"), "is not a complete rnnbench checkpoint of format 1 (missing rng)"),
    (lambda s: s["task"]["model"].__setitem__("core.w_rec", torch.zeros(3, 3)),
     "does not fit the model and optimiser built from this configuration"),
])
def test_a_checkpoint_from_elsewhere_is_one_line_and_nothing_is_written(damage, message, tmp_path, monkeypatch):
    """Issue 32: a checkpoint of another version (keys missing) or of another model (a tensor of another shape)
    whose config matches is refused in one line naming the file, before anything is written in the folder."""
    root, run = tmp_path / "data", tmp_path / "run"
    root.mkdir()
    overrides = [*COMMON, f"data.root={root}", *CASES["music-srnn-fd"][1]]
    restore = _kill_at(monkeypatch, 1, True)
    with pytest.raises(Killed):
        train(compose_cfg(*overrides), run)
    restore()
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert "core.w_rec" in state["task"]["model"]
    damage(state)
    torch.save(state, run / "checkpoint.pt")
    before = {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    r = subprocess.run([sys.executable, "-m", "rnnbench", *overrides, f"hydra.run.dir={run}"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("rnnbench: error: ") and str(run / "checkpoint.pt") in line and message in line
    after = {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before  # .hydra/, the log and metrics.csv as they were
