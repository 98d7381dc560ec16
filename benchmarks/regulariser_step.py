"""Time one training step (forward + backward of the NLL) of each cell under each regulariser,
side by side in one run, and write JSON plus a markdown table.

    python -m benchmarks.regulariser_step [--device cpu|cuda] [--cells srnn,lstm,gru] [--fuse]

Default shape: JSB Chorales (batch 32, 100 steps, 88 inputs, 400 hidden). The "× none" column is
the step time over the same cell without regularisation; a cell's steps are timed alternately, pass by pass
(benchmarks.common), so its ratios are measured on the same machine state. ``--fuse`` also times
each step with ``train.fuse`` (rnnbench/models/fuse.py: the cells' gate math compiled), side by side, into
regulariser_step-fuse-<device>.{json,md}; its warm-up includes the compilation.
"""
from __future__ import annotations

import torch
from hydra import compose, initialize_config_module

from benchmarks.common import meta, nll_step, parser, time_alternately, write
from rnnbench.config import register_configs
from rnnbench.models import build_model
from rnnbench.models.fuse import fuse_cells

REGULARISERS = ["none", "fd", "variational", "dropout", "dropconnect", "noise", "noise-mn"]
# names that are a preset with overrides: multiplicative weight noise per step (001 §8.1.2, RNN-MN)
VARIANTS = {"noise-mn": ["regulariser=noise", "regulariser.recurrent.noise=multiplicative",
                         "regulariser.recurrent.rate=0.1"]}


def _model(cell: str, reg: str, hidden: int, device):
    overrides = VARIANTS.get(reg, [f"regulariser={reg}"])
    with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"model={cell}", f"model.hidden={hidden}", *overrides])
    torch.manual_seed(0)
    return build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train()


def main() -> None:
    p = parser(__doc__.split("\n")[0], warmup=2, repeats=5)
    p.add_argument("--cells", default="srnn,lstm,gru")
    p.add_argument("--regularisers", default=",".join(REGULARISERS))
    p.add_argument("--fuse", action="store_true", help="also time each step with train.fuse (compiled gate math)")
    args = p.parse_args()
    register_configs()
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch, args.steps, 88, generator=g) < 0.05).float().to(device)
    mask = torch.ones(args.batch, args.steps, dtype=torch.bool, device=device)
    rows = []
    for cell in args.cells.split(","):  # a cell's steps timed alternately, pass by pass (benchmarks.common)
        regs = args.regularisers.split(",")
        ways = {reg: nll_step(_model(cell, reg, args.hidden, device), x, mask) for reg in regs}
        fused = {}
        for reg in regs if args.fuse else []:
            model = _model(cell, reg, args.hidden, device)
            fused[reg] = fuse_cells(model)
            ways[f"{reg} fused"] = nll_step(model, x, mask)
        times = time_alternately(ways, device, args.warmup, args.repeats)
        base = times.get("none")
        for reg in regs:
            t = times[reg]
            row = {"cell": cell, "regulariser": reg, "ms": 1e3 * t, "ratio_to_none": t / base if base else None,
                   "frames_per_s": args.batch * args.steps / t}
            if args.fuse:
                tf = times[f"{reg} fused"]
                row.update(fused_ms=1e3 * tf, fused_speedup=t / tf, compiled=all(f.ok for f in fused[reg]))
            rows.append(row)
            print(f"{cell:5s} {reg:12s} {1e3 * t:8.2f} ms" + (f"  fused {row['fused_ms']:8.2f} ms" if args.fuse else ""),
                  flush=True)
    if args.fuse:
        print(write(args, f"regulariser_step-fuse-{device.type}", meta(args, device, "forward + backward of the NLL"),
                    rows, "Training step per regulariser, eager and with train.fuse",
                    ["cell", "regulariser", "eager ms", "fused ms", "fused speed-up", "compiled"],
                    lambda r: [r["cell"], r["regulariser"], f"{r['ms']:.2f}", f"{r['fused_ms']:.2f}",
                               f"{r['fused_speedup']:.2f}×", "yes" if r["compiled"] else "no (eager fallback)"]))
        return
    print(write(args, f"regulariser_step-{device.type}", meta(args, device, "forward + backward of the NLL"), rows,
                "Training step per regulariser", ["cell", "regulariser", "ms", "× none", "frames/s"],
                lambda r: [r["cell"], r["regulariser"], f"{r['ms']:.2f}",
                           "–" if r["ratio_to_none"] is None else f"{r['ratio_to_none']:.2f}", f"{r['frames_per_s']:,.0f}"]))


if __name__ == "__main__":
    main()
