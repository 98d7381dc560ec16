"""rmsprop with Nesterov momentum, exactly as climin's RmsProp used by the authors (000 §2.3).

The adaptive step of rnnbench/optim/nesterov.py, with step rate eta and decay d (protocols.md §1):
    m  = d * m + (1 - d) * g^2                       # m starts at 1, as in climin
    s2 = eta * g / sqrt(m + eps)
"""
from __future__ import annotations

import torch

from rnnbench.optim.nesterov import NesterovJump


class RmspropNesterov(NesterovJump):
    def __init__(self, params, lr: float, momentum: float, decay: float, eps: float = 1e-8, init_mean_square: float = 1.0):
        if lr <= 0 or not 0 <= momentum < 1 or not 0 <= decay < 1 or eps < 0:
            raise ValueError(
                f"rmsprop-nesterov needs lr > 0, 0 <= momentum < 1, 0 <= decay < 1, eps >= 0; got lr={lr}, "
                f"momentum={momentum}, decay={decay}, eps={eps}"
            )
        defaults = dict(lr=lr, momentum=momentum, decay=decay, eps=eps, init_mean_square=init_mean_square)
        super().__init__(params, defaults)

    def _init_state(self, p, group, state):
        state["mean_square"] = torch.ones_like(p) * group["init_mean_square"]  # m

    def _adaptive_step(self, grad, group, state):
        m = state["mean_square"]
        m.mul_(group["decay"]).add_(grad * grad * (1 - group["decay"]))
        return grad * group["lr"] / (m + group["eps"]).sqrt()
