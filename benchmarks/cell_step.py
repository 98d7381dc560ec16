"""Time one training step (forward + backward) of rnnbench's explicit cells against PyTorch's
nn.RNN / nn.LSTM / nn.GRU of the same size, in one run, and write JSON plus a markdown table.

    python -m benchmarks.cell_step [--device cpu|cuda] [--batch 32 --steps 100 --hidden 400]

Default shape: JSB Chorales (batch 32, 100 steps, 88 inputs, 400 hidden). Figures go to
benchmarks/results/cell_step-<device>.{json,md}; the two steps are timed alternately, pass by pass.
"""
from __future__ import annotations

import torch
from torch import nn

from benchmarks.common import meta, parser, time_alternately, write
from rnnbench.models import CORES
from rnnbench.models.unroll import unroll

REFERENCE = {"srnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
INPUTS = 88


def bench(name: str, args, device) -> dict:
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.steps, INPUTS, device=device)
    ours = CORES[name](INPUTS, args.hidden).to(device)
    for p in ours.parameters():
        nn.init.normal_(p, 0, 0.05)
    ref = REFERENCE[name](INPUTS, args.hidden, batch_first=True).to(device)

    def step_ours():
        ours.zero_grad(set_to_none=True)
        h, _ = unroll(ours, x, ours.initial_state(args.batch))
        h.square().mean().backward()

    def step_ref():
        ref.zero_grad(set_to_none=True)
        h, _ = ref(x)
        h.square().mean().backward()

    t_ours, t_ref = time_alternately({"rnnbench": step_ours, "torch": step_ref}, device, args.warmup,
                                     args.repeats).values()
    frames = args.batch * args.steps
    return {"cell": name, "rnnbench_ms": 1e3 * t_ours, "torch_ms": 1e3 * t_ref, "ratio": t_ours / t_ref,
            "rnnbench_frames_per_s": frames / t_ours, "torch_frames_per_s": frames / t_ref}


def main() -> None:
    args = parser(__doc__.split("\n")[0], warmup=3, repeats=10).parse_args()
    device = torch.device(args.device)
    rows = [bench(cell, args, device) for cell in ("srnn", "lstm", "gru")]
    print(write(args, f"cell_step-{device.type}", meta(args, device, "forward + backward"), rows,
                "Cell training step: rnnbench vs PyTorch",
                ["cell", "rnnbench ms", "torch nn ms", "ratio (ours / torch)", "rnnbench frames/s", "torch frames/s"],
                lambda r: [r["cell"], f"{r['rnnbench_ms']:.2f}", f"{r['torch_ms']:.2f}", f"{r['ratio']:.2f}",
                           f"{r['rnnbench_frames_per_s']:,.0f}", f"{r['torch_frames_per_s']:,.0f}"]))


if __name__ == "__main__":
    main()
