"""``rnnbench``: the Hydra app. A thin wrapper around ``train(cfg, run_dir)``.

A user mistake (bad data root, missing file, impossible value) prints one line and exits 2.
In a multirun (``-m``) a failed or diverged job writes its results.json with that status and
the sweep goes on with the next job.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Optional

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rnnbench.config import check_common, register_configs
from rnnbench.errors import RnnbenchError
from rnnbench.engine.results import FINISHED, read_results, write_failed

log = logging.getLogger("rnnbench")
register_configs()


def _write_failed(cfg: DictConfig, run_dir: Path, error: str) -> None:
    """results.json with status failed, unless the folder holds a checkpoint: a run that can still
    resume (e.g. once the setting that made it fail is put back) is not marked finished."""
    if not (run_dir / "checkpoint.pt").exists():
        write_failed(cfg, run_dir, error)


def selection_value(results: dict) -> float:
    """The run's selection metric (valid NLL, valid perplexity, STORN's valid bound, sentiment's
    training RMSE: ``results["selection_metric"]``), what a Hydra sweeper minimises; inf if there is none."""
    value = results.get(results.get("selection_metric", "valid_nll"))
    return float(value) if isinstance(value, (int, float)) else float("inf")


def finished_run(run_dir: Path) -> Optional[dict]:
    """The results of a finished run in ``run_dir`` (status ok, diverged or failed), else None."""
    results = read_results(run_dir / "results.json")
    return results if results is not None and results.get("status") in FINISHED else None


def run_job(cfg: DictConfig, run_dir: Path, multirun: bool) -> Optional[float]:
    """Train; return the run's selection metric (what a Hydra sweeper minimises). A folder that holds
    a finished run is never written into: a single run stops with an error, a sweep skips the job; a
    folder that holds a killed run's checkpoint resumes it (rnnbench/engine/fit.py)."""
    done = finished_run(run_dir)
    if done is not None:
        if multirun:
            log.info("%s holds a finished run (%s): skipped", run_dir, done["status"])
            return selection_value(done)
        print(f"rnnbench: error: {run_dir} already holds a finished run (status {done['status']}); nothing was "
              "changed. Choose another hydra.run.dir, or delete that folder to run it again", file=sys.stderr)
        sys.exit(2)
    from rnnbench.train import train  # torch is imported only once the config is valid

    try:
        check_common(cfg)
        if cfg.search.name != "none" or cfg.population.size > 1:
            if cfg.search.name == "tpe":  # optuna's ask/tell rounds (rnnbench/population/tpe.py)
                from rnnbench.population.tpe import run_tpe as run_members
            else:  # seeds or a random search (rnnbench/population/search.py)
                from rnnbench.population.search import run_population as run_members
            members = [r for r in run_members(cfg, run_dir) if r]
            results = min(members, key=selection_value) if members else {}
        else:
            results = train(cfg, run_dir)
    except RnnbenchError as e:
        _write_failed(cfg, run_dir, str(e))
        if not multirun:
            print(f"rnnbench: error: {e}", file=sys.stderr)
            sys.exit(2)
        log.error("job failed: %s", e)
        return float("inf")
    except Exception:
        _write_failed(cfg, run_dir, traceback.format_exc())
        if not multirun:
            raise
        log.exception("job failed (the sweep goes on)")
        return float("inf")
    return selection_value(results)


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
    for a in argv:
        key = "hydra.sweep.dir=" if multirun else "hydra.run.dir="
        if a.startswith(key):
            target = a[len(key):].split("${")[0] or "."
    path = Path(target)
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as e:
        return (f"cannot write the output folder {path} ({e.strerror}); run from a writable folder or point "
                f"{'hydra.sweep.dir' if multirun else 'hydra.run.dir'}=... to one")
    return None


def main() -> None:
    problem = output_dir_problem(sys.argv[1:])
    if problem:
        print(f"rnnbench: error: {problem}", file=sys.stderr)
        sys.exit(2)
    try:
        _app()
    except BrokenPipeError:  # `rnnbench --help | head`
        sys.stdout = None
    except ValueError as e:  # Hydra's command-line checks (e.g. -m with --cfg); errors of a run never get here
        print(f"rnnbench: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
