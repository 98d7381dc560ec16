"""Nesterov momentum as climin applies it (Sutskever et al. 2013): the momentum jump is taken
first, the gradient is evaluated at the look-ahead point, then the adaptive step follows.

Per update, with momentum mu:
    s1 = mu * s_prev;  w -= s1                       # the momentum jump comes first
    g  = grad L(w)                                   # gradient at the look-ahead point
    s2 = adaptive_step(g)                            # rmsprop or Adadelta (the subclasses)
    w -= s2;  s_prev = s1 + s2
The gradient must be taken after the jump, so ``step`` requires a closure that recomputes the
loss and its gradients (as torch.optim.LBFGS does).

Hyper-parameters are numbers, or tensors that broadcast against the parameter: a population of
P models stacked along a leading axis (rnnbench/population/) gives each member its own step rate,
momentum and decay as (P, 1, ..., 1) tensors. The update is written with plain elementwise ops
so that both cases run the same arithmetic.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.optim import Optimizer


class NesterovJump(Optimizer):
    """Base class: subclasses define ``_init_state`` and ``_adaptive_step``."""

    def _init_state(self, p: torch.Tensor, group: dict, state: dict) -> None:
        raise NotImplementedError

    def _adaptive_step(self, grad: torch.Tensor, group: dict, state: dict) -> torch.Tensor:
        """s2 from the look-ahead gradient (may update the running averages in ``state``)."""
        raise NotImplementedError

    def _after_step(self, step: torch.Tensor, group: dict, state: dict) -> None:
        """Hook run with the whole step s_prev = s1 + s2 (Adadelta's running mean of squared steps)."""

    def _state(self, p: torch.Tensor, group: dict) -> dict:
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros_like(p)  # s_prev
            self._init_state(p, group, state)
        return state

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        if closure is None:
            raise RuntimeError(f"{type(self).__name__}.step needs a closure: the gradient is taken after the momentum jump")
        trainable = [(p, g) for g in self.param_groups for p in g["params"] if p.requires_grad]
        for p, group in trainable:
            p.sub_(self._state(p, group)["step"] * group["momentum"])  # w -= s1
        with torch.enable_grad():
            loss = closure()
        for p, group in trainable:
            state = self._state(p, group)
            s1 = state["step"].mul_(group["momentum"])
            if p.grad is None:
                continue
            s2 = self._adaptive_step(p.grad, group, state)
            p.sub_(s2)  # w -= s2
            s1.add_(s2)  # s_prev = s1 + s2
            self._after_step(s1, group, state)
        return loss
