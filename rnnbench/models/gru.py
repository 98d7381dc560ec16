"""GRU (Cho et al. 2014) in PyTorch's convention, gate order r, z, n:
    r = sigma(x W_ir + b_ir + h W_hr + b_hr),  z = sigma(x W_iz + b_iz + h W_hz + b_hz)
    n = tanh(x W_in + b_in + r * (h W_hn + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}
The recurrent bias stays separate because r multiplies it (as in nn.GRU).
"""
from __future__ import annotations

import torch
from torch import nn

from rnnbench.affine import affine
from rnnbench.models.core import RecurrentCore, Weights
from rnnbench.models.ops import PLAIN


class GRU(RecurrentCore):
    state_names = ("h",)
    n_gates = 3

    def __init__(self, input_size: int, hidden_size: int, learn_h0: bool = True):
        super().__init__(input_size, hidden_size, learn_h0)
        G = self.n_gates * hidden_size
        self.w_in = nn.Parameter(torch.empty(input_size, G))  # (D, 3H)
        self.w_rec = nn.Parameter(torch.empty(hidden_size, G))  # (H, 3H)
        self.b = nn.Parameter(torch.zeros(G))  # (3H,) input-side bias
        self.b_rec = nn.Parameter(torch.zeros(G))  # (3H,) recurrent-side bias

    def recurrent_input(self, h: torch.Tensor, w: Weights, per_gate: bool = False) -> torch.Tensor:
        """h W_rec + b_rec, (B, 3H)."""
        if per_gate:
            return super().recurrent_input(h, w, per_gate) + w["b_rec"]
        return affine(h, w["w_rec"], w["b_rec"])

    def transition(self, u_t, v_t, state, ops=PLAIN):
        (h,) = state
        ur, uz, un = ops.chunk(u_t, 3)
        vr, vz, vn = ops.chunk(v_t, 3)
        r = ops.sigmoid(ops.add(ur, vr))
        z = ops.sigmoid(ops.add(uz, vz))
        n = ops.tanh(ops.add(un, ops.mul(r, vn)))
        h = ops.add(ops.mul(ops.one_minus(z), n), ops.mul(z, h))
        return h, (h,)
