import csv, json, struct, sys
from pathlib import Path
import mlflow
from rnnbench import run

common = "dataset=synthetic train=debug model.hidden=16 device=cpu train.progress=false data.root=/tmp/ev/data"
r = run(common + " logger=mlflow", run_dir="/tmp/ev/mlflow-run", quiet=True)
client = mlflow.MlflowClient(tracking_uri="sqlite:////tmp/ev/mlflow-run/mlflow.db")
[m] = client.search_runs([client.get_experiment_by_name("rnnbench").experiment_id])
print("mlflow run:", m.info.run_name, m.info.status, "tags.run_dir =", m.data.tags["run_dir"])
print("  params:", len(m.data.params), "e.g. optim.lr =", m.data.params["optim.lr"])
print("  valid_nll per epoch:", [(h.step, round(h.value, 4)) for h in client.get_metric_history(m.info.run_id, "valid_nll")])
print("  test_nll:", round(m.data.metrics["test_nll"], 4), "(results.json:", round(r["test_nll"], 4), ")")
print("  artifacts:", [a.path for a in client.list_artifacts(m.info.run_id)])

r = run(common + " logger=wandb", run_dir="/tmp/ev/wandb-run", quiet=True)
sys.path.insert(0, "/work/main")
from tests.test_logger import _wandb_records
from wandb.proto import wandb_internal_pb2
[f] = Path("/tmp/ev/wandb-run/wandb").glob("offline-run-*/run-*.wandb")
hist, summ = [], {}
for data in _wandb_records(f):
    rec = wandb_internal_pb2.Record(); rec.ParseFromString(data)
    kind = rec.WhichOneof("record_type")
    if kind == "run":
        print("wandb offline run:", rec.run.display_name, "project", rec.run.project, "file", f.relative_to("/tmp/ev"))
    if kind == "history":
        hist.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.history.item})
    if kind == "summary":
        summ.update({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in rec.summary.update})
print("  valid_nll per epoch:", [round(h["valid_nll"], 4) for h in hist if "valid_nll" in h])
print("  summary test_nll:", round(summ["test_nll"], 4), "run_dir:", summ["run_dir"])
