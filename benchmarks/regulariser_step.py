"""Time one training step (forward + backward of the NLL) of each cell under each regulariser,
side by side in one run, and write JSON plus a markdown table.

    python -m benchmarks.regulariser_step [--device cpu|cuda] [--cells srnn,lstm,gru]

Default shape: JSB Chorales (batch 32, 100 steps, 88 inputs, 400 hidden). The "× none" column is
the step time over the same cell without regularisation, measured in this run.
"""
from __future__ import annotations

import torch
from hydra import compose, initialize_config_module

from benchmarks.common import meta, parser, time_step, write
from rnnbench.config import register_configs
from rnnbench.metrics import masked_nll_sum
from rnnbench.models import build_model

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
            model = _model(cell, reg, args.hidden, device)

            def step():
                model.zero_grad(set_to_none=True)
                (masked_nll_sum(model(x), x, mask) / mask.sum()).backward()

            t = time_step(step, device, args.warmup, args.repeats)
            base = t if reg == "none" else base
            rows.append({"cell": cell, "regulariser": reg, "ms": 1e3 * t, "ratio_to_none": t / base if base else None,
                         "frames_per_s": args.batch * args.steps / t})
            print(f"{cell:5s} {reg:12s} {1e3 * t:8.2f} ms", flush=True)
    print(write(args, f"regulariser_step-{device.type}", meta(args, device, "forward + backward of the NLL"), rows,
                "Training step per regulariser", ["cell", "regulariser", "ms", "× none", "frames/s"],
                lambda r: [r["cell"], r["regulariser"], f"{r['ms']:.2f}",
                           "–" if r["ratio_to_none"] is None else f"{r['ratio_to_none']:.2f}", f"{r['frames_per_s']:,.0f}"]))


if __name__ == "__main__":
    main()
