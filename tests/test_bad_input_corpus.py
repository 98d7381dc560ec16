"""The bad-input corpus (issue 21): one parametrised test per family (config values, data files,
run-folder state, tools, concurrency). Every case asserts the exit code, that the message is one line
naming the problem, and the folder's content before and after (a refused command changes nothing)."""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnbench.errors import RnnbenchError
from tests.conftest import REPO, run_cli

QUICK = ["dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu", "train.progress=false"]


def snapshot(root: Path):
    """Every file below ``root`` with its bytes (folders as None); None if ``root`` does not exist."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def one_line(err: str, prog: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def rnnbench_main(argv: list[str], monkeypatch, capsys) -> tuple[int, str]:
    """``rnnbench argv`` in this process (the checks run before Hydra starts): (exit code, stderr)."""
    from rnnbench import cli

    monkeypatch.setattr(sys, "argv", ["rnnbench", *argv])
    with pytest.raises(SystemExit) as e:
        cli.main()
    return e.value.code, capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- config values
CONFIG_CASES = [
    (["optim.lr=nan"], "optim.lr=nan is not valid: optim.lr must be a finite number > 0"),
    (["optim.lr=inf"], "optim.lr=inf is not valid"),
    (["optim.lr=1e400"], "optim.lr=inf is not valid"),
    (["optim.lr=-0.1"], "optim.lr=-0.1 is not valid: optim.lr must be a finite number > 0"),
    (["optim.momentum=1.0"], "optim.momentum must be a finite number in [0, 1)"),
    (["regulariser=noise", "regulariser.recurrent.rate=nan"], "regulariser.recurrent.rate=nan is not valid"),
    (["model.init.var_in=nan"], "model.init.var_in=nan is not valid: model.init.var_in must be a finite number >= 0"),
    (["model.init.rho=-inf"], "model.init.rho=-inf is not valid"),
    (["model.init.bias_out=nan"], "model.init.bias_out=nan is not valid: model.init.bias_out must be a finite number"),
    (["optim=sgd", "optim.decay_factor=-1"], "optim.decay_factor=-1.0 is not valid: optim.decay_factor must be a finite number >= 1"),
    (["optim=sgd", "optim.decay_factor=0"], "optim.decay_factor=0.0 is not valid"),
    (["optim=adam", "optim.betas=[0.9]"], "optim.betas=[0.9] is not valid: optim.betas must be a list of 2 numbers"),
    (["optim=adam", "optim.betas=[0.9,nan]"], "optim.betas[1]=nan is not valid"),
    (["optim=adam", "optim.betas=[0.9,0.999,0.5]"], "optim.betas must be a list of 2 numbers"),
    (["seed=18446744073709551616"], "seed=18446744073709551616 is not valid: seed must be a whole number in [0, 4294967295]"),
    (["seed=-1"], "seed=-1 is not valid"),
    (["population.size=4", "seed=4294967295"], "seed=4294967295 with 4 members would train seeds up to"),
    (["model.hidden=0"], "model.hidden=0 is not valid: model.hidden must be a whole number in [1, 1000000]"),
    (["model.hidden=200000"], "model.hidden=200000 needs at least"),
    (["eval.mc_samples=1000000"], "eval.mc_samples=1000000 is not valid: eval.mc_samples must be a whole number in [0, 10000]"),
    (["eval.mc_samples=1e9"], "eval.mc_samples=1e9: Value '1000000000.0' of type 'float' could not be converted to Integer"),
    (["eval.is_samples=0"], "eval.is_samples=0 is not valid"),
    (["search=random", "search.n=100000000"], "search.n=100000000 is not valid: search.n must be a whole number in [1, 10000]"),
    (["search=random", "+search.space.optim.lr=[]"], "search.space.optim.lr: an empty list of choices"),
    (["search=random", "search.pruner=asha"], "search.pruner=asha is not a pruner; valid: none, sha, hyperband, median"),
    (["population.dispatch=thread"], "population.dispatch=thread is not a way to dispatch groups; valid: here, processes, launcher"),
    (["population.size=4", "search.pruner=sha"], "search.pruner prunes the members of a search (search=random, open or "
                                                 "tpe); population.size=N trains seeds of one config"),
    (["search=random", "search.pruner=sha", "search.eta=1"], "search.eta=1 is not valid: search.eta must be a whole "
                                                             "number >= 2"),
    (["search=random", "+search.space.optim.lr=[0.1,-3]"], "search.space.optim.lr=-3 is not valid: search.space.optim.lr must be"),
    # issue 32 item 6: a refusal names the full dotted key, wherever in the config it sits
    (["search=random", "~search.space.model.init.rho", "+search.space.model.init.rho={low: 2, high: 1}"],
     "search.space.model.init.rho: a range needs finite numbers low <= high, got low=2.0, high=1.0"),
    (["search=random", "~search.space.optim.lr", "+search.space.optim.lr={low: 0, high: 1, log: true}"],
     "search.space.optim.lr: a log-uniform range needs low > 0, got 0.0"),
    (["search=random", "~search.space.model.init.rho", "+search.space.model.init.rho={low: -1, high: 2}"],
     "search.space.model.init.rho=-1.0 is not valid: search.space.model.init.rho must be"),
    (["regulariser=zoneout", "regulariser.realise=moments"], "use regulariser.realise=step or sequence"),
    (["population.size=0"], "population.size=0 is not valid"),
    # runs that cannot be batched train alone in a random search (groups of one); TPE's pruner acts on batched groups
    (["regulariser=fd", "protocol=breze", "search=tpe", "search.pruner=sha"],
     "search=tpe with search.pruner=sha prunes trials inside batched populations, and population training draws random rows"),
    (["optim=adam", "search=tpe", "search.pruner=median"], "use search.pruner=none (each trial then trains alone)"),
    (["dataset=ptb", "search=tpe"], "search=tpe searches the music task; dataset=ptb is a word-lm task"),
    (["train.clip=nan"], "train.clip=nan is not valid: train.clip must be a finite number > 0 (or null)"),
    (["train.clip=-1"], "train.clip=-1.0 is not valid"),
    (["train.max_seconds=-5"], "train.max_seconds=-5.0 is not valid"),
    (["train.patience=0"], "train.patience=0 is not valid"),
    (["train.max_epochs=0"], "train.max_epochs=0 is not valid"),
    (["train.diverge_factor=0.5"], "train.diverge_factor=0.5 is not valid: train.diverge_factor must be a finite number > 1"),
    (["dataset.chunk_len=1"], "dataset.chunk_len=1 is not valid"),
    (["dataset=synthetic", "dataset.min_len=50", "dataset.max_len=10"], "dataset.min_len=50 is above dataset.max_len=10"),
    (["dataset=ptb", "dataset.bptt=0"], "dataset.bptt=0 is not valid"),
    (["dataset=sentiment", "dataset.test_split=1.5"], "dataset.test_split=1.5 is not valid: dataset.test_split must be a finite number in (0, 1)"),
    (["model.prob_clip=0.7"], "model.prob_clip=0.7 is not valid"),
    (["model=storn", "model.storn.latent=0"], "model.storn.latent=0 is not valid"),
    (["optim.lr=abc"], "optim.lr=abc: Value 'abc' of type 'str' could not be converted to Float"),
    (["optim=nope"], "Could not find 'optim/nope'; available options in 'optim': adadelta"),
    (["foo=1"], "Could not override 'foo'"),
    # issue 32: accepted before, refused now with the key named
    (["population.size=5", "search=random", "search.n=2"],
     "population.size=5 has no effect with search=random: a search trains its search.n=2 members"),
    (["train.clip=inf"], "train.clip=inf is not valid: train.clip must be a finite number > 0 (or null)"),
    (["optim.betas=[0.9"], "no viable alternative at input '[0.9'"),
]


@pytest.mark.parametrize("overrides, message", CONFIG_CASES, ids=[" ".join(c[0]) for c in CONFIG_CASES])
def test_config_values(overrides, message, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    code, err = rnnbench_main([*QUICK, *overrides, f"hydra.run.dir={run}"], monkeypatch, capsys)
    assert code == 2
    line = one_line(err, "rnnbench")
    assert message in line
    assert "inf" not in overrides[-1] or "descent" not in line  # the bounds' reason is for finite values only
    assert snapshot(tmp_path) == {}  # nothing written: not even the run folder


def test_an_empty_run_dir_is_refused(tmp_path, monkeypatch, capsys):
    # issue 32: hydra.run.dir= (empty) wrote the run into the current folder
    monkeypatch.chdir(tmp_path)
    code, err = rnnbench_main([*QUICK, "hydra.run.dir="], monkeypatch, capsys)
    assert code == 2 and "hydra.run.dir is empty: name the folder the run is written to" in one_line(err, "rnnbench")
    assert snapshot(tmp_path) == {}


def test_the_memory_check_reads_a_cgroup_limit(tmp_path):
    # issue 32: a container's or job's limit, not only the machine's MemAvailable
    from rnnbench.config.checks import cgroup_memory_left

    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    limit.write_text("4294967296\n")
    usage.write_text("1073741824\n")
    assert cgroup_memory_left(((str(limit), str(usage)),)) == 3 * 2**30
    limit.write_text("max\n")
    assert cgroup_memory_left(((str(limit), str(usage)),)) is None
    assert cgroup_memory_left(((str(tmp_path / "none"), str(usage)),)) is None


# ------------------------------------------------------------------------------------------------- data files
def _ptb(root: Path, train: bytes) -> None:
    (root / "ptb").mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid", "test"):
        (root / "ptb" / f"ptb.{split}.txt").write_bytes(b" the cat sat \n the dog \n")
    (root / "ptb" / "ptb.train.txt").write_bytes(train)


def _sentiment(root: Path, reviews: list[bytes], ratings: bytes, critic: int = 0) -> None:
    from rnnbench.data.sentiment import CRITICS

    for k, c in enumerate(CRITICS):
        d = root / "sentiment" / "scaledata" / c
        d.mkdir(parents=True, exist_ok=True)
        (d / f"subj.{c}").write_bytes(b"".join(reviews) if k == critic else b"a good film\n")
        (d / f"rating.{c}").write_bytes(ratings if k == critic else b"0.7\n")


def _music(root: Path, splits: dict) -> None:
    good = [[[60], [62, 64], [65]]] * 2
    (root / "music").mkdir(parents=True, exist_ok=True)
    (root / "music" / "JSB Chorales.pickle").write_bytes(pickle.dumps({"train": good, "valid": good, "test": good, **splits}))


DATA_CASES = [
    ("ptb", lambda r: _ptb(r, b"\xef\xbb\xbf the cat \n"), "ptb.train.txt starts with a UTF-8 byte-order mark (line 1)"),
    ("ptb", lambda r: _ptb(r, b" the cat \n the \xff dog \n"), "ptb.train.txt line 2 is not utf-8 text"),
    ("ptb", lambda r: _ptb(r, b" the cat \n\x00\n"), "ptb.train.txt line 2 holds a NUL byte"),
    ("ptb", lambda r: (_ptb(r, b""), (r / "ptb" / "ptb.train.txt").unlink(), os.mkfifo(r / "ptb" / "ptb.train.txt")),
     "ptb.train.txt exists but is not a regular file"),
    ("sentiment", lambda r: _sentiment(r, [b"a film\n", b"another\n"], b"0.1\n0.2\n0.3\n"),
     "has 3 lines but subj.Dennis+Schwartz has 2 reviews"),
    ("sentiment", lambda r: _sentiment(r, [b"a film\n", b"another\n"], b"0.1\n7\n"),
     "line 2 holds 7, outside the scale [0, 1]"),
    ("sentiment", lambda r: _sentiment(r, [b"a film\n", b"another\n"], b"0.1\n\n"), "line 2 is '', not a number"),
    ("sentiment", lambda r: _sentiment(r, [b"a film\n"], b"\xef\xbb\xbf0.5\n"), "starts with a UTF-8 byte-order mark"),
    ("jsb", lambda r: _music(r, {"valid": [[[60]], [[62]]]}), "split 'valid' has no sequence of 2 or more frames"),
    ("jsb", lambda r: _music(r, {"test": [[], []]}), "split 'test' has no sequence of 2 or more frames"),
    ("jsb", lambda r: _music(r, {"test": []}), "split 'test' has no sequences"),
    # issue 32: a note too large for an integer tensor, and ratings without spread (a "diverged" run before)
    ("jsb", lambda r: _music(r, {"train": [[[60], [62, 10**20]]] * 2}), "note 100000000000000000000 at step 1"),
    ("sentiment", lambda r: _sentiment(r, [b"a film\n"], b"0.7\n"), "is 0.7: there is no spread to regress on"),
]


@pytest.mark.parametrize("dataset, make, message", DATA_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(DATA_CASES)])
def test_data_files(dataset, make, message):
    """Each loader refuses the file in one line (file, line, fix), before training."""
    from omegaconf import OmegaConf

    from rnnbench.errors import DataError
    from tests.conftest import compose_cfg

    import tempfile

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        make(root)
        before = snapshot(root)
        data = OmegaConf.create({"root": str(root), "download": False, "verify": False})
        cfg = compose_cfg(f"dataset={dataset}")
        with pytest.raises(DataError) as e:
            if dataset == "ptb":
                from rnnbench.data.ptb import load_ptb

                load_ptb(data)
            elif dataset == "sentiment":
                from rnnbench.data.sentiment import load_sentiment

                load_sentiment(data)
            else:
                from rnnbench.data.load import load_rolls

                load_rolls(cfg.dataset, data)
        assert message in str(e.value) and "\n" not in str(e.value)
        assert str(root) in str(e.value) or dataset == "jsb"
        assert snapshot(root) == before


@pytest.mark.slow
def test_a_bad_data_file_through_the_cli_writes_nothing(tmp_path):
    """The same refusal from the command: exit 2, one line, and the run folder is not left behind."""
    _music(tmp_path / "data", {"valid": [[[60]]]})
    run = tmp_path / "run"
    r = run_cli(["dataset=jsb", "model.hidden=8", "device=cpu", "train.progress=false", f"data.root={tmp_path / 'data'}",
                 "data.download=false", "data.verify=false", f"hydra.run.dir={run}"], tmp_path)
    assert r.returncode == 2
    assert "split 'valid' has no sequence of 2 or more frames" in one_line(r.stderr, "rnnbench")
    assert not run.exists()


# ------------------------------------------------------------------------------------------- run-folder state
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run (its folder is copied by each test)."""
    d = tmp_path_factory.mktemp("finished") / "run"
    r = run_cli([*QUICK, f"hydra.run.dir={d}"], d.parent)
    assert r.returncode == 0, r.stderr
    return d


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _killed_run(run: Path, finished: Path) -> None:
    """A killed run's folder: the finished one without results.json, with a checkpoint of its config."""
    _copy(finished, run)
    (run / "results.json").unlink()
    torch.save({"format": 1, "configs": [json.dumps({"other": 1})]}, run / "checkpoint.pt")


def _planted(run: Path, name: str) -> None:
    """A run folder holding ``name`` as a link to a file outside it (the snapshot reads the target's bytes)."""
    run.mkdir()
    outside = run.parent / f"outside-{name.strip('.')}"
    outside.write_text("a file of the user's, outside the run folder\n")
    (run / name).symlink_to(outside)


FOLDER_CASES = [
    ("finished", lambda run, fin: _copy(fin, run), "already holds a finished run (status {status}); nothing was changed", True),
    ("other config", _killed_run, "holds a run of another configuration", True),
    ("checkpoint is a folder", lambda run, fin: (run.mkdir(), (run / "checkpoint.pt").mkdir()),
     "checkpoint.pt exists but is not a regular file; nothing was changed", True),
    ("results is a fifo", lambda run, fin: (run.mkdir(), os.mkfifo(run / "results.json")),
     "results.json exists but is not a regular file", True),
    ("foreign checkpoint", lambda run, fin: (run.mkdir(), (run / "checkpoint.pt").write_bytes(b"not a checkpoint")),
     "checkpoint.pt is not a readable rnnbench checkpoint", True),
    # issue 32: every file of a run is written in its folder, never through a link planted there
    ("planted log link", lambda run, fin: _planted(run, "rnnbench.log"), "rnnbench.log is a symbolic link", True),
    ("planted lock link", lambda run, fin: _planted(run, ".lock"), ".lock is a symbolic link", True),
    ("planted metrics link", lambda run, fin: _planted(run, "metrics.csv"), "metrics.csv is a symbolic link", True),
    ("leftovers of a kill", lambda run, fin: (_copy(fin, run), (run / "results.json.abc123.tmp").write_text("{"),
                                             (run / "checkpoint.pt").write_bytes(b"x")),
     "already holds a finished run (status {status})", False),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, make, message, unchanged", FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_run_folder_state(name, make, message, unchanged, finished, tmp_path):
    run = tmp_path / "run"
    make(run, finished)
    before = snapshot(run)
    r = subprocess.run([sys.executable, "-m", "rnnbench", *QUICK, f"hydra.run.dir={run}"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert _message(message, finished) in one_line(r.stderr, "rnnbench")
    after = snapshot(run)
    if unchanged:
        assert after == before  # .hydra/ included: a refused resume keeps the killed run's record
    else:  # the next run on the folder removes what a killed process left, and changes nothing else
        assert set(before) - set(after) == {"results.json.abc123.tmp", "checkpoint.pt"}
        assert all(after[k] == before[k] for k in after)


def _message(message: str, finished: Path) -> str:
    return message.format(status=json.loads((finished / "results.json").read_text())["status"])


@pytest.mark.slow
@pytest.mark.parametrize("name, make, message, unchanged", FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_the_api_refuses_a_run_folder_by_the_commands_rule(name, make, message, unchanged, finished, tmp_path):
    # issue 33 item 6: rnnbench.api.run prepares a folder by the command's rule (rnnbench/run_folder.py): the
    # command's one line, word for word, raised; the folder's bytes as the command leaves them
    from rnnbench import run as api_run

    by_command, by_api = tmp_path / "command" / "run", tmp_path / "api" / "run"
    for run in (by_command, by_api):
        run.parent.mkdir()
        make(run, finished)
    before = snapshot(by_api)
    r = subprocess.run([sys.executable, "-m", "rnnbench", *QUICK, f"hydra.run.dir={by_command}"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    with pytest.raises(RnnbenchError) as refused:
        api_run(QUICK, run_dir=by_api, quiet=True)
    line = one_line(r.stderr, "rnnbench")
    assert r.returncode == 2 and _message(message, finished) in line
    assert f"rnnbench: error: {refused.value}".replace(str(by_api), str(by_command)) == line
    after = snapshot(by_api)
    if unchanged:
        assert after == before
    else:
        assert set(before) - set(after) == {"results.json.abc123.tmp", "checkpoint.pt"}
        assert all(after[k] == before[k] for k in after)


def test_a_deleted_or_cut_metrics_csv_is_written_again_whole(tmp_path, caplog):
    # issue 32: metrics.csv deleted (or cut, or replaced by a link) while a run trains: the next epoch writes it
    # again from the rows the run holds, header first, instead of appending a headless line
    from rnnbench.engine.results import MetricsLog, read_metrics

    path = tmp_path / "metrics.csv"
    m = MetricsLog(path, ["epoch", "valid_nll"], ({"epoch": 1, "valid_nll": 9.5},))
    m.append({"epoch": 2, "valid_nll": 9.0})
    path.unlink()
    m.append({"epoch": 3, "valid_nll": 8.5})
    assert read_metrics(tmp_path) == {"epoch": [1.0, 2.0, 3.0], "valid_nll": [9.5, 9.0, 8.5]}
    assert "written again from this run's 3 epochs" in caplog.text
    path.write_text("epoch,valid_nll\r\n1,9.5\r\n")  # cut
    m.append({"epoch": 4, "valid_nll": 8.0})
    assert read_metrics(tmp_path)["epoch"] == [1.0, 2.0, 3.0, 4.0]
    outside = tmp_path / "outside.csv"
    outside.write_text("mine\n")
    path.unlink()
    path.symlink_to(outside)
    m.append({"epoch": 5, "valid_nll": 7.5})
    assert outside.read_text() == "mine\n" and not path.is_symlink()  # the link replaced, its target untouched
    assert read_metrics(tmp_path)["epoch"] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_stale_lock_is_taken_over(tmp_path):
    from rnnbench.engine.lock import RunLock

    (tmp_path / ".lock").write_text("999999999 deadhost 2026-01-01T00:00:00\n")  # its holder is gone: no flock
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text().split()[0] == str(os.getpid())
    assert not (tmp_path / ".lock").exists()


# ---------------------------------------------------------------------------------------------------- tools
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import compose_cfg
    from rnnbench.train import train

    d = tmp_path_factory.mktemp("trained") / "run"
    train(compose_cfg("dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu", "train.progress=false"), d)
    return d


def _call(entry, argv, monkeypatch, capsys):
    """(exit code, stdout, stderr) of a tool's console entry point run in this process."""
    monkeypatch.setattr(sys, "argv", argv)
    try:
        code = entry()
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


TOOL_CASES = [
    ("report", ["--digits", "-1"], "argument --digits: must be in [0, 12], got -1"),
    ("report", ["{run}", "--plot", "/proc/rnnbench-no"], "--plot /proc/rnnbench-no cannot be written"),
    ("report", ["{run}", "--plot", "{run}/results.json/x"], "results.json is a file, not a folder)"),
    ("report", ["{run}/nope"], "no such folder"),
    ("sample", ["{run}", "--frame-seconds", "nan"], "argument --frame-seconds: must be a finite number > 0 and <= 60, got nan"),
    ("sample", ["{run}", "-n", "1000000"], "argument -n/--samples: must be in [1, 256], got 1000000"),
    ("sample", ["{run}", "--frames", "100000"], "argument --frames: must be in [1, 4096], got 100000"),
    ("sample", ["{run}", "--out", "{run}/results.json", "--frames", "2", "-n", "1"],
     "--out {run}/results.json cannot be written ({run}/results.json is a file, not a folder)"),
    ("sample", ["{run}/nope"], "has no results.json (a regular file)"),
    ("eval", ["{run}", "--mc-samples", "1e9"], "argument --mc-samples: invalid int value: '1e9'"),
    ("eval", ["{run}", "--mc-samples", "1000000"], "--mc-samples must be >= 0 (0: deterministic) and <= 10000"),
    ("eval", ["{run}", "--is-samples", "1000000"], "--is-samples values must be <= 100000"),
    ("eval", ["{run}", "--seed", "-4"], "argument --seed: must be in [0,"),
    ("reproduce", ["000-t1", "--seeds", "0"], "argument --seeds: must be in [1, 1000], got 0"),
    ("reproduce", ["000-t1", "--max-seconds", "nan"], "argument --max-seconds: must be a finite number > 0, got nan"),
    ("reproduce", ["nope-table"], "unknown table 'nope-table'"),
]
ENTRIES = {"report": "rnnbench.tools.report.cli", "sample": "rnnbench.tools.sample", "eval": "rnnbench.tools.evaluate",
           "reproduce": "rnnbench.tools.reproduce.cli"}


@pytest.mark.parametrize("tool, args, message", TOOL_CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in TOOL_CASES])
def test_tools(tool, args, message, trained, monkeypatch, capsys):
    import importlib

    entry = importlib.import_module(ENTRIES[tool]).entry
    before = snapshot(trained)
    code, _, err = _call(entry, [f"rnnbench-{tool}", *[a.format(run=trained) for a in args]], monkeypatch, capsys)
    assert code == 2
    assert message.format(run=trained) in one_line(err, f"rnnbench-{tool}")
    assert snapshot(trained) == before


def test_eval_reads_a_run_made_before_a_key_existed(trained, tmp_path, monkeypatch, capsys):
    """A results.json whose config lacks keys added later (model.storn, model.prob_clip, eval.*) still loads."""
    from rnnbench.tools.evaluate import entry

    run = _copy(trained, tmp_path / "old")
    r = json.loads((run / "results.json").read_text())
    for key in ("storn", "prob_clip", "activation"):
        del r["config"]["model"][key]
    del r["config"]["eval"]
    (run / "results.json").write_text(json.dumps(r))
    code, out, err = _call(entry, ["rnnbench-eval", str(run)], monkeypatch, capsys)
    assert code == 0, err
    again = json.loads(out)
    assert again["nll"] == pytest.approx(r["test_nll"], rel=1e-5)  # the same model, the same test NLL


def test_the_report_names_every_file_it_cannot_use(trained, tmp_path, capsys):
    from rnnbench.tools.report.cli import main as report

    good = {**json.loads((trained / "results.json").read_text()), "status": "ok"}
    for name, body in [("nan", {**good, "valid_nll": float("nan")}), ("inf", {**good, "test_nll": float("inf")}),
                       ("nodata", {k: v for k, v in good.items() if k != "dataset"})]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(body))  # NaN / Infinity as Python writes them
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "results.json")  # would block a reader forever
    _copy(trained, tmp_path / "good")
    assert report([str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "nan/results.json: status ok but valid_nll is nan" in err
    assert "inf/results.json: status ok but test_nll is inf" in err
    assert "nodata/results.json: no 'dataset'" in err
    assert "fifo/results.json: not a regular file" in err


# ----------------------------------------------------------------------------------------------- concurrency
def _wait_for(path: Path, timeout: float = 60.0) -> None:
    t0 = time.time()
    while not path.exists():
        assert time.time() - t0 < timeout, f"{path} never appeared"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_processes_on_one_folder_and_ctrl_c(tmp_path):
    """A second rnnbench on a folder a live process holds exits 2 naming the holder's PID and changes
    nothing; Ctrl-C prints one line saying the same command resumes; the same command then resumes
    and says so in results.json."""
    run = tmp_path / "run"
    args = [sys.executable, "-m", "rnnbench", "dataset=synthetic", "model.hidden=8", "device=cpu", "train.progress=false",
            "train.max_epochs=100000", "train.patience=100000", "train.diverge_factor=null", f"hydra.run.dir={run}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # Ctrl-C reaches the run whatever this process inherited: a shell that starts a job in the background
    # (`bash .ci/run &`) ignores SIGINT, its children inherit that, and Python then keeps SIGINT ignored
    first = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for(run / "checkpoint.pt")
        before = {k: v for k, v in snapshot(run).items() if k in (".hydra/config.yaml", ".hydra/overrides.yaml")}
        second = subprocess.run([*args, "train.max_epochs=3"], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2
        line = one_line(second.stderr, "rnnbench")
        assert f"is in use by process {first.pid} on " in line and "nothing was changed" in line
        after = {k: v for k, v in snapshot(run).items() if k in before}
        assert after == before
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130
    assert err.strip().splitlines()[-1] == (f"rnnbench: interrupted; {run} holds its checkpoint: run the same command "
                                            "(same hydra.run.dir) to resume it")
    assert "Traceback" not in err and not (run / ".lock").exists()
    done = subprocess.run([*args[:-5], "train.max_epochs=1", "train.patience=100000", "train.diverge_factor=null",
                           "train.max_seconds=1", f"hydra.run.dir={run}"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "holds a run of another configuration (it differs in train.max_epochs)" in done.stderr
    resumed = subprocess.run([*args, "train.max_seconds=0.001"], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    results = json.loads((run / "results.json").read_text())
    assert results["resumed"]["from"] == "checkpoint.pt" and results["stop_reason"].startswith("time budget")
    # stopped by its budget: the checkpoint stays for a larger one (docs/runs.md)
    assert not list(run.glob("*.tmp")) and (run / "checkpoint.pt").is_file()


@pytest.mark.slow
def test_a_write_that_fails_is_one_line_and_the_same_command_resumes(tmp_path):
    # issue 32: a file-size limit (the same path as a full disk or a read-only folder: an OSError of
    # engine/results.py WRITE_FAILURES) on the first checkpoint: one line naming the file, exit 1, nothing
    # recorded as finished; the same command without the limit then trains the run to its end
    import resource

    data, run = tmp_path / "data", tmp_path / "run"
    args = [sys.executable, "-m", "rnnbench", *QUICK, f"data.root={data}", f"hydra.run.dir={run}"]
    warm = subprocess.run(args[:-1] + [f"hydra.run.dir={tmp_path / 'warm'}"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # generates the data set, so that only the run's files are limited
    assert warm.returncode == 0, warm.stderr

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))  # the checkpoint is larger; the record is not

    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    line = one_line(r.stderr, "rnnbench")
    assert f"the file would exceed the size this process may write (ulimit -f) writing {run / 'checkpoint.pt'}" in line
    assert "run the same command to resume" in line
    assert not (run / "results.json").exists() and not list(run.glob("*.tmp"))
    again = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads((run / "results.json").read_text())["status"] in ("ok", "no_better_than_floor")


def test_sample_and_eval_say_why_a_run_cannot_be_read(tmp_path, monkeypatch, capsys):
    # issue 32: a run that diverged (no best.pt) is named as such; a PTB run given to rnnbench-eval is told
    # apart from a music run by the tool that refuses it
    import importlib

    diverged = tmp_path / "diverged"
    diverged.mkdir()
    (diverged / "results.json").write_text(json.dumps({"status": "diverged", "stop_reason": "non-finite loss in epoch 1"}))
    ptb = tmp_path / "ptb"
    ptb.mkdir()
    (ptb / "results.json").write_text(json.dumps({"status": "ok", "config": {"dataset": {"name": "ptb", "task": "word-lm"}}}))
    torch.save({}, ptb / "best.pt")
    for tool, run, message in [
        ("sample", diverged, "has no best.pt: the run saved no model (the run ended diverged (non-finite loss in epoch 1))"),
        ("eval", ptb, "rnnbench-eval evaluates music runs again; {run} is a ptb run (word-lm task)"),
    ]:
        module = importlib.import_module(ENTRIES[tool])
        monkeypatch.setattr(sys, "argv", [f"rnnbench-{tool}", str(run)])
        assert module.entry() == 2
        assert message.format(run=run) in one_line(capsys.readouterr().err, f"rnnbench-{tool}")
