"""``rnnbench``: the Hydra app. A thin wrapper around ``train(cfg, run_dir)``.

A user mistake (bad data root, missing file, impossible value) prints one line and exits 2.
In a multirun (``-m``) a failed or diverged job writes its results.json with that status and
the sweep goes on with the next job.
"""
from __future__ import annotations

import logging
import os
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
from rnnbench.errors import ConfigError, RnnbenchError, SearchIncomplete
from rnnbench.engine.results import (FINISHED, folder_problem, read_results, remove_leftovers, selection_value,
                                     write_failed, write_failure)

log = logging.getLogger("rnnbench")
register_configs()


RECORD = ".hydra"  # Hydra's record of the config, written by rnnbench once the run holds its folder
LOG = "rnnbench.log"
RECORD_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")  # what record() writes into RECORD
OUTPUTS = ("results.json", "metrics.csv", "checkpoint.pt", "best.pt")  # what a run writes (README)
SEARCH_OUTPUTS = ("population.json", "members", "optuna.db")  # what a population or search writes
ACTIVE: dict = {}  # the run folder this process trains, for the message of Ctrl-C


def finished_run(run_dir: Path) -> Optional[dict]:
    """The results of a finished run in ``run_dir`` (status ok, diverged, failed or no better than
    the floor), else None."""
    results = read_results(run_dir / "results.json")
    return results if results is not None and results.get("status") in FINISHED else None


def tidy(run_dir: Path, finished: bool) -> None:
    """What a killed process left behind in the folder this process now holds: temporary files of an
    atomic write and, beside a finished results.json, the checkpoint it was about to remove (a
    population group tidies its members' folders under its own lock: rnnbench/population/train.py)."""
    remove_leftovers(run_dir)
    if finished and (run_dir / "checkpoint.pt").is_file():
        (run_dir / "checkpoint.pt").unlink()
        log.info("removed %s/checkpoint.pt (the run had finished when it was killed)", run_dir)


class NoFollowFileHandler(logging.FileHandler):
    """The run's log, appended, opened with O_NOFOLLOW: a link planted after odd_file's check is an error, not
    a file written outside the run folder."""

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)

    def handleError(self, record) -> None:
        """A line the log file cannot take (a disk full) is dropped, not printed as a traceback: the console has
        it, and a failed write of a run file ends the run in one line (write_failure)."""


def record(cfg: DictConfig, run_dir: Path) -> logging.Handler:
    """Hydra's record of the run (.hydra/config.yaml, hydra.yaml, overrides.yaml, written atomically)
    and the log file, once the run holds its folder and its checks passed; returns the log's handler."""
    from omegaconf import OmegaConf

    from rnnbench.engine.results import write_text_atomic

    folder = run_dir / RECORD
    # what record() replaces, so that unrecord() can put the folder back byte for byte (a resume refused
    # while loading, e.g. a checkpoint that does not fit the model, changes nothing: issue 32)
    ACTIVE["recorded"] = {"made": not folder.exists(), "log": (run_dir / LOG).stat().st_size if (run_dir / LOG).is_file()
                          else None, "files": {n: (folder / n).read_bytes() if (folder / n).is_file() else None
                                               for n in RECORD_FILES}}
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "config.yaml", OmegaConf.to_yaml(cfg))
    if HydraConfig.initialized():  # run_job called from Python (tests) has no Hydra record beyond the config
        hc = HydraConfig.get()
        write_text_atomic(folder / "hydra.yaml", OmegaConf.to_yaml({"hydra": hc}))
        write_text_atomic(folder / "overrides.yaml", OmegaConf.to_yaml(hc.overrides.task))
    handler = NoFollowFileHandler(run_dir / LOG)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    # the composed config opens the log (the file only: the console keeps its one line per epoch)
    handler.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "config:\n%s", (OmegaConf.to_yaml(cfg),), None))
    logging.getLogger().addHandler(handler)
    return handler


def unrecord(run_dir: Path) -> None:
    """Undo record() for a run that was refused while loading (a bad data file, a checkpoint that does not fit)
    and wrote nothing else: .hydra/ and the log are put back as they were (removed where this command made
    them), and the folder too if this command made it and it is empty again."""
    before = ACTIVE.pop("recorded", None)
    if before is None:
        return
    for name, data in before["files"].items():
        if data is None:
            (run_dir / RECORD / name).unlink(missing_ok=True)
        else:
            (run_dir / RECORD / name).write_bytes(data)
    if before["log"] is None:
        (run_dir / LOG).unlink(missing_ok=True)
    else:
        os.truncate(run_dir / LOG, before["log"])
    if before["made"]:
        try:
            (run_dir / RECORD).rmdir()  # only if empty
        except OSError:
            pass
    ACTIVE["unrecorded"] = True  # run_job removes the folder too if it is empty once the lock is released


def odd_file(run_dir: Path) -> Optional[str]:
    """A run output that exists but is not a regular file (a folder, a FIFO that would block a reader), or a
    symbolic link where rnnbench writes a file (every file of a run is written in its folder, never through
    a link: issue 32)."""
    written = [*OUTPUTS, LOG, RECORD, *(f"{RECORD}/{n}" for n in RECORD_FILES)]
    for name in written:
        path = run_dir / name
        if path.is_symlink():
            return (f"{path} is a symbolic link; rnnbench writes a run's files only into its folder, never through a "
                    "link; nothing was changed. Remove the link (or choose another hydra.run.dir)")
    for name in OUTPUTS:
        path = run_dir / name
        if path.exists() and not path.is_file():
            return (f"{path} exists but is not a regular file; nothing was changed. Remove it (or choose another "
                    "hydra.run.dir)")
    return None


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
    folder's lock while it works (rnnbench/engine/lock.py): a second process on it is refused. A
    folder that holds a finished run is never written into (a single run stops with an error, a sweep
    skips the job); one that holds a killed run's checkpoint resumes it (rnnbench/engine/fit.py). A
    refused command changes nothing in the folder: .hydra/ and the log are written after the checks."""
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
        if ACTIVE.pop("unrecorded", False):
            try:
                run_dir.rmdir()  # a folder this refused command left empty (Hydra makes it before the checks)
            except OSError:
                pass


def _run_locked(cfg: DictConfig, run_dir: Path, multirun: bool) -> Optional[float]:
    problem = odd_file(run_dir)
    if problem:
        return refuse(problem, multirun)
    done = finished_run(run_dir)
    tidy(run_dir, finished=done is not None)
    if done is not None:
        if multirun:
            log.info("%s holds a finished run (%s): skipped", run_dir, done["status"])
            return selection_value(done)
        return refuse(f"{run_dir} already holds a finished run (status {done['status']}); nothing was changed. "
                      "Choose another hydra.run.dir, or delete that folder to run it again", multirun)
    try:
        check_common(cfg)
        if multirun and HydraConfig.initialized():  # a sweep's job: its overrides (a single run's: before Hydra)
            check_overrides(cfg, list(HydraConfig.get().overrides.task))
        population = cfg.search.name != "none" or cfg.population.size > 1
        if not population:  # a killed run of another configuration is refused before anything is written
            from rnnbench.engine.checkpoint import check_resumable

            check_resumable(run_dir / "checkpoint.pt", [cfg])
    except RnnbenchError as e:
        if multirun:
            _write_failed(cfg, run_dir, str(e))
        return refuse(str(e), multirun)
    from rnnbench.train import run_config  # torch is imported only once the config is valid

    try:
        handler = record(cfg, run_dir)
    except OSError as e:  # the folder cannot take even the record (a disk full from the start)
        failure = write_failure(e)
        if failure is None:
            raise
        unrecord(run_dir)
        return refuse(failure, multirun, code=1)
    error, incomplete, written_failure = None, None, None
    try:
        results, _ = run_config(cfg, run_dir)
    except SearchIncomplete as e:  # a group failed or its job was cancelled: population.json says which
        incomplete = e
    except RnnbenchError as e:  # a user mistake found while loading (a data file): fix it, run the same command
        error = e
    except Exception as e:
        # a disk full, a size limit, a read-only folder: one line, the checkpoint kept, not recorded as finished
        written_failure = write_failure(e)
        if written_failure is None:
            _write_failed(cfg, run_dir, traceback.format_exc())
            if not multirun:
                raise
            log.exception("job failed (the sweep goes on)")
            return float("inf")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    if incomplete is not None:  # not a user mistake: exit 1
        return refuse(str(incomplete), multirun, code=1)
    if written_failure is not None:  # the checkpoint on disk is kept; the same command resumes (exit 1)
        return refuse(written_failure, multirun, code=1)
    if error is not None:
        if multirun:
            _write_failed(cfg, run_dir, str(error))
        else:
            unrecord(run_dir)
        return refuse(str(error), multirun)
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


def interrupted() -> str:
    """What Ctrl-C prints: where the run stands and that the same command resumes it."""
    run_dir = ACTIVE.get("run_dir")
    if run_dir is None:
        return "rnnbench: interrupted before the run started; nothing was trained"
    if (Path(run_dir) / "checkpoint.pt").is_file():
        return (f"rnnbench: interrupted; {run_dir} holds its checkpoint: run the same command (same "
                "hydra.run.dir) to resume it")
    return (f"rnnbench: interrupted before the first checkpoint of {run_dir}; the same command (same hydra.run.dir) "
            "starts it over")


def main() -> None:
    argv = sys.argv[1:]
    problem = output_dir_problem(argv) or moved_key(argv) or config_problem(argv)
    if problem:
        print(f"rnnbench: error: {problem}", file=sys.stderr)
        sys.exit(2)
    try:
        _app()
    except BrokenPipeError:  # `rnnbench --help | head`
        sys.stdout = None
    except KeyboardInterrupt:
        print(interrupted(), file=sys.stderr)
        sys.exit(130)
    except ValueError as e:  # Hydra's command-line checks (e.g. -m with --cfg); errors of a run never get here
        print(f"rnnbench: error: {one_line(str(e))}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
