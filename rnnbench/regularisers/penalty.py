"""Norm-based penalties (001 §7, RNN-NBR): lambda * sum |w| (L1) or lambda * sum w^2 (L2) over the
weight matrices (W_in, W_rec, W_out; for word models also the embedding), not the biases or
initial states, added to the training loss."""
from __future__ import annotations

import torch

from rnnbench.regularisers.spec import NoiseSpec


def penalised_matrices(model) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]


def penalty(model, spec: NoiseSpec) -> torch.Tensor | float:
    if spec.penalty == "none":
        return 0.0
    mats = penalised_matrices(model)
    if spec.penalty == "l2":
        return spec.penalty_weight * sum(w.square().sum() for w in mats)
    return spec.penalty_weight * sum(w.abs().sum() for w in mats)
