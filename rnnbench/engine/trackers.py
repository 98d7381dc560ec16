"""Experiment trackers (``logger=``, conf/logger/*.yaml): each writes metrics.csv as ``logger=csv`` does and
also sends the run to a tracker: its parameters (the flattened config) at the start, every numeric column of
metrics.csv per epoch, the end metrics (test, valid, train) from results.json and the run folder when it
ends. Every tracker names a run ``<dataset>/<model>/<regulariser>/<seed>``.

- ``tensorboard``: event files in ``<run dir>/tensorboard/<dataset>/<model>/<regulariser>/seed-<seed>/``,
  the config as hparams with the test metric among its metrics (pip install "rnnbench[tensorboard]");
- ``mlflow``: an SQLite backend ``<run dir>/mlflow.db`` with artifacts in ``<run dir>/mlartifacts`` unless
  ``logger.tracking_uri`` names a server or a database; results.json as an artifact, the folder as the tag
  ``run_dir`` (pip install "rnnbench[mlflow]");
- ``wandb``: offline by default (``logger.mode=offline``; ``wandb sync <run dir>/wandb/offline-run-*``
  uploads it later), the folder as ``run_dir`` in the run's config and summary (pip install "rnnbench[wandb]").

A resumed run continues the same tracker run (its id is kept in the run folder) and logs from the epoch
after its checkpoint on.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from omegaconf import OmegaConf

from rnnbench.engine.results import MetricsLog, write_text_atomic
from rnnbench.errors import ConfigError

SKIP = ("epoch",)
BROKEN = ("diverged", "failed")  # a tracker's failed runs; the others ended (their status is a tag / in the summary)


def _flat(node, prefix: str = "") -> dict:
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return out


def _numbers(row: dict) -> dict:
    return {k: float(v) for k, v in row.items()
            if k not in SKIP and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _end_metrics(results: dict) -> dict:
    """The numbers of results.json a tracker shows at the end: the split metrics (test_*, valid_*, train_*)."""
    return {k: float(v) for k, v in results.items() if k.startswith(("test_", "valid_", "train_"))
            and isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}


def run_name(cfg) -> str:
    """<dataset>/<model>/<regulariser>/<seed>: the name of a run in every tracker."""
    return f"{cfg.dataset.name}/{cfg.model.name}/{cfg.regulariser.name}/{cfg.seed}"


def _need(module: str, extra: str):
    try:
        return __import__(module)
    except ImportError:
        raise ConfigError(f'logger={extra} needs the {module} package: pip install "rnnbench[{extra}]"') from None


class TensorBoardLog(MetricsLog):
    """metrics.csv plus TensorBoard event files: every numeric column as a scalar per epoch, the config as
    hparams whose metrics include the test metric (written at the end)."""

    def __init__(self, cfg, path: Path, fields: list[str], rows: tuple = (), test_metric: str = "test_nll"):
        super().__init__(path, fields, rows)
        try:
            from torch.utils.tensorboard import SummaryWriter
            from torch.utils.tensorboard.summary import hparams as hparams_summary
        except ImportError:
            raise ConfigError('logger=tensorboard needs the tensorboard package: '
                              'pip install "rnnbench[tensorboard]"') from None
        # a resumed run: TensorBoard discards what the killed run logged after its checkpoint's epoch
        resumed_at = int(rows[-1]["epoch"]) + 1 if rows else None
        folder = Path(path).parent / "tensorboard" / run_name(cfg).rsplit("/", 1)[0] / f"seed-{cfg.seed}"
        self.writer = SummaryWriter(str(folder), purge_step=resumed_at)
        # the hparams' metrics name scalars (TensorBoard shows their last value): the columns and the test metric;
        # the summaries are written directly, as add_hparams would also log a scalar at step 0
        metrics = {f: 0.0 for f in [*fields, test_metric] if f not in SKIP and f not in ("lr", "epoch_s")}
        hparams = _flat(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
        for summary in hparams_summary(hparams, metrics) if resumed_at is None else ():  # once per run
            self.writer._get_file_writer().add_summary(summary)
        self.last_epoch = int(rows[-1]["epoch"]) if rows else 0

    def append(self, row: dict) -> None:
        super().append(row)
        for key, value in _numbers(row).items():
            self.writer.add_scalar(key, value, row.get("epoch", 0))
        self.last_epoch = row.get("epoch", self.last_epoch)
        self.writer.flush()

    def finish(self, results: dict) -> None:
        for key, value in _end_metrics(results).items():
            if key not in self.fields:  # the end's numbers, at the last epoch (valid_nll is also a column)
                self.writer.add_scalar(key, value, self.last_epoch)
        self.writer.close()


class MLflowLog(MetricsLog):
    """metrics.csv plus an MLflow run (MlflowClient: no global state, so a population's members each have
    their own run)."""

    ID = "mlflow_run_id"  # in the run folder: a resumed run continues its MLflow run

    def __init__(self, cfg, path: Path, fields: list[str], rows: tuple = (), test_metric: str = "test_nll"):
        super().__init__(path, fields, rows)
        mlflow = _need("mlflow", "mlflow")
        from mlflow.entities import Param

        folder = Path(path).parent.resolve()
        uri = cfg.logger.get("tracking_uri") or f"sqlite:///{folder / 'mlflow.db'}"
        self.client = mlflow.MlflowClient(tracking_uri=uri)
        name = cfg.logger.get("experiment") or "rnnbench"
        found = self.client.get_experiment_by_name(name)
        artifacts = None if cfg.logger.get("tracking_uri") else (folder / "mlartifacts").as_uri()
        experiment = found.experiment_id if found else self.client.create_experiment(name, artifact_location=artifacts)
        stored = folder / self.ID
        if rows and stored.is_file():  # resumed: the same MLflow run
            self.run_id = stored.read_text().strip()
        else:
            run = self.client.create_run(experiment, run_name=run_name(cfg), tags={"run_dir": str(folder)})
            self.run_id = run.info.run_id
            write_text_atomic(stored, self.run_id + "\n")
            params = [Param(k, str(v)[:6000]) for k, v in _flat(OmegaConf.to_container(cfg, resolve=True,
                                                                                          enum_to_str=True)).items()]
            for k in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
                self.client.log_batch(self.run_id, params=params[k:k + 100])

    def append(self, row: dict) -> None:
        super().append(row)
        from mlflow.entities import Metric

        now, step = int(time.time() * 1000), int(row.get("epoch", 0))
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in _numbers(row).items()])

    def finish(self, results: dict) -> None:
        from mlflow.entities import Metric

        now, step = int(time.time() * 1000), int(results.get("epochs") or 0)
        ends = [Metric(k, v, now, step) for k, v in _end_metrics(results).items() if k not in self.fields]
        self.client.log_batch(self.run_id, metrics=ends)  # a column's own series keeps one value per epoch
        self.client.set_tag(self.run_id, "status", str(results.get("status")))
        self.client.log_artifact(self.run_id, str(self.path.parent / "results.json"))
        self.client.set_terminated(self.run_id, "FAILED" if results.get("status") in BROKEN else "FINISHED")


class WandbLog(MetricsLog):
    """metrics.csv plus a Weights & Biases run, offline unless ``logger.mode=online``."""

    ID = "wandb_run_id"

    def __init__(self, cfg, path: Path, fields: list[str], rows: tuple = (), test_metric: str = "test_nll"):
        super().__init__(path, fields, rows)
        wandb = _need("wandb", "wandb")
        folder = Path(path).parent.resolve()
        stored = folder / self.ID
        run_id = stored.read_text().strip() if rows and stored.is_file() else secrets.token_hex(4)
        write_text_atomic(stored, run_id + "\n")
        os.environ.setdefault("WANDB_SILENT", "true")
        config = {**_flat(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)), "run_dir": str(folder)}
        self.run = wandb.init(project=cfg.logger.get("experiment") or "rnnbench", name=run_name(cfg), id=run_id,
                              dir=str(folder), mode=cfg.logger.get("mode") or "offline", config=config, resume="allow",
                              reinit="create_new", settings=wandb.Settings(console="off", silent=True))

    def append(self, row: dict) -> None:
        super().append(row)
        self.run.log(_numbers(row), step=int(row.get("epoch", 0)))

    def finish(self, results: dict) -> None:
        self.run.summary.update({**_end_metrics(results), "status": str(results.get("status")),
                                 "run_dir": str(self.path.parent.resolve())})
        self.run.finish(exit_code=1 if results.get("status") in BROKEN else 0)


TRACKERS = {"tensorboard": TensorBoardLog, "mlflow": MLflowLog, "wandb": WandbLog}


def tracker(name: str, cfg, path: Path, fields: list[str], rows: tuple = (), test_metric: str = "test_nll") -> MetricsLog:
    if name not in TRACKERS:
        raise ConfigError(f"logger={name} is not a logger; valid: csv, {', '.join(TRACKERS)}")
    return TRACKERS[name](cfg, path, fields, rows, test_metric)


def metrics_log(cfg, path: Path, fields: list[str], rows: tuple = (), test_metric: str = "test_nll") -> MetricsLog:
    """The per-epoch log of a run, by ``logger.name``: csv (metrics.csv) or a tracker that also writes it
    (tensorboard, mlflow, wandb: above); ``rows``: the epochs a resumed run has already logged;
    ``test_metric``: the task's (results.json "test_metric"), which a tracker announces."""
    name = OmegaConf.select(cfg, "logger.name", default="csv")
    if name == "csv":
        return MetricsLog(path, fields, rows)
    return tracker(name, cfg, Path(path), fields, rows, test_metric)
