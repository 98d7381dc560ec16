"""Time one training step (forward + backward of the NLL) of each cell under each regulariser,
side by side in one run, and write JSON plus a markdown table.

    python benchmarks/regulariser_step.py [--device cpu|cuda] [--cells srnn,lstm,gru]

Default shape: JSB Chorales (batch 32, 100 steps, 88 inputs, 400 hidden). The ratio column is
the step time over the same cell without regularisation, measured in this run.
"""
from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import torch

from benchmarks.cell_step import _commit, time_step
from rnnbench.metrics import masked_nll_sum
from rnnbench.models import build_model
from rnnbench.config import register_configs

REGULARISERS = ["none", "fd", "variational", "dropout", "dropconnect", "noise"]


def _cfg(cell: str, reg: str, hidden: int):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
        return compose(config_name="config", overrides=[f"model={cell}", f"regulariser={reg}", f"model.hidden={hidden}"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--cells", default="srnn,lstm,gru")
    p.add_argument("--regularisers", default=",".join(REGULARISERS))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args()
    register_configs()
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch, args.steps, 88, generator=g) < 0.05).float().to(device)
    mask = torch.ones(args.batch, args.steps, dtype=torch.bool, device=device)
    rows = []
    for cell in args.cells.split(","):
        base = None
        for reg in args.regularisers.split(","):
            if reg == "rnndrop" and cell != "lstm":
                continue
            cfg = _cfg(cell, reg, args.hidden)
            torch.manual_seed(0)
            model = build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train()

            def step():
                model.zero_grad(set_to_none=True)
                (masked_nll_sum(model(x), x, mask) / mask.sum()).backward()

            t = time_step(step, device, args.warmup, args.repeats)
            base = t if reg == "none" else base
            rows.append({"cell": cell, "regulariser": reg, "ms": 1e3 * t, "ratio_to_none": t / base,
                         "frames_per_s": args.batch * args.steps / t})
            print(f"{cell:5s} {reg:12s} {1e3 * t:8.2f} ms  x{t / base:.2f}", flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "device": name, "torch": torch.__version__,
            "commit": _commit(), "shape": {k: getattr(args, k) for k in ("batch", "steps", "hidden")},
            "timing": f"median of {args.repeats} after {args.warmup} warm-up steps; forward + backward of the NLL"}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"regulariser_step-{device.type}"
    stem.with_suffix(".json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    lines = [f"# Training step per regulariser ({name})", "",
             f"{meta['date']}, torch {meta['torch']}, commit {meta['commit']}; shape {meta['shape']}; {meta['timing']}.", "",
             "| cell | regulariser | ms | × none | frames/s |", "| --- | --- | ---: | ---: | ---: |"]
    lines += [f"| {r['cell']} | {r['regulariser']} | {r['ms']:.2f} | {r['ratio_to_none']:.2f} | {r['frames_per_s']:,.0f} |" for r in rows]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
