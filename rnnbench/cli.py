"""``rnnbench``: the Hydra app. A thin wrapper around ``train(cfg, run_dir)``.

A user mistake (bad data root, missing file, impossible value) prints one line and exits 2.
In a multirun (``-m``) a failed or diverged job writes its results.json with that status and
the sweep goes on with the next job.
"""
from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Optional

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rnnbench.config import check_common, register_configs
from rnnbench.tasks import check_overrides, moved_key
from rnnbench.errors import ConfigError, RnnbenchError, SearchIncomplete, Terminated, interrupted_code, stop_on_sigterm
from rnnbench.engine.results import folder_problem, selection_value, write_failed
from rnnbench.run_folder import ACTIVE, FinishedRun, WriteFailed, prepare, release, train_recorded

log = logging.getLogger("rnnbench")
register_configs()


def _write_failed(cfg: DictConfig, run_dir: Path, error: str) -> None:
    """results.json with status failed, unless the folder holds a checkpoint: a run that can still
    resume (e.g. once the setting that made it fail is put back) is not marked finished."""
    if not (run_dir / "checkpoint.pt").exists():
        write_failed(cfg, run_dir, error)


def refuse(message: str, multirun: bool, code: int = 2) -> float:
    """A job that cannot run or did not finish: one line and exit ``code`` (a single run), or a logged
    error (a sweep goes on)."""
    if not multirun:
        print(f"rnnbench: error: {message}", file=sys.stderr)
        sys.exit(code)
    log.error("job skipped: %s", message)
    return float("inf")


def run_job(cfg: DictConfig, run_dir: Path, multirun: bool) -> Optional[float]:
    """Train; return the run's selection metric (what a Hydra sweeper minimises). The run holds its
    folder's lock while it works (rnnbench/engine/lock.py): a second process on it is refused. The folder is
    prepared by the rule rnnbench.api shares (rnnbench/run_folder.py): a finished run is never written into (a
    single run stops with an error, a sweep skips the job); a killed run's checkpoint resumes; a refused
    command changes nothing in the folder."""
    from rnnbench.engine.lock import RunLock

    try:
        lock = RunLock(run_dir).acquire()
    except RnnbenchError as e:
        return refuse(str(e), multirun)
    ACTIVE["run_dir"] = run_dir
    try:
        return _run_locked(cfg, run_dir, multirun)
    finally:
        lock.release()
        release(run_dir)


def _run_locked(cfg: DictConfig, run_dir: Path, multirun: bool) -> Optional[float]:
    try:
        prepare(cfg, run_dir)
    except FinishedRun as e:
        if not multirun:
            return refuse(str(e), multirun)
        log.info("%s holds a finished run (%s): skipped", run_dir, e.results["status"])
        return selection_value(e.results)
    except RnnbenchError as e:  # an odd file, a checkpoint of another configuration: nothing written
        return refuse(str(e), multirun)
    try:
        check_common(cfg)
        if multirun and HydraConfig.initialized():  # a sweep's job: its overrides (a single run's: before Hydra)
            check_overrides(cfg, list(HydraConfig.get().overrides.task))
    except RnnbenchError as e:
        if multirun:
            _write_failed(cfg, run_dir, str(e))
        return refuse(str(e), multirun)
    try:
        results, _ = train_recorded(cfg, run_dir, keep_record=multirun)
    except SearchIncomplete as e:  # not a user mistake: exit 1
        return refuse(str(e), multirun, code=1)
    except WriteFailed as e:  # the checkpoint on disk is kept; the same command resumes (exit 1)
        return refuse(str(e), multirun, code=1)
    except RnnbenchError as e:  # a user mistake found while loading (a data file): fix it, run the same command
        if multirun:
            _write_failed(cfg, run_dir, str(e))
        return refuse(str(e), multirun)
    except Exception:
        _write_failed(cfg, run_dir, traceback.format_exc())
        if not multirun:
            raise
        log.exception("job failed (the sweep goes on)")
        return float("inf")
    published_line(cfg, results)
    return selection_value(results)


def published_text(experiment: Optional[str], dataset: str, results: dict) -> Optional[str]:
    """``test NLL 8.050 | published 8.01 (000 Table 1 / Table 3) | +0.5%`` for an ok run of a preset whose cell
    a paper published (rnnbench/tools/reproduce/tables.py); None otherwise."""
    metric = results.get("test_metric") if results else None
    value = results.get(metric) if metric else None
    if not experiment or not isinstance(value, (int, float)) or results.get("status") != "ok":
        return None
    from rnnbench.tools.reproduce.tables import published_cell

    cell = published_cell(experiment, dataset)
    if cell is None:
        return None
    number, where = cell
    name = {"test_nll": "test NLL", "test_ppl": "test perplexity", "test_rmse": "test RMSE"}.get(metric, metric)
    return f"{name} {value:.3f} | published {number:.2f} ({where}) | {100 * (value - number) / number:+.1f}%"


def published_line(cfg: DictConfig, results: dict) -> None:
    """A run of a preset ends with ours next to the published number of its cell (issue 33)."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    text = published_text(choices.get("experiment"), str(cfg.dataset.name), results)
    if text:
        log.info("%s", text)


@hydra.main(version_base="1.3", config_path="pkg://rnnbench.conf", config_name="config")
def _app(cfg: DictConfig) -> Optional[float]:
    hc = HydraConfig.get()
    return run_job(cfg, Path(hc.runtime.output_dir), multirun=hc.mode == RunMode.MULTIRUN)


INSPECT_ONLY = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--resolve", "--shell-completion", "-sc")


def output_dir_problem(argv: list[str]) -> Optional[str]:
    """Why the run or sweep folder cannot be written, checked before Hydra starts (whose own failure
    is a traceback), or None. The folder is hydra.run.dir / hydra.sweep.dir up to its first
    interpolation, else outputs/ below the current folder."""
    if any(a in INSPECT_ONLY or a.startswith("--cfg") for a in argv):
        return None
    multirun = any(a in ("-m", "--multirun") for a in argv)
    target = "outputs"
    key = "hydra.sweep.dir=" if multirun else "hydra.run.dir="
    for a in argv:
        if a.startswith(key):
            if not a[len(key):].strip():  # Hydra would write the run into the current folder
                return (f"{key[:-1]} is empty: name the folder the run is written to (by default "
                        f"{'outputs/multirun' if multirun else 'outputs/runs'}/<date>/<time>)")
            target = a[len(key):].split("${")[0] or "."
    problem = folder_problem(Path(target))
    if problem:
        flag = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        return f"cannot write the output folder {target} ({problem}); run from a writable folder or point {flag}=... to one"
    return None


def one_line(message: str) -> str:
    """Hydra's multi-line messages (a bad override, an unknown option) as one line."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("full_key:", "reference_type", "object_type"))]
    for i, ln in enumerate(lines):
        if ln.startswith("Available options in"):
            options = lines[i + 1:]
            options = options[:options.index("Config search path:")] if "Config search path:" in options else options
            return "; ".join(lines[:i] + [f"{ln.rstrip(':').lower()}: {', '.join(options)}"])
    return "; ".join(ln.rstrip(".") for ln in lines)


def config_problem(argv: list[str]) -> Optional[str]:
    """A single run's config composed and checked before Hydra starts (so that a refused value writes
    nothing, not even the run folder): the one-line error, or None. Sweeps (-m) and Hydra's own options
    are left to Hydra; a sweep's bad job is recorded as failed and the sweep goes on."""
    if any(a.startswith("-") for a in argv):
        return None
    try:
        compose_checked([a for a in argv if not a.lstrip("+~").startswith(("hydra.", "hydra/"))])
    except RnnbenchError as e:
        return str(e)
    return None


def compose_checked(overrides: list[str]) -> DictConfig:
    """The config of ``overrides`` (without Hydra's own), composed as the command composes it and checked;
    a bad override or value raises ConfigError with one line (the CLI's pre-check and rnnbench.api's)."""
    from hydra import compose, initialize_config_module

    moved = moved_key(overrides)
    if moved:
        raise ConfigError(moved)
    try:
        with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except Exception as e:  # Hydra's and OmegaConf's errors of a bad override: printed by Hydra on many lines
        cause = e.__cause__ or e.__context__
        raise ConfigError(one_line(f"{e}: {cause}" if cause is not None and str(cause) not in str(e) else str(e))) from None
    check_common(cfg)
    check_overrides(cfg, overrides)
    return cfg


def interrupted(how: str = "interrupted") -> str:
    """What Ctrl-C (``how``: interrupted) or SIGTERM prints: where the run stands and that the same command resumes it."""
    run_dir = ACTIVE.get("run_dir")
    if run_dir is None:
        return f"rnnbench: {how} before the run started; nothing was trained"
    if (Path(run_dir) / "checkpoint.pt").is_file():
        return (f"rnnbench: {how}; {run_dir} holds its checkpoint: run the same command (same "
                "hydra.run.dir) to resume it")
    if any(Path(run_dir).glob("members/*/checkpoint.pt")):  # a search or population: one checkpoint per group
        return (f"rnnbench: {how}; {run_dir}/members hold the checkpoints of its unfinished groups: run the same "
                "command (same hydra.run.dir) to resume them (finished members are kept)")
    return (f"rnnbench: {how} before the first checkpoint of {run_dir}; the same command (same hydra.run.dir) "
            "starts it over")


def main() -> None:
    argv = sys.argv[1:]
    problem = output_dir_problem(argv) or moved_key(argv) or config_problem(argv)
    if problem:
        print(f"rnnbench: error: {problem}", file=sys.stderr)
        sys.exit(2)
    stop_on_sigterm()  # a `kill` or a scheduler's stop ends the run as Ctrl-C does: checkpoints kept, records written
    try:
        _app()
    except BrokenPipeError:  # `rnnbench --help | head`
        sys.stdout = None
    except KeyboardInterrupt as e:
        print(interrupted("stopped by SIGTERM" if isinstance(e, Terminated) else "interrupted"), file=sys.stderr)
        sys.exit(interrupted_code(e))
    except ValueError as e:  # Hydra's command-line checks (e.g. -m with --cfg); errors of a run never get here
        print(f"rnnbench: error: {one_line(str(e))}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
