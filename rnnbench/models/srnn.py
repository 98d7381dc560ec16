"""Simple RNN with tanh units (000 §2.1): h_t = tanh(x_t W_in + h_{t-1} W_rec + b_h)."""
from __future__ import annotations

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore, State, Weights


class SRNN(RecurrentCore):
    state_names = ("h",)

    def __init__(self, input_size: int, hidden_size: int, learn_h0: bool = True):
        super().__init__(input_size, hidden_size, learn_h0)
        self.w_in = nn.Parameter(torch.empty(input_size, hidden_size))  # (D, H)
        self.w_rec = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        self.b = nn.Parameter(torch.zeros(hidden_size))  # (H,)

    def project(self, x: torch.Tensor, w: Weights) -> torch.Tensor:
        return x @ w["w_in"] + w["b"]  # (..., H)

    def recur(self, u_t: torch.Tensor, state: State, w: Weights) -> tuple[torch.Tensor, State]:
        (h,) = state
        h = torch.tanh(torch.addmm(u_t, h, w["w_rec"]))  # u_t + h W_rec, (B, H)
        return h, (h,)

    def recurrent_matrix(self) -> torch.Tensor:
        return self.w_rec
