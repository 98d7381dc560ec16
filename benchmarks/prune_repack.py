"""Seconds per epoch of one pruned search before and after its rungs (issue 22, item 2): a population of
P members trains in batched kernels; at each successive-halving rung the members that stop are repacked
out of the stacked parameters and optimiser state, so the epochs after a rung cost what the survivors
cost. One run; the epoch times come from the survivor's metrics.csv (the whole population's epoch).

    python -m benchmarks.prune_repack            # JSB if $RNNBENCH_DATA holds it, else the synthetic set
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path

import torch

from benchmarks.common import RESULTS, meta, write
from rnnbench.engine.prune import rungs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=9)
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--rung", type=int, default=2)
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--dataset", default=None, help="jsb (default when the data root holds it) or synthetic")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    from hydra import compose, initialize_config_module

    from rnnbench.config import register_configs
    from rnnbench.engine.results import read_metrics
    from rnnbench.population.search import run_population

    register_configs()
    dataset = args.dataset or ("jsb" if Path(__import__("os").environ.get("RNNBENCH_DATA", "/nonexistent"),
                                               "music/JSB Chorales.pickle").is_file() else "synthetic")
    overrides = [f"dataset={dataset}", "regulariser=fd", "device=cpu", "train.progress=false", "search=random",
                 f"search.n={args.members}", f"search.space.model.hidden=[{args.hidden}]", f"model.hidden={args.hidden}",
                 "search.pruner=sha", f"search.rung={args.rung}", f"search.eta={args.eta}",
                 f"train.max_epochs={args.epochs}", f"train.patience={args.epochs}", "data.download=false"]
    with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        results = run_population(cfg, Path(d))
        survivor = min(k for k, r in enumerate(results) if r["status"] != "pruned")  # trained to the last epoch
        seconds = read_metrics(Path(d) / "members" / f"{survivor:03d}")["epoch_s"]
    marks = rungs(args.rung, args.eta, args.epochs)
    rows, active, start = [], args.members, 1
    for end in marks + [args.epochs]:
        if end < start:
            continue
        span = seconds[start - 1:end]
        rows.append({"epochs": f"{start}-{end}", "members": active, "seconds_per_epoch": statistics.mean(span)})
        start, active = end + 1, max(1, active // args.eta)
    first = rows[0]["seconds_per_epoch"]
    for r in rows:
        r["vs_first"] = r["seconds_per_epoch"] / first
    device = torch.device("cpu")
    info = meta(argparse.Namespace(batch=32, steps=100, hidden=args.hidden, repeats=1, warmup=0), device,
                f"one pruned search: {dataset}, FD-sRNN, {args.members} members, sha rung {args.rung}, eta {args.eta}, "
                f"{args.epochs} epochs; epoch = training pass + validation")
    print(write(argparse.Namespace(out=args.out), f"prune-repack-{device.type}", info, rows,
                "Seconds per epoch of a pruned population, before and after its rungs",
                ["epochs", "members training", "s / epoch", "vs the first rung's epochs"],
                lambda r: [r["epochs"], str(r["members"]), f"{r['seconds_per_epoch']:.2f}", f"{r['vs_first']:.2f}x"]))


if __name__ == "__main__":
    main()
