"""Next-step Bernoulli prediction (000 §3.1.1): p(x_t,i = 1 | x_<t) = sigma(h_{t-1} W_out + b_y)_i.

The regulariser's noise changes the forward pass (rnnbench/regularisers/): sampled while
training (and for Monte Carlo evaluation), at its expectation for deterministic evaluation, or
propagated as moments at both.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from rnnbench.metrics import frame_nll
from rnnbench.models.core import RecurrentCore
from rnnbench.models.unroll import unroll
from rnnbench.regularisers import NONE, NoiseSpec, moment_forward, sampled_forward
from rnnbench.regularisers.moments import MeanVar, moment_layer, readout_moments
from rnnbench.regularisers.sampled import sampled_layer, sampled_readout
from rnnbench.regularisers.sampling import NoiseDraw


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

    def forward(self, x: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                sample: Optional[bool] = None) -> torch.Tensor:
        """``sample`` (default: in training mode) draws the noise; otherwise its expectation is used."""
        logits = self._logits(x, step_mask, sample)
        return logits if self.logit_clip is None else logits.clamp(-self.logit_clip, self.logit_clip)

    def _logits(self, x: torch.Tensor, step_mask: Optional[torch.Tensor], sample: Optional[bool]) -> torch.Tensor:
        noise = self.noise
        sample = self.training if sample is None else sample
        if noise.has_noise and noise.realise == "moments":
            return moment_forward(self, x, noise, step_mask)  # deterministic at training and test
        if noise.has_noise and (sample or noise.mean_differs_from_plain):
            return sampled_forward(self, x, noise, mean=not sample, step_mask=step_mask)
        state = self.core.initial_state(x.shape[0])
        h, _ = unroll(self.core, x, state, step_mask=step_mask)  # (B, T, H)
        return h @ self.w_out + self.b_out  # (B, T, D) logits

    def hidden_and_readout(self, x: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                           sample: Optional[bool] = None, noise: Optional[NoiseSpec] = None) -> tuple[torch.Tensor, MeanVar]:
        """The hidden sequence (B, T, H) (its mean under moments) and the read-out's pre-activation
        (B, T, D_out) as (mean, variance): under realise=moments the variance is the one fast dropout
        propagates through the read-out (002 §4.4: STORN's q), else 0. ``noise`` replaces the
        model's own spec for this pass (STORN's learned recognition rates)."""
        noise = self.noise if noise is None else noise
        sample = self.training if sample is None else sample
        if noise.has_noise and noise.realise == "moments":
            hs = moment_layer(self.core, MeanVar(x, torch.zeros_like(x)), noise, step_mask)
            return hs.mean, readout_moments(hs, self.w_out, self.b_out, noise)
        if noise.has_noise and (sample or noise.mean_differs_from_plain):
            draw = NoiseDraw(noise, not sample, x.shape[1], x.device, x.dtype)
            hs, _ = sampled_layer(self.core, x, noise, draw, step_mask)
            out = sampled_readout(hs, self.w_out, self.b_out, noise, draw)
        else:
            hs, _ = unroll(self.core, x, self.core.initial_state(x.shape[0]), step_mask=step_mask)
            out = hs @ self.w_out + self.b_out
        return hs, MeanVar(out, torch.zeros_like(out))

    def frame_losses(self, inputs: torch.Tensor, targets: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                     loss_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, T) NLL of each frame (the training loss and the metric; STORN's is its bound)."""
        return frame_nll(self(inputs, step_mask), targets)
