"""Fewer kernel launches per step: the cells' elementwise gate math (``transition``: the sRNN's
activation, the LSTM/GRU gates, and their moment versions for fast dropout) compiled by
torch.compile into fused kernels, while the two matmuls per step stay cuBLAS/MKL calls.

The fallback is clean: where torch.compile is unavailable or fails on a call (no compiler for
the backend, an unsupported op), that core logs one warning and runs eagerly from then on, with
the same numbers. Shapes are static per batch size; the handful of sizes a run meets (training
batch, last batch, evaluation batches) each compile once.
"""
from __future__ import annotations

import logging

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore

log = logging.getLogger("rnnbench")


class FusedTransition:
    """A core's transition, compiled on first use, eager after a failure."""

    def __init__(self, core: RecurrentCore, mode: str | None = None):
        self.eager = core.transition
        self.name = type(core).__name__
        self.compiled = torch.compile(self.eager, dynamic=False, mode=mode)
        self.ok = True

    def __call__(self, *args, **kwargs):
        if self.ok:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - any compiler failure means: run eagerly
                self.ok = False
                log.warning("torch.compile of the %s step failed (%s: %s); running it eagerly",
                            self.name, type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        return self.eager(*args, **kwargs)


def fuse_cells(model: nn.Module, mode: str | None = None) -> list[FusedTransition]:
    """Compile the transition of every recurrent core in ``model`` (in place); returns them."""
    fused = []
    for module in model.modules():
        if isinstance(module, RecurrentCore) and not isinstance(module.__dict__.get("transition"), FusedTransition):
            module.transition = FusedTransition(module, mode)
            fused.append(module.transition)
    return fused
