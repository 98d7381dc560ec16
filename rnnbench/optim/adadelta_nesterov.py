"""Adadelta (Zeiler 2012) with Nesterov momentum, as climin's Adadelta with ``momentum`` > 0:
the optimiser of STORN (002 §4.4).

The adaptive step of rnnbench/optim/nesterov.py, with step rate eta, decay d and offset o:
    gms = d * gms + (1 - d) * g^2                    # running mean of squared gradients, from 0
    s2  = eta * sqrt(sms + o) / sqrt(gms + o) * g
and after the update, with the whole step s = s1 + s2:
    sms = d * sms + (1 - d) * s^2                    # running mean of squared steps, from 0
"""
from __future__ import annotations

import torch

from rnnbench.optim.nesterov import NesterovJump


class AdadeltaNesterov(NesterovJump):
    def __init__(self, params, lr: float = 1.0, momentum: float = 0.9, decay: float = 0.9, offset: float = 1e-4):
        if lr <= 0 or not 0 <= momentum < 1 or not 0 <= decay < 1 or offset <= 0:
            raise ValueError(
                f"adadelta-nesterov needs lr > 0, 0 <= momentum < 1, 0 <= decay < 1, offset > 0; got lr={lr}, "
                f"momentum={momentum}, decay={decay}, offset={offset}"
            )
        super().__init__(params, dict(lr=lr, momentum=momentum, decay=decay, offset=offset))

    def _init_state(self, p, group, state):
        state["gms"] = torch.zeros_like(p)
        state["sms"] = torch.zeros_like(p)

    def _adaptive_step(self, grad, group, state):
        d, o = group["decay"], group["offset"]
        state["gms"].mul_(d).add_(grad * grad * (1 - d))
        return group["lr"] * (state["sms"] + o).sqrt() / (state["gms"] + o).sqrt() * grad

    def _after_step(self, step, group, state):
        d = group["decay"]
        state["sms"].mul_(d).add_(step * step * (1 - d))
