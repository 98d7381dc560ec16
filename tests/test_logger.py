"""Trackers (rnnbench/engine/trackers.py), read back through their own readers: TensorBoard's event files,
MLflow's client on the run's SQLite backend, the offline W&B run's files; each beside metrics.csv."""
import csv
import json

import pytest

from rnnbench.train import train

from tests.conftest import ENDED

RUN = ("synthetic", "srnn", "none", 0)  # quick_cfg's run: <dataset>/<model>/<regulariser>/<seed>


def _events(run_dir):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = run_dir / "tensorboard" / "synthetic" / "srnn" / "none" / "seed-0"  # the run's name in TensorBoard
    return EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0}).Reload()


def test_tensorboard_scalars_match_metrics_csv(quick_cfg, tmp_path):
    pytest.importorskip("tensorboard")
    results = train(quick_cfg("logger=tensorboard", "train.max_epochs=3", "train.patience=3"), tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert results["status"] in ENDED and len(rows) == 3
    events = _events(tmp_path)
    valid = events.Scalars("valid_nll")
    assert [e.step for e in valid] == [1, 2, 3]
    assert [e.value for e in valid] == pytest.approx([float(r["valid_nll"]) for r in rows], rel=1e-6)
    [test] = events.Scalars("test_nll")  # the test metric at the end, an hparams metric
    assert test.value == pytest.approx(results["test_nll"], rel=1e-6) and test.step == 3
    hparams = events.PluginTagToContent("hparams")  # the config as hparams, its metrics the scalars
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    assert b"optim.lr" in hparams["_hparams_/session_start_info"] and b"synthetic" in hparams["_hparams_/session_start_info"]
    assert b"valid_nll" in hparams["_hparams_/experiment"] and b"test_nll" in hparams["_hparams_/experiment"]


def test_csv_is_the_default(quick_cfg, tmp_path):
    train(quick_cfg(), tmp_path)
    assert (tmp_path / "metrics.csv").is_file() and not (tmp_path / "tensorboard").exists()


def test_a_resumed_run_logs_each_epoch_once(quick_cfg, tmp_path, monkeypatch):
    """Killed just before its epoch-2 checkpoint (epoch 2 already logged), then resumed: TensorBoard
    purges the killed run's epoch 2 (purge_step), so every epoch holds the resumed run's value once."""
    import rnnbench.engine.checkpoint as ckpt

    cfg = quick_cfg("logger=tensorboard", "train.max_epochs=3", "train.patience=3")
    real = ckpt.save

    def killed(path, state):
        if state["epoch"] == 2:
            raise KeyboardInterrupt  # stands for kill -9: nothing after it runs
        real(path, state)

    monkeypatch.setattr(ckpt, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path)
    monkeypatch.setattr(ckpt, "save", real)
    train(cfg, tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    valid = _events(tmp_path).Scalars("valid_nll")
    assert [e.step for e in valid] == [1, 2, 3]
    assert [e.value for e in valid] == pytest.approx([float(r["valid_nll"]) for r in rows], rel=1e-6)


def test_mlflow_run_read_back_through_its_client(quick_cfg, tmp_path):
    """logger=mlflow: the run in <run dir>/mlflow.db, named <dataset>/<model>/<regulariser>/<seed>, with the
    config as parameters, every epoch's metrics, the test metrics at the end, results.json as an artifact and
    the folder as a tag."""
    mlflow = pytest.importorskip("mlflow")
    results = train(quick_cfg("logger=mlflow", "train.max_epochs=3", "train.patience=3"), tmp_path)
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    [run] = client.search_runs([client.get_experiment_by_name("rnnbench").experiment_id])
    assert run.info.run_name == "/".join(map(str, RUN)) and run.info.status == "FINISHED"
    assert run.data.params["optim.lr"] == str(quick_cfg().optim.lr) and run.data.params["dataset.name"] == "synthetic"
    assert run.data.tags["run_dir"] == str(tmp_path.resolve()) and run.data.tags["status"] == results["status"]
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    history = client.get_metric_history(run.info.run_id, "valid_nll")
    assert [m.step for m in history] == [1, 2, 3]
    assert [m.value for m in history] == pytest.approx([float(r["valid_nll"]) for r in rows])
    assert run.data.metrics["test_nll"] == pytest.approx(results["test_nll"])
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["results.json"]
    assert (tmp_path / "mlartifacts").is_dir()  # the artifacts stay in the run folder


def _wandb_records(path) -> list[bytes]:
    """The records of a .wandb file, read as `wandb sync` reads it: a 7-byte header (":W&B", magic 0xBEE1,
    version 0), then LevelDB-log records of 32 KiB blocks (crc32, length, type: full, first, middle, last)."""
    import struct

    data = path.read_bytes()
    assert data[:4] == b":W&B" and struct.unpack("<HB", data[4:7]) == (0xBEE1, 0)
    out, part, pos, block = [], b"", 7, 32768
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        body, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 1:
            out.append(body)
        elif kind == 2:
            part = body
        elif kind == 3:
            part += body
        elif kind == 4:
            out.append(part + body)
        elif kind == 0:  # zeros to the end of the block
            pos += block - pos % block if pos % block else 0
    return out


def test_wandb_offline_run_read_back_from_its_files(quick_cfg, tmp_path):
    """logger=wandb: an offline run under <run dir>/wandb/ (no network, no account) whose records hold the
    config, every epoch's metrics and the test metrics in its summary; `wandb sync` uploads it later."""
    pytest.importorskip("wandb")
    from wandb.proto import wandb_internal_pb2

    results = train(quick_cfg("logger=wandb", "train.max_epochs=3", "train.patience=3"), tmp_path)
    [offline] = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    history, summary, config, name = [], {}, {}, None
    for data in _wandb_records(offline):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
        elif kind == "summary":
            summary.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "config":
            config.update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "run":  # the run's start: its name and its config
            name = record.run.display_name
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert name == "/".join(map(str, RUN)) and config["dataset.name"] == "synthetic"
    assert [h["valid_nll"] for h in history if "valid_nll" in h] == pytest.approx([float(r["valid_nll"]) for r in rows])
    assert summary["test_nll"] == pytest.approx(results["test_nll"]) and summary["run_dir"] == str(tmp_path.resolve())
