"""Simple RNN (000 §2.1): h_t = f(x_t W_in + h_{t-1} W_rec + b_h), f = tanh (000-002 ch. 2) or the
logistic sigmoid (STORN's transfer function, 002 §4.4.1)."""
from __future__ import annotations

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore
from rnnbench.models.ops import PLAIN


class SRNN(RecurrentCore):
    state_names = ("h",)

    activations = ("tanh", "sigmoid")

    def __init__(self, input_size: int, hidden_size: int, learn_h0: bool = True, activation: str = "tanh"):
        super().__init__(input_size, hidden_size, learn_h0)
        if activation not in self.activations:
            raise ValueError(f"unknown activation '{activation}'; valid: {', '.join(self.activations)}")
        self.activation = activation
        self.w_in = nn.Parameter(torch.empty(input_size, hidden_size))  # (D, H)
        self.w_rec = nn.Parameter(torch.empty(hidden_size, hidden_size))  # (H, H)
        self.b = nn.Parameter(torch.zeros(hidden_size))  # (H,)

    def transition(self, u_t, v_t, state, ops=PLAIN):
        a = ops.add(u_t, v_t)
        h = ops.tanh(a) if self.activation == "tanh" else ops.sigmoid(a)
        return h, (h,)

    def recurrent_matrix(self) -> torch.Tensor:
        return self.w_rec
