"""The logger group (conf/logger/*.yaml): rnnbench/engine/results.py: metrics_log."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LoggerConfig:
    """Where the per-epoch metrics go (rnnbench/engine/results.py: metrics_log)."""

    name: str = "csv"  # csv: metrics.csv; tensorboard: metrics.csv and <run dir>/tensorboard/ (scalars, hparams)


# (schema name, dataclass) for conf/logger/*.yaml: ``/logger_<name>_schema@_here_``
SCHEMAS = [("logger", LoggerConfig)]
