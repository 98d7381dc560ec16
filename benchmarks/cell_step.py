"""Time one training step (forward + backward) of rnnbench's explicit cells against PyTorch's
nn.RNN / nn.LSTM / nn.GRU of the same size, in one run, and write JSON plus a markdown table.

    python benchmarks/cell_step.py [--device cpu|cuda] [--batch 32 --steps 100 --inputs 88 --hidden 400]

Default shape: JSB Chorales (batch 32, 100 steps, 88 inputs, 400 hidden). Figures go to
benchmarks/results/cell_step-<device>.{json,md}; ratios are measured side by side in this run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch
from torch import nn

from rnnbench.models import CORES
from rnnbench.models.unroll import unroll

REFERENCE = {"srnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_step(fn, device, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn()`` (forward + backward) after warm-up."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(name: str, args, device) -> dict:
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, args.inputs, device=device)
    ours = CORES[name](args.inputs, args.hidden).to(device)
    for p in ours.parameters():
        nn.init.normal_(p, 0, 0.05)
    ref = REFERENCE[name](args.inputs, args.hidden, batch_first=True).to(device)

    def step_ours():
        ours.zero_grad(set_to_none=True)
        h, _ = unroll(ours, x, ours.initial_state(args.batch))
        h.square().mean().backward()

    def step_ref():
        ref.zero_grad(set_to_none=True)
        h, _ = ref(x)
        h.square().mean().backward()

    t_ours = time_step(step_ours, device, args.warmup, args.repeats)
    t_ref = time_step(step_ref, device, args.warmup, args.repeats)
    frames = args.batch * args.steps
    return {"cell": name, "rnnbench_ms": 1e3 * t_ours, "torch_ms": 1e3 * t_ref, "ratio": t_ours / t_ref,
            "rnnbench_frames_per_s": frames / t_ours, "torch_frames_per_s": frames / t_ref}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--inputs", type=int, default=88)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    rows = [bench(cell, args, device) for cell in ("srnn", "lstm", "gru")]
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "device": name, "torch": torch.__version__,
            "commit": _commit(), "shape": {k: getattr(args, k) for k in ("batch", "steps", "inputs", "hidden")},
            "timing": f"median of {args.repeats} after {args.warmup} warm-up steps; forward + backward"}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"cell_step-{device.type}"
    stem.with_suffix(".json").write_text(json.dumps({**meta, "results": rows}, indent=2) + "\n")
    lines = [f"# Cell training step: rnnbench vs PyTorch ({name})", "",
             f"{meta['date']}, torch {meta['torch']}, commit {meta['commit']}; shape {meta['shape']}; {meta['timing']}.", "",
             "| cell | rnnbench ms | torch nn ms | ratio (ours / torch) | rnnbench frames/s | torch frames/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['cell']} | {r['rnnbench_ms']:.2f} | {r['torch_ms']:.2f} | {r['ratio']:.2f} | "
              f"{r['rnnbench_frames_per_s']:,.0f} | {r['torch_frames_per_s']:,.0f} |" for r in rows]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
