"""rmsprop with Nesterov momentum, exactly as climin's RmsProp used by the authors (000 §2.3).

Per update, with momentum mu, step rate eta and decay d (protocols.md §1):
    s1 = mu * s_prev;  w -= s1                       # the momentum jump comes first
    g  = grad L(w)                                   # gradient at the look-ahead point
    m  = d * m + (1 - d) * g^2                       # m starts at 1, as in climin
    s2 = eta * g / sqrt(m + eps);  w -= s2
    s_prev = s1 + s2
The gradient must be taken after the jump, so ``step`` requires a closure that recomputes
the loss and its gradients (as torch.optim.LBFGS does).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.optim import Optimizer


class RmspropNesterov(Optimizer):
    def __init__(self, params, lr: float, momentum: float, decay: float, eps: float = 1e-8, init_mean_square: float = 1.0):
        if lr <= 0 or not 0 <= momentum < 1 or not 0 <= decay < 1 or eps < 0:
            raise ValueError(
                f"rmsprop-nesterov needs lr > 0, 0 <= momentum < 1, 0 <= decay < 1, eps >= 0; got lr={lr}, "
                f"momentum={momentum}, decay={decay}, eps={eps}"
            )
        defaults = dict(lr=lr, momentum=momentum, decay=decay, eps=eps, init_mean_square=init_mean_square)
        super().__init__(params, defaults)

    def _state(self, p: torch.Tensor, group: dict) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros_like(p)  # s_prev
            state["mean_square"] = torch.full_like(p, group["init_mean_square"])  # m
        return state

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise RuntimeError("RmspropNesterov.step needs a closure: the gradient is taken after the momentum jump")
        trainable = [(p, g) for g in self.param_groups for p in g["params"] if p.requires_grad]
        for p, group in trainable:
            s = self._state(p, group)["step"]
            p.sub_(s, alpha=group["momentum"])  # w -= s1
        with torch.enable_grad():
            loss = closure()
        for p, group in trainable:
            state = self._state(p, group)
            s1 = state["step"].mul_(group["momentum"])
            if p.grad is None:
                continue
            m = state["mean_square"]
            m.mul_(group["decay"]).addcmul_(p.grad, p.grad, value=1 - group["decay"])
            s2 = p.grad * group["lr"] / (m + group["eps"]).sqrt()
            p.sub_(s2)  # w -= s2
            s1.add_(s2)  # s_prev = s1 + s2
        return loss
