"""One update of every task (rnnbench/tasks/): zero the gradients, back-propagate the objective, clip the
gradient norm to ``train.clip`` (000 §2.3, Pascanu et al. 2012) and step. The one place train.clip acts,
for a single model and for a stacked population's members alike."""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch


def clip_gradients(params: list[torch.Tensor], clip) -> torch.Tensor:
    """Scale the gradients of ``params`` so that their joint norm is at most ``clip`` (None: no limit); returns
    the norm before clipping. ``clip`` may be a (P,) tensor: a stacked population (rnnbench/models/stack.py),
    each member's norm taken over its own slice (the leading axis) of every parameter, (P,) norms returned."""
    if not torch.is_tensor(clip):
        return torch.nn.utils.clip_grad_norm_(params, math.inf if clip is None else clip)
    norms = [torch.linalg.vector_norm(p.grad, dim=tuple(range(1, p.dim()))) for p in params if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack(norms, dim=1), dim=1)  # (P,)
    coef = torch.clamp(clip / (total + 1e-6), max=1.0)
    for p in params:
        if p.grad is not None:
            p.grad.mul_(coef.view(-1, *([1] * (p.dim() - 1))))
    return total


def update(opt: torch.optim.Optimizer, params: list[torch.Tensor], clip,
           loss: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """One step of ``opt``: ``loss()`` -> (objective, value) is evaluated in the optimiser's closure, the
    objective (summed over a population's members, whose gradients it separates) back-propagated and the
    gradients clipped; returns the value of the (last) closure call and the gradient norm."""
    norm = None

    def closure():
        nonlocal norm
        opt.zero_grad(set_to_none=True)
        objective, value = loss()
        objective.sum().backward()
        norm = clip_gradients(params, clip)
        return value

    return opt.step(closure), norm
