"""Sequence regression (003 §5.2): embedding -> one recurrent core -> dense 1 on the last state.

The regulariser acts through the shared realisation (rnnbench/regularisers/realise.py): word-type dropout on the embedding
(p_emb), the input site on the embedded words (p_W), the recurrent site (p_U) and the output site
before the dense layer (p_dense), in the authors' naming.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore
from rnnbench.models.unroll import unroll
from rnnbench.regularisers import NONE, NoiseSpec, embed, realise


class SequenceRegressor(nn.Module):
    def __init__(self, core: RecurrentCore, vocab_size: int, embedding_size: int, noise: NoiseSpec = NONE):
        super().__init__()
        self.core = core
        self.noise = noise
        self.embedding = nn.Parameter(torch.empty(vocab_size, embedding_size))  # (V, E)
        self.w_out = nn.Parameter(torch.empty(core.hidden_size, 1))  # (H, 1)
        self.b_out = nn.Parameter(torch.zeros(1))

    def forward(self, tokens: torch.Tensor, sample: Optional[bool] = None) -> torch.Tensor:
        """tokens (B, T) -> predictions (B,) of the standardised target."""
        sample = self.training if sample is None else sample
        x = embed(tokens, self.embedding, self.noise, sample)  # (B, T, E)
        realised = realise(self.noise, sample, x)
        hs, _ = unroll(realised.core(self.core), x)
        return realised.readout(hs[:, -1:], self.w_out, self.b_out)[:, 0, 0]  # the last state's prediction
