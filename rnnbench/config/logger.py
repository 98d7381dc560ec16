"""The logger group (conf/logger/*.yaml): rnnbench/engine/trackers.py: metrics_log."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class LoggerConfig:
    """Where the per-epoch metrics go (rnnbench/engine/trackers.py: metrics_log)."""

    # csv: metrics.csv; tensorboard, mlflow, wandb: metrics.csv and that tracker (rnnbench/engine/trackers.py)
    name: str = "csv"
    experiment: str = "rnnbench"  # mlflow: the experiment; wandb: the project
    tracking_uri: Optional[str] = None  # mlflow: a server or database; None: sqlite in the run folder
    mode: str = "offline"  # wandb: offline (wandb sync later) | online


# (schema name, dataclass) for conf/logger/*.yaml: ``/logger_<name>_schema@_here_``
SCHEMAS = [("logger", LoggerConfig)]
