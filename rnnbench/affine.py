"""x W + b, the affine map of every cell's input projection and every read-out (rnnbench/models/core.py,
rnnbench/regularisers/), in one place so that every path rounds it the same way."""
from __future__ import annotations

import torch


def affine(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x (..., D) W (D, G) + b (G,) as one GEMM (addmm) over the rows of x: the bias enters the GEMM's own
    pass over its (N, G) result, where ``x @ w + b`` writes that result and reads it again (the input projection
    of all 200 steps of a sentiment batch: 0.87-0.91x the time, forward + backward, benchmarks/affine.py). The
    sum is rounded once less: it differs from x @ w + b in the last bits."""
    return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).view(*x.shape[:-1], w.shape[-1])
