"""The plain realisation: no noise, or noise whose expectation is the plain net (realise.py)."""
from __future__ import annotations

import torch

from rnnbench.affine import affine
from rnnbench.regularisers.moments import MeanVar


class Plain:
    """The plain net: the cores themselves and hs W_out + b_out."""

    @staticmethod
    def core(core):
        return core

    @staticmethod
    def readout(hs: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor) -> torch.Tensor:
        return affine(hs, w_out, b_out)

    def readout_moments(self, hs, w_out, b_out) -> MeanVar:
        out = self.readout(hs, w_out, b_out)
        return MeanVar(out, torch.zeros_like(out))

    @staticmethod
    def mean(hs):
        return hs
