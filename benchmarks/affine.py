"""Time x W + b as two kernels (``x @ w + b``: the product, then the bias in a second pass over the result) against
one GEMM (``rnnbench.affine.affine``: addmm, the bias in the GEMM's own pass), forward + backward, at the shapes the
presets meet: the input projection of every step and the read-outs. Both run in this process, alternately, so the
ratio is measured side by side.

    python -m benchmarks.affine [--device cpu|cuda] [--repeats 10]

Figures go to benchmarks/results/affine-<device>.{json,md}.
"""
from __future__ import annotations

import torch

from benchmarks.common import environment, parser, time_alternately, write
from rnnbench.affine import affine

# (where, rows B x T, D, G): the input projection u = x W_in + b of all steps, or a read-out
SHAPES = [
    ("sentiment LSTM, input projection (003 §5.2)", (128, 200), 128, 512),
    ("sentiment GRU, input projection", (128, 200), 128, 384),
    ("JSB FD-RNN, input projection (000 Table 3: 400 units)", (32, 100), 88, 400),
    ("JSB FD-RNN, read-out to 88 notes", (32, 100), 400, 88),
    ("PTB small, read-out to 10,000 words (Zaremba)", (20, 35), 200, 10000),
    ("PTB medium, LSTM input projection (003 Table 1)", (20, 35), 650, 2600),
    ("PTB medium, read-out to 10,000 words", (20, 35), 650, 10000),
]


def bench(where: str, rows: tuple, D: int, G: int, device, warmup: int, repeats: int) -> dict:
    torch.manual_seed(0)
    x = torch.randn(*rows, D, device=device, requires_grad=True)
    w = torch.randn(D, G, device=device, requires_grad=True)
    b = torch.randn(G, device=device, requires_grad=True)
    ways = {"two kernels": lambda: (x @ w + b).sum().backward(), "one GEMM": lambda: affine(x, w, b).sum().backward()}
    two, one = time_alternately(ways, device, warmup, repeats).values()
    diff = (affine(x, w, b) - (x @ w + b)).abs().max().item()
    return {"where": where, "rows": rows[0] * rows[1], "D": D, "G": G, "two_kernels_ms": 1e3 * two,
            "one_gemm_ms": 1e3 * one, "ratio": one / two, "max_abs_diff": diff}


def main() -> None:
    args = parser(__doc__.split("\n")[0], warmup=3, repeats=10).parse_args()
    device = torch.device(args.device)
    rows = [bench(*shape, device, args.warmup, args.repeats) for shape in SHAPES]
    info = {**environment(device), "shape": "per row", "timing": f"median of {args.repeats} forward + backward passes "
            f"after {args.warmup}, the two ways alternately in one process"}
    print(write(args, f"affine-{device.type}", info, rows, "x W + b: two kernels against one GEMM (addmm)",
                ["where", "rows", "D → G", "x @ w + b (ms)", "affine (ms)", "ratio", "max |diff|"],
                lambda r: [r["where"], f"{r['rows']:,}", f"{r['D']} → {r['G']}", f"{r['two_kernels_ms']:.2f}",
                           f"{r['one_gemm_ms']:.2f}", f"{r['ratio']:.2f}", f"{r['max_abs_diff']:.1e}"]))


if __name__ == "__main__":
    main()
