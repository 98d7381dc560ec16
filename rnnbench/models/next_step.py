"""Next-step Bernoulli prediction (000 §3.1.1): p(x_t,i = 1 | x_<t) = sigma(h_{t-1} W_out + b_y)_i.

One forward path: the regulariser's realisation (rnnbench/regularisers/realise.py) turns the core into
a noisy one and gives the read-out: sampled while training (and for Monte Carlo evaluation), at its
expectation for deterministic evaluation, or propagated as moments at both.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from rnnbench.metrics import frame_nll
from rnnbench.models.core import RecurrentCore
from rnnbench.models.unroll import unroll
from rnnbench.regularisers import NONE, NoiseSpec, realise
from rnnbench.regularisers.moments import MeanVar


class NextStepModel(nn.Module):
    """A recurrent core with a sigmoid read-out; ``forward`` returns logits (B, T, D_out)."""

    def __init__(self, core: RecurrentCore, n_out: int, noise: NoiseSpec = NONE, prob_clip: Optional[float] = None):
        super().__init__()
        self.core = core
        self.noise = noise
        # probabilities clipped to [c, 1 - c] = logits clamped to +-log((1 - c) / c), with T.clip's zero
        # gradient outside (breze's safe sigmoid; protocols.md §1b); None: exact logits
        self.logit_clip = None if prob_clip is None else math.log((1 - prob_clip) / prob_clip)
        self.w_out = nn.Parameter(torch.empty(core.hidden_size, n_out))  # (H, D)
        self.b_out = nn.Parameter(torch.zeros(n_out))  # (D,)

    def _hidden(self, x, step_mask, sample, noise):
        """The realisation of this pass and the hidden sequence (B, T, H) (MeanVar under moments)."""
        noise = self.noise if noise is None else noise
        realised = realise(noise, self.training if sample is None else sample, x)
        hs, _ = unroll(realised.core(self.core), x, step_mask=step_mask)
        return realised, hs

    def forward(self, x: torch.Tensor, step_mask: Optional[torch.Tensor] = None, sample: Optional[bool] = None,
                noise: Optional[NoiseSpec] = None) -> torch.Tensor:
        """``sample`` (default: in training mode) draws the noise; otherwise its expectation is used.
        ``noise`` replaces the model's own spec for this pass (a population member's rates, STORN's
        learned recognition rates)."""
        realised, hs = self._hidden(x, step_mask, sample, noise)
        logits = realised.readout(hs, self.w_out, self.b_out)
        return logits if self.logit_clip is None else logits.clamp(-self.logit_clip, self.logit_clip)

    def hidden_and_readout(self, x: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                           sample: Optional[bool] = None, noise: Optional[NoiseSpec] = None) -> tuple[torch.Tensor, MeanVar]:
        """The hidden sequence (B, T, H) (its mean under moments) and the read-out's pre-activation
        (B, T, D_out) as (mean, variance): under realise=moments the variance is the one fast dropout
        propagates through the read-out (002 §4.4: STORN's q), else 0."""
        realised, hs = self._hidden(x, step_mask, sample, noise)
        return realised.mean(hs), realised.readout_moments(hs, self.w_out, self.b_out)

    def frame_losses(self, inputs: torch.Tensor, targets: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                     loss_mask: Optional[torch.Tensor] = None, noise: Optional[NoiseSpec] = None) -> torch.Tensor:
        """(B, T) NLL of each frame (the training loss and the metric; STORN's is its bound)."""
        return frame_nll(self(inputs, step_mask, noise=noise), targets)
