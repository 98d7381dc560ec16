"""The numbers of each task on a fixed seed, recorded before the training loops became one engine
(issue 12) and compared after it by tests/test_engine.py::test_numbers_equal_the_recorded_reference.

    python -m tests.engine_reference record          # rewrites tests/data/engine_reference.json
    python -m tests.engine_reference record NAME...  # (re)records those cases only

Every case runs in float64 on the CPU; what is compared is every number of results.json and every
row of metrics.csv except wall-clock fields, and the sum of |w| of each tensor of best.pt.
"""
from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

import torch

from tests.conftest import compose_cfg
from tests.datafiles import write_tiny_ptb, write_tiny_scale

REFERENCE = Path(__file__).parent / "data" / "engine_reference.json"
COMMON = ("device=cpu", "train.progress=false", "train.precision=float64", "data.download=false", "data.verify=false")
# every split whole (train=debug's limit_batches would cut them): the numbers recorded before it existed
SYNTH = ("dataset=synthetic", "train=debug", "train.limit_batches=null", "model.hidden=16", "train.max_epochs=3",
         "train.patience=3")
# the sRNN's music defaults as they were recorded: the generated set's plain sRNN (conf/plain/, issue 33) sets
# these three for an sRNN on it; the cases keep the config they were recorded with
SRNN = ("optim.lr=0.001", "model.init.var_in=0.01", "model.init.sparsity=15")
CASES = {
    "music-srnn-fd": (None, SYNTH + SRNN + ("regulariser=fd", "eval.mc_samples=2")),
    "music-lstm-variational-hold": (None, SYNTH + ("model=lstm", "regulariser=variational", "dataset.pad=hold")),
    "music-storn": (None, SYNTH + ("model=storn", "model.hidden=8", "eval.is_samples=3", "train.max_epochs=2")),
    "music-population-random": (None, SYNTH + ("model.hidden=8", "search=random", "search.n=3",
                                               "search.space.model.hidden=[8]", "regulariser=fd")),
    "ptb-lstm-variational": (write_tiny_ptb, ("dataset=ptb", "model.hidden=16", "optim=adam", "optim.lr=0.01",
                                              "train.max_epochs=3", "train.batch_size=4", "dataset.bptt=7",
                                              "regulariser=variational", "eval.mc_samples=2")),
    "sentiment-gru-variational": (write_tiny_scale, ("dataset=sentiment", "model=gru", "model.hidden=8",
                                                     "model.embedding=8", "train=debug", "train.limit_batches=null",
                                                     "train.max_epochs=3",
                                                     "train.batch_size=8", "dataset.segment=10",
                                                     "regulariser=variational", "eval.mc_samples=3")),
    # issue 24: the authors' code as a reading (protocols.md §1b) and every noise family, recorded before the
    # regularisers became transforms of the core
    "music-srnn-fd-breze": (None, SYNTH + SRNN + ("protocol=breze", "regulariser=fd", "regulariser.output_rate=recurrent")),
    "music-srnn-fd-breze-no-final": (None, SYNTH + SRNN + ("protocol=breze", "regulariser=fd", "regulariser.fd_output=false",
                                                    "regulariser.final_layer_no=readout_and_input")),
    "music-storn-breze": (None, SYNTH + ("model=storn", "protocol=breze-storn", "regulariser=fd", "model.hidden=8",
                                         "eval.is_samples=3", "eval.breze_samples=2", "train.max_epochs=2")),
    "music-gru-dropconnect": (None, SYNTH + ("model=gru", "regulariser=dropconnect", "eval.mc_samples=2")),
    "music-srnn-noise-l2": (None, SYNTH + SRNN + ("regulariser=noise", "regulariser.input.noise=multiplicative",
                                           "regulariser.input.rate=0.1", "regulariser.penalty=l2",
                                           "regulariser.penalty_weight=0.001")),
    "music-lstm-rnndrop-untied": (None, SYNTH + ("model=lstm", "regulariser=rnndrop", "regulariser.tied=false",
                                                 "regulariser.input.noise=dropout", "regulariser.input.rate=0.2",
                                                 "regulariser.recurrent.noise=dropout", "regulariser.recurrent.rate=0.2",
                                                 "regulariser.recurrent.realise=step", "dataset.pad=hold")),
    "music-lstm-fd-quadrature-hold": (None, SYNTH + ("model=lstm", "regulariser=fd", "regulariser.moment_approx=quadrature",
                                                     "dataset.pad=hold")),
    "music-gru-fd-sigmoid-free": (None, SYNTH + ("model=gru", "regulariser=fd", "regulariser.fd_output=false")),
    "music-population-variational-l2": (None, SYNTH + ("model=lstm", "model.hidden=8", "search=random", "search.n=3",
                                                       "search.space.model.hidden=[8]", "regulariser=variational",
                                                       "regulariser.penalty=l2", "regulariser.penalty_weight=0.001",
                                                       "train.clip=1.0")),
    "ptb-gru-embedding-untied-l1": (write_tiny_ptb, ("dataset=ptb", "model=gru", "model.layers=2", "model.hidden=16",
                                                     "optim=adam", "optim.lr=0.01", "train.max_epochs=2",
                                                     "train.batch_size=4", "dataset.bptt=7", "regulariser=variational",
                                                     "regulariser.embedding.noise=dropout", "regulariser.embedding.rate=0.2",
                                                     "regulariser.tied=false", "regulariser.penalty=l1",
                                                     "regulariser.penalty_weight=0.00001", "eval.mc_samples=2")),
    "sentiment-lstm-dropout": (write_tiny_scale, ("dataset=sentiment", "model=lstm", "model.hidden=8",
                                                  "model.embedding=8", "train=debug", "train.limit_batches=null",
                                                  "train.max_epochs=2", "train.batch_size=8", "dataset.segment=10",
                                                  "regulariser=dropout", "eval.mc_samples=2")),
}
# what differs between two identical runs: clocks, paths, the checkout, the config's new keys
UNSTABLE = {"environment", "wall_s", "train_s", "seconds_per_epoch", "words_per_s", "started", "commit", "config", "rnnbench_version",
            "torch_version", "device", "time", "epoch_s", "resumed", "checkpoint_s"}


def _numbers(run_dir: Path) -> dict:
    res = json.loads((run_dir / "results.json").read_text())
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [{k: v for k, v in r.items() if k not in UNSTABLE} for r in csv.DictReader(f)]
    out = {"results": {k: v for k, v in res.items() if k not in UNSTABLE}, "metrics": rows}
    if (run_dir / "best.pt").exists():
        state = torch.load(run_dir / "best.pt", weights_only=True)
        out["best_abs_sum"] = {k: float(v.double().abs().sum()) for k, v in sorted(state.items())}
    return out


def run_case(name: str, workdir: Path) -> dict:
    """{run folder (relative): its numbers} for one case, trained by the CLI's own entry point."""
    from rnnbench.cli import run_job

    write_data, overrides = CASES[name]
    root = workdir / "data"
    root.mkdir(parents=True, exist_ok=True)
    if write_data is not None:
        write_data(root)
    cfg = compose_cfg(*COMMON, f"data.root={root}", *overrides)
    run_dir = workdir / "run"
    run_job(cfg, run_dir, multirun=False)
    dirs = sorted(p.parent for p in run_dir.rglob("results.json"))
    return {str(d.relative_to(run_dir)): _numbers(d) for d in dirs}


def record(names: list[str]) -> None:
    """Record ``names`` (all cases if empty) at this checkout; the other cases keep their numbers."""
    from rnnbench.runtime import git_commit

    out = {"recorded_at_commit": git_commit(), "torch": torch.__version__, "cases": {}}
    if names and REFERENCE.exists():
        out = json.loads(REFERENCE.read_text())
        out.setdefault("recorded_by_case", {}).update({n: git_commit() for n in names})
    for name in names or CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out["cases"][name] = run_case(name, Path(tmp))
            print(name, "done", file=sys.stderr)
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__" and sys.argv[1:2] == ["record"]:
    record(sys.argv[2:])
