"""Next-step Bernoulli prediction (000 §3.1.1): p(x_t,i = 1 | x_<t) = sigma(h_{t-1} W_out + b_y)_i."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore
from rnnbench.models.unroll import unroll


class NextStepModel(nn.Module):
    """A recurrent core with a sigmoid read-out; ``forward`` returns logits (B, T, D_out)."""

    def __init__(self, core: RecurrentCore, n_out: int):
        super().__init__()
        self.core = core
        self.w_out = nn.Parameter(torch.empty(core.hidden_size, n_out))  # (H, D)
        self.b_out = nn.Parameter(torch.zeros(n_out))  # (D,)

    def forward(self, x: torch.Tensor, step_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        state = self.core.initial_state(x.shape[0])
        h, _ = unroll(self.core, x, state, step_mask=step_mask)  # (B, T, H)
        return h @ self.w_out + self.b_out  # (B, T, D) logits
