"""LSTM without peepholes (Hochreiter & Schmidhuber 1997; Gers et al. 2000 forget gate).

Gate order i, f, g, o along the last axis, as in PyTorch, so that weights can be compared
with nn.LSTM in the tests:
    [i f g o] = x_t W_in + h_{t-1} W_rec + b
    c_t = sigma(f) * c_{t-1} + sigma(i) * tanh(g);   h_t = sigma(o) * tanh(c_t)
"""
from __future__ import annotations

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore, State, Weights


class LSTM(RecurrentCore):
    state_names = ("h", "c")
    n_gates = 4

    def __init__(self, input_size: int, hidden_size: int, learn_h0: bool = True):
        super().__init__(input_size, hidden_size, learn_h0)
        G = self.n_gates * hidden_size
        self.w_in = nn.Parameter(torch.empty(input_size, G))  # (D, 4H)
        self.w_rec = nn.Parameter(torch.empty(hidden_size, G))  # (H, 4H)
        self.b = nn.Parameter(torch.zeros(G))  # (4H,)

    def project(self, x: torch.Tensor, w: Weights) -> torch.Tensor:
        return x @ w["w_in"] + w["b"]  # (..., 4H)

    def recur(self, u_t: torch.Tensor, state: State, w: Weights) -> tuple[torch.Tensor, State]:
        h, c = state
        i, f, g, o = torch.addmm(u_t, h, w["w_rec"]).chunk(4, dim=-1)  # u_t + h W_rec, each (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)
