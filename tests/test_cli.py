"""The console entry points, run as a user would (subprocesses in a scratch directory)."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ENDED, run_cli

QUICK = ["dataset=synthetic", "train=debug", "model.hidden=16", "device=cpu"]


def _results(cwd):
    return sorted(cwd.glob("outputs/**/results.json"))


def test_synthetic_debug_run_writes_valid_results(tmp_path):
    proc = run_cli(["dataset=synthetic", "train=debug"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    [path] = _results(tmp_path)
    assert path.parent.parent.parent.name == "runs"  # outputs/runs/<date>/<time.microseconds>
    assert len(path.parent.name.split("-")) == 4  # HH-MM-SS-ffffff
    res = json.loads(path.read_text())
    assert res["status"] in ENDED and res["dataset"] == "synthetic" and res["epochs"] == 2
    assert 0 < res["test_nll"] < 100 and res["config"]["train"]["max_epochs"] == 2
    assert (path.parent / "metrics.csv").is_file() and (path.parent / "best.pt").is_file()
    assert (path.parent / ".hydra" / "config.yaml").is_file()


@pytest.mark.parametrize("override, expected", [
    ("trian.max_epochs=3", "Could not override 'trian.max_epochs'"),
    ("train.max_epoch=3", "Key 'max_epoch' not in 'TrainConfig'"),
    ("train.max_epochs=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
    ("dataset.pad=both", "Invalid value 'both', expected one of [zeros, hold]"),
    ("model=lstmm", "Could not find 'model/lstmm'"),
])
def test_config_mistakes_exit_non_zero_with_a_clear_message(tmp_path, override, expected):
    proc = run_cli([*QUICK, override], tmp_path)
    assert proc.returncode != 0
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not _results(tmp_path)


def test_unknown_option_lists_the_valid_choices(tmp_path):
    proc = run_cli(["model=lstmm"], tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1  # one line
    assert "available options in 'model': gru, lstm, srnn, storn" in proc.stderr


def test_user_error_is_one_line_not_a_traceback(tmp_path):
    proc = run_cli(["dataset=jsb", "data.download=false", f"data.root={tmp_path / 'empty'}"], tmp_path)
    assert proc.returncode == 2
    assert "rnnbench: error: 'music/JSB Chorales.pickle' is not in data root" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not _results(tmp_path) and not list((tmp_path / "outputs").rglob("*.*"))  # fix the data, run again


def test_help_lists_the_config_groups(tmp_path):
    proc = run_cli(["--help"], tmp_path)
    assert proc.returncode == 0
    for line in ("dataset: jsb, musedata, nottingham, piano-midi, ptb, sentiment, synthetic", "model: gru, lstm, srnn, storn",
                 "optim: adadelta, adadelta-nesterov, adadelta-nesterov-fdrnn-jsb, adadelta-nesterov-mocap, adadelta-nesterov-zeiler, "
                     "adam, rmsprop-nesterov, sgd, sgd-zaremba", "protocol: breze, breze-storn, paper",
                 "train: debug, default, regression, word-lm", "search: none, open, random, tpe", "logger: csv, mlflow, tensorboard, wandb",
                 "task: music, regression, word-lm",
                 "regulariser: dropconnect, dropout, fd, l1, l2, noise, none, rnndrop, variational, zoneout"):
        assert line in proc.stdout
    [experiments] = [line for line in proc.stdout.splitlines() if line.startswith("experiment: ")]
    for name in ("fdrnn-jsb", "fdrnn-piano-midi", "rnn-do", "rnn-ff", "rnn-nbr", "zaremba-medium", "moon-emb-large",
                 "variational-untied-large", "ptb-none-medium", "sentiment-lstm-variational", "sentiment-gru-none",
                 "storn-jsb", "storn-piano-midi", "zaremba-small"):
        assert name in experiments.split(": ")[1].split(", ")
    assert "schema" not in proc.stdout
    assert "rnnbench-reproduce 000-t1 --seeds 3" in proc.stdout


@pytest.mark.slow
def test_multirun_goes_on_after_a_failed_and_a_diverged_job(tmp_path):
    proc = run_cli(["-m", *QUICK, "train.limit_batches=null", "optim=sgd", "train.clip=null", "optim.lr=1e30,0.01",
                    "dataset.chunk_len=1,25"], tmp_path)  # every batch: enough updates to blow up
    assert proc.returncode == 0, proc.stderr
    runs = [json.loads(p.read_text()) for p in _results(tmp_path)]
    assert all("/multirun/" in str(p) for p in _results(tmp_path))
    statuses = sorted((r["config"]["optim"]["lr"], r["config"]["dataset"]["chunk_len"], r["status"]) for r in runs)
    assert [s[:2] for s in statuses] == [(0.01, 1), (0.01, 25), (1e30, 1), (1e30, 25)]
    assert [s[2] for s in statuses[::2]] == ["failed", "failed"] and statuses[3][2] == "diverged"
    assert statuses[1][2] in ENDED


def read_all(report: str, n: int) -> bool:
    """The report used all n runs (a cell of n), or read them all and counted those that are not ok (smoke
    runs of two epochs may end no better than the floor, and never fill a cell)."""
    return f"({n})" in report or f"{n} runs read; not ok: " in report


def test_random_search_from_the_command_line_writes_every_member(tmp_path):
    proc = run_cli([*QUICK, "regulariser=fd", "search=random", "search.n=3", "search.space.model.hidden=[8]",
                    "train.max_epochs=1"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    paths = _results(tmp_path)
    assert len(paths) == 3 and all(p.parent.parent.name == "members" for p in paths)
    assert all(json.loads(p.read_text())["status"] in ENDED for p in paths)
    [summary] = tmp_path.glob("outputs/**/population.json")
    assert json.loads(summary.read_text())["n_members"] == 3
    report = run_cli([str(tmp_path / "outputs"), "--pick", "best-valid"], tmp_path, module="rnnbench.tools.report.cli")
    assert report.returncode == 0 and read_all(report.stdout, 3)  # the search's selection counts the members as runs


def test_the_sweeper_sees_each_task_s_selection_metric():
    from rnnbench.cli import selection_value

    assert selection_value({"selection_metric": "valid_ppl", "valid_ppl": 121.5, "valid_nll": None}) == 121.5
    assert selection_value({"selection_metric": "train_rmse", "train_rmse": 0.09, "test_rmse": 0.15}) == 0.09
    assert selection_value({"selection_metric": "valid_elbo", "valid_elbo": 7.1, "valid_nll": 6.9}) == 7.1
    assert selection_value({"valid_nll": 8.4}) == 8.4  # results written before the field existed
    assert selection_value({"selection_metric": "valid_nll", "valid_nll": None}) == float("inf")


@pytest.mark.slow
def test_a_multirun_through_submitit_runs_each_job_in_its_own_process(tmp_path):
    """hydra/launcher=submitit_local: the path a SLURM sweep takes (hydra/launcher=slurm), run here."""
    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "hydra/launcher=submitit_local", "dataset=synthetic", "train=debug", "model.hidden=8",
                    "device=cpu", "seed=0,1", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads((sweep / str(i) / "results.json").read_text()) for i in (0, 1)]
    assert [r["seed"] for r in results] == [0, 1] and all(r["status"] in ENDED for r in results)
    jobs = [d for d in (sweep / ".submitit").iterdir() if list(d.glob("*_result.pkl"))]
    assert len(jobs) == 2  # one submitit job (one process) per run
    report = run_cli([str(sweep)], tmp_path, module="rnnbench.tools.report.cli")
    assert report.returncode == 0 and read_all(report.stdout, 2)  # the two seeds, pooled


@pytest.mark.slow
def test_every_population_of_a_search_is_a_submitit_job(tmp_path):
    """population.dispatch=launcher: the search's groups go to the run's submitit launcher as jobs (what
    hydra/launcher=slurm does on a cluster), each in its own process; a second call skips them all."""
    run = tmp_path / "run"
    args = ["hydra/launcher=submitit_local", "population.dispatch=launcher", "dataset=synthetic", "train=debug",
            "model.hidden=8", "device=cpu", "search=random", "search.n=4", "search.space.model.hidden=[8,16]",
            "population.max_members=2", f"hydra.run.dir={run}"]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run / "population.json").read_text())
    jobs = [g["job"] for g in summary["groups"]]
    assert len(jobs) == len(summary["groups"]) >= 2 and len(set(jobs)) == len(jobs)
    done = [d.name for d in (run / ".submitit").iterdir() if list(d.glob("*_result.pkl"))]
    assert sorted(done) == sorted(jobs)  # one submitit job (one process) per population
    assert all(m["status"] in ENDED for m in summary["members"]) and len(summary["members"]) == 4
    report = run_cli([str(run), "--pick", "best-valid"], tmp_path, module="rnnbench.tools.report.cli")
    assert report.returncode == 0 and read_all(report.stdout, 4)
    again = run_cli(args, tmp_path)  # the same command: every group is finished, nothing is submitted
    assert again.returncode == 0, again.stderr
    assert all(g.get("skipped") for g in json.loads((run / "population.json").read_text())["groups"])
    assert len(list((run / ".submitit").iterdir())) == len(jobs) + 1  # the job folders and submitit's %j


def test_dispatch_without_a_submitit_launcher_is_one_line(tmp_path):
    proc = run_cli(["population.dispatch=launcher", "dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu",
                    "population.size=2", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "population.dispatch=launcher sends populations to a submitit launcher: add hydra/launcher=slurm" in proc.stderr


def test_a_search_run_again_with_other_settings_refuses_the_members_of_the_first(tmp_path):
    """A finished member of another configuration is never skipped as this search's own (it would be reported as
    its result): one line naming the folder and the keys, nothing written. Settings of how a run is executed
    (a time budget, the dispatch) may differ: the same search is skipped."""
    run = tmp_path / "run"
    args = ["dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu", "search=random", "search.n=2",
            "search.space.model.hidden=[8,16]", f"hydra.run.dir={run}"]
    assert run_cli(args, tmp_path).returncode == 0
    before = {str(p): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    other = run_cli(args + ["train.batch_size=3"], tmp_path)
    assert other.returncode == 2 and "Traceback" not in other.stderr
    [line] = other.stderr.strip().splitlines()
    assert f"{run / 'members' / '000'} holds the results of another configuration" in line
    assert "differs in train.batch_size" in line and "nothing was trained" in line
    assert {str(p): p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    same = run_cli(args + ["train.max_seconds=600", "population.dispatch=processes"], tmp_path)
    assert same.returncode == 0, same.stderr
    assert all(g.get("skipped") for g in json.loads((run / "population.json").read_text())["groups"])


def test_an_unknown_dispatch_is_one_line(tmp_path):
    proc = run_cli(["population.dispatch=threads", "dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu",
                    "population.size=2", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "population.dispatch=threads is not a way to dispatch groups; valid: here, processes, launcher" in proc.stderr


def test_the_shipped_slurm_launcher_composes_with_overrides(tmp_path):
    proc = run_cli(["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=30",
                    "--cfg", "hydra", "--package", "hydra.launcher"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for line in ("partition: gpu", "timeout_min: 30", "gpus_per_node: 1", "array_parallelism: 32",
                 "_target_: hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"):
        assert line in proc.stdout


def test_hydra_argument_mistakes_are_one_line(tmp_path):
    proc = run_cli(["-m", "dataset=synthetic", "--cfg", "job"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("rnnbench: error: Only one of --run, --multirun, --cfg")


@pytest.mark.slow
def test_a_search_split_by_its_draw_seed_runs_one_population_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(["-m", "hydra/launcher=submitit_local", "dataset=synthetic", "train=debug", "model.hidden=8",
                    "device=cpu", "regulariser=fd", "search=random", "search.n=2", "search.seed=0,1",
                    "search.space.model.hidden=[8]", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.parent.name for p in sweep.glob("*/population.json")) == ["0", "1"]  # a population per job
    assert len(list(sweep.glob("*/members/*/results.json"))) == 4
    report = run_cli([str(sweep), "--pick", "best-valid"], tmp_path, module="rnnbench.tools.report.cli")
    assert report.returncode == 0 and read_all(report.stdout, 4)  # selection over every member of every job


def _on_a_terminal(args: list[str], cwd: Path) -> str:
    """Run ``python -m rnnbench args`` with stdin, stdout and stderr on a pseudo-terminal: what it printed."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))  # 40 x 200: the bar has room
    proc = subprocess.Popen([sys.executable, "-m", "rnnbench", *args], cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=300) == 0, out.decode(errors="replace")[-2000:]
    return out.decode(errors="replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("progress", ["true", "false"])
def test_one_line_per_epoch_on_a_terminal_and_in_the_log(tmp_path, progress):
    """Issue 23: under a terminal (tqdm's bar shows with train.progress=true) every epoch is one line on the
    console and one in rnnbench.log, not a bare one and a prefixed one."""
    run = tmp_path / "run"
    out = _on_a_terminal(["dataset=synthetic", "model.hidden=8", "device=cpu", "train.max_epochs=3",
                          f"train.progress={progress}", f"data.root={tmp_path / 'data'}", f"hydra.run.dir={run}"], tmp_path)
    log = (run / "rnnbench.log").read_text()
    for epoch in (1, 2, 3):
        assert len(re.findall(rf"epoch {epoch}  train_nll", out)) == 1, out
        assert len(re.findall(rf"\]\[rnnbench\]\[INFO\] - epoch {epoch}  train_nll", out)) == 1  # with its prefix
        assert len(re.findall(rf"epoch {epoch}  train_nll", log)) == 1
    assert bool(re.search(r"3/3 \[[0-9:<]+, +[0-9.]+(epoch/s|s/epoch)", out)) == (progress == "true")  # the bar, at its end


def test_the_record_of_a_run_names_its_environment_and_opens_the_log_with_its_config(tmp_path):
    """Issue 23 item 7: results.json holds the Python, NumPy, torch versions, the host and the SLURM job; the
    log file starts with the composed config (the console does not repeat it)."""
    import platform
    import socket

    import numpy
    from omegaconf import OmegaConf

    run = tmp_path / "run"
    proc = run_cli(QUICK + ["train.progress=false", f"data.root={tmp_path / 'data'}", f"hydra.run.dir={run}"], tmp_path,
                   env_extra={"SLURM_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": "3"})
    assert proc.returncode == 0, proc.stderr
    env = json.loads((run / "results.json").read_text())["environment"]
    assert env["python"] == platform.python_version() and env["numpy"] == numpy.__version__
    assert env["host"] == socket.gethostname() and env["slurm"] == {"job_id": "4242", "array_task_id": "3"}
    assert env["cuda"] is None and env["cudnn"] is None  # a CPU run
    kept = "glibc heap, no mmap" if platform.libc_ver()[0] == "glibc" else "system default (not glibc)"
    assert env["host_allocator"] == kept  # rnnbench/runtime.py: keep_host_memory, before training
    log = (run / "rnnbench.log").read_text()
    first, config = log.split("\n", 1)[0], log.split("config:\n", 1)[1].split("\n[", 1)[0]
    assert first.endswith("config:") and OmegaConf.create(config).model.hidden == 16
    assert "config:" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("flag", ["0", "1"])
def test_rnnbench_malloc_0_keeps_the_system_allocator(flag):
    """keep_host_memory sets glibc's heap once (mallopt) and says so; RNNBENCH_MALLOC=0 leaves the default."""
    import platform

    code = "from rnnbench.runtime import keep_host_memory as k; print(k()); print(k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "RNNBENCH_MALLOC": flag}).stdout.splitlines()
    glibc = platform.libc_ver()[0] == "glibc"
    said = ("glibc heap, no mmap" if glibc else "system default (not glibc)") if flag == "1" else \
        "system default (RNNBENCH_MALLOC=0)"
    assert out == [said, said]


@pytest.mark.parametrize("stop, code, line", [(KeyboardInterrupt, 130, "tool: interrupted; nothing was changed"),
                                               ("sigterm", 143, "tool: interrupted; nothing was changed")])
def test_a_console_script_stops_on_ctrl_c_and_sigterm_in_one_line(stop, code, line, capsys):
    """Every console script (rnnbench.errors.cli_entry): Ctrl-C exits 130, SIGTERM (raised as Terminated where the
    command is, e.g. a `kill` while it waits) 143, each with one line and no traceback; SIGTERM's handler is the
    script's own only while it runs."""
    import signal

    from rnnbench.errors import cli_entry

    def main():
        if stop == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)  # the handler cli_entry installed raises Terminated here
            time.sleep(5)  # not reached
        raise stop

    previous = signal.getsignal(signal.SIGTERM)
    assert cli_entry("tool", main) == code
    assert signal.getsignal(signal.SIGTERM) is previous
    assert capsys.readouterr().err == line + "\n"


def test_a_second_sigterm_does_not_cut_the_stop_short():
    """The first SIGTERM raises Terminated; one that follows while the stop writes its records (a `pkill -f rnnbench`
    that reaches rnnbench-reproduce too, which passes its own on to the same run) is ignored, not raised into them."""
    import signal

    from rnnbench.errors import Terminated, stop_on_sigterm

    previous = stop_on_sigterm()
    try:
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # not reached
        os.kill(os.getpid(), signal.SIGTERM)  # while the first one's stop goes on
        time.sleep(0.05)
        written = True  # reached: nothing was raised
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert written
