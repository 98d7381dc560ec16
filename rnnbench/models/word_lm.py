"""Word-level language model (Zaremba et al. 2014; 003 §5.1): embedding -> L stacked recurrent
cores -> softmax, optionally with the softmax tied to the embedding (Press & Wolf 2017).

The regulariser acts per layer through the same realisation as the music models
(rnnbench/regularisers/realise.py): the input site on every layer's input (the embedding for
layer 1, the layer below otherwise: Zaremba's "non-recurrent connections"), the recurrent and
cell sites inside every layer, the output site before the softmax, and the embedding site as
word-type dropout (003 §4). The state is passed in and returned, so it can be carried across
BPTT windows.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rnnbench.models.core import RecurrentCore
from rnnbench.models.unroll import unroll
from rnnbench.regularisers import NONE, NoiseSpec, embed, realise


class WordLM(nn.Module):
    def __init__(self, layers: list[RecurrentCore], vocab_size: int, embedding_size: int, tie_weights: bool,
                 noise: NoiseSpec = NONE):
        super().__init__()
        self.vocab_size = vocab_size
        self.noise = noise
        self.layers = nn.ModuleList(layers)
        self.embedding = nn.Parameter(torch.empty(vocab_size, embedding_size))  # (V, E)
        H = layers[-1].hidden_size
        self.tie_weights = tie_weights
        self.w_out = None if tie_weights else nn.Parameter(torch.empty(H, vocab_size))  # (H, V)
        self.b_out = nn.Parameter(torch.zeros(vocab_size))  # (V,)

    def softmax_weights(self) -> torch.Tensor:
        return self.embedding.T if self.tie_weights else self.w_out  # (H, V)

    def initial_state(self, batch_size: int) -> list[tuple]:
        return [core.initial_state(batch_size) for core in self.layers]

    def forward(self, tokens: torch.Tensor, state: list, sample: Optional[bool] = None) -> tuple[torch.Tensor, list]:
        """tokens (B, T) -> logits (B, T, V) and the final state of every layer."""
        sample = self.training if sample is None else sample
        x = embed(tokens, self.embedding, self.noise, sample)
        realised = realise(self.noise, sample, x)
        new_state = []
        for core, s in zip(self.layers, state):
            x, s = unroll(realised.core(core), x, s)
            new_state.append(s)
        return realised.readout(x, self.softmax_weights(), self.b_out), new_state
