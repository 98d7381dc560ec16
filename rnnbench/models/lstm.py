"""LSTM without peepholes (Hochreiter & Schmidhuber 1997; Gers et al. 2000 forget gate).

Gate order i, f, g, o along the last axis, as in PyTorch, so that weights can be compared
with nn.LSTM in the tests:
    [i f g o] = x_t W_in + h_{t-1} W_rec + b
    c_t = sigma(f) * c_{t-1} + sigma(i) * tanh(g);   h_t = sigma(o) * tanh(c_t)
The step is split in two, ``update`` (the new cell state and the output gate) and ``emit`` (h_t from
them), so that a regulariser can act on c_t between the two (RNNDrop: rnnbench/regularisers/cell_dropout.py)
without the cell knowing of it.
"""
from __future__ import annotations

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore
from rnnbench.models.ops import PLAIN


class LSTM(RecurrentCore):
    state_names = ("h", "c")
    n_gates = 4

    def __init__(self, input_size: int, hidden_size: int, learn_h0: bool = True):
        super().__init__(input_size, hidden_size, learn_h0)
        G = self.n_gates * hidden_size
        self.w_in = nn.Parameter(torch.empty(input_size, G))  # (D, 4H)
        self.w_rec = nn.Parameter(torch.empty(hidden_size, G))  # (H, 4H)
        self.b = nn.Parameter(torch.zeros(G))  # (4H,)

    def transition(self, u_t, v_t, state, ops=PLAIN):
        return self.emit(*self.update(u_t, v_t, state, ops), ops)

    def update(self, u_t, v_t, state, ops=PLAIN):
        """(c_t, o_t): the new cell state and the output gate's pre-activation."""
        _, c = state
        i, f, g, o = ops.chunk(ops.add(u_t, v_t), 4)  # each (B, H)
        return ops.add(ops.mul(ops.sigmoid(f), c), ops.mul(ops.sigmoid(i), ops.tanh(g))), o

    @staticmethod
    def emit(c, o, ops=PLAIN):
        h = ops.mul(ops.sigmoid(o), ops.tanh(c))
        return h, (h, c)
