"""Norm-based penalties (001 §7, RNN-NBR): lambda * sum |w| (L1) or lambda * sum w^2 (L2) over the
weight matrices (W_in, W_rec, W_out; for word models also the embedding), not the biases or
initial states, added to the training loss."""
from __future__ import annotations

import torch

from rnnbench.regularisers.spec import NoiseSpec


def penalty(params, spec: NoiseSpec, lead: int = 0) -> torch.Tensor | float:
    """The penalty of the trainable matrices among ``params``; with ``lead`` = 1 the parameters are a stacked
    population's (P, ...) and the result is one value per member (P,)."""
    if spec.penalty == "none":
        return 0.0
    mats = [p for p in params if p.requires_grad and p.dim() - lead >= 2]
    f = torch.square if spec.penalty == "l2" else torch.abs
    return spec.penalty_weight * sum(f(w).sum(dim=tuple(range(lead, w.dim()))) for w in mats)
