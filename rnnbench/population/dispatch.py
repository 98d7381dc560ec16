"""``population.dispatch=launcher``: every population of a search (or of ``population.size``) as a
job of the run's Hydra submitit launcher (``hydra/launcher=slurm``, conf/hydra/launcher/slurm.yaml,
or ``submitit_local``), instead of one after the other in this process. The process that runs the
search submits the groups, waits for them and writes population.json; each job trains one group with
the engine (rnnbench/population/train.py), so a pre-empted job resumes from its checkpoint when the
search is run again.

The executor is built from ``hydra.launcher`` exactly as hydra-submitit-launcher builds its own
(its folder, max_num_timeout, and the queue's parameters), so every ``hydra.launcher.<key>=`` override
applies to the populations too; the job logs go to ``<run dir>/.submitit/``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

from rnnbench.errors import ConfigError

log = logging.getLogger("rnnbench")


def executor(run_dir: Path):
    """A submitit executor with the settings of this run's hydra.launcher (a submitit launcher)."""
    try:
        import submitit
        from hydra.core.hydra_config import HydraConfig
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    except ImportError:
        raise ConfigError('population.dispatch=launcher needs hydra-submitit-launcher: pip install "rnnbench[slurm]"') from None
    if not HydraConfig.initialized():
        raise ConfigError("population.dispatch=launcher needs the rnnbench command (its hydra.launcher)")
    launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=False)
    target = str(launcher.get("_target_", ""))
    kind = {"SlurmLauncher": "slurm", "LocalLauncher": "local"}.get(target.rsplit(".", 1)[-1])
    if "submitit" not in target or kind is None:
        raise ConfigError("population.dispatch=launcher sends populations to a submitit launcher: add "
                          "hydra/launcher=slurm (or hydra/launcher=submitit_local)")
    params = {k: v for k, v in launcher.items() if k not in ("_target_", "submitit_folder", "max_num_timeout")}
    ex = submitit.AutoExecutor(cluster=kind, folder=str(run_dir / ".submitit" / "%j"),
                               **{f"{kind}_max_num_timeout": launcher.get("max_num_timeout", 0)})
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    ex.update_parameters(**{k if k in base else f"{kind}_{k}": v for k, v in params.items()
                            if not (isinstance(v, str) and "${" in v)})
    return ex


def submit_groups(groups: list[tuple[list, list[Path]]], run_dir: Path, study: Optional[Path] = None) -> list:
    """Submit each (members, run dirs) group as one job; the jobs, in order. ``study``: a TPE search's
    optuna study (SQLite on the shared file system), whose pruner the jobs ask."""
    from rnnbench.population.train import train_population

    ex = executor(run_dir)
    with ex.batch():
        jobs = [ex.submit(train_population, members, dirs, study) for members, dirs in groups]
    log.info("%d population(s) submitted to submitit: jobs %s", len(jobs), [j.job_id for j in jobs])
    return jobs
