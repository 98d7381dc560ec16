"""Drawing the noise of the sampled realisations, and its expectation for deterministic evaluation.

Every draw has a leading time axis of length T (realise=step: fresh at every step) or 1
(realise=sequence: drawn once and held for every step, 003 §3; 001 "per sequence"). Unit masks
are per row of the minibatch (each sequence its own mask); weight noise is one draw per update
shared by the minibatch, as in 001 §8.1 ("for every iteration of weight update").
"""
from __future__ import annotations

from typing import Optional

import torch

from rnnbench.regularisers.spec import NoiseSpec, Site


class NoiseDraw:
    """Samples (``mean=False``) or expectations (``mean=True``) of a spec's noise for one batch."""

    def __init__(self, spec: NoiseSpec, mean: bool, n_steps: int, device, dtype):
        self.spec, self.mean, self.device, self.dtype = spec, mean, device, dtype
        self.n_steps = n_steps

    def _n(self, site: Site) -> int:
        """Draws along time: one per step, or one held for the whole sequence."""
        return self.n_steps if site.realise == "step" else 1

    def unit_mask(self, site: Site, shape: tuple, gates: int = 1) -> Optional[torch.Tensor]:
        """(n, gates, *shape) multiplicative mask of a dropout site, or None where it is the identity."""
        if not (site.active and site.noise == "dropout"):
            return None
        # (rates may be per-member tensors of a population: ones * rate, not torch.full)
        if self.mean:  # inverted dropout has expectation 1 exactly
            return None if self.spec.inverted else self._ones((1, 1, *shape)) * self.spec.mean_factor(site)
        keep = self._ones((self._n(site), gates, *shape)) * site.keep
        return torch.bernoulli(keep) * self.spec.scale(site)

    def _ones(self, shape) -> torch.Tensor:
        return torch.ones(shape, device=self.device, dtype=self.dtype)

    def weight(self, site: Site, w: torch.Tensor) -> Optional[torch.Tensor]:
        """(n, *w.shape) corrupted weights of a weight-noise site, or None where w is used as it is."""
        if not (site.active and site.noise in ("dropconnect", "additive", "multiplicative")):
            return None
        if site.noise == "dropconnect":
            if self.mean:
                return None if self.spec.inverted else (w * self.spec.mean_factor(site)).unsqueeze(0)
            keep = torch.ones((self._n(site), *w.shape), device=w.device, dtype=w.dtype) * site.keep
            return w * (torch.bernoulli(keep) * self.spec.scale(site))  # Wan et al. 2013; 001 §9
        if self.mean:
            return None  # zero-mean Gaussian noise: E[W~] = W
        eps = torch.randn((self._n(site), *w.shape), device=w.device, dtype=w.dtype) * site.rate
        if site.noise == "additive":
            return w + eps  # W* = W + Delta (001 eq. 11)
        return w + w * eps  # W* = W + W o Delta (001 eq. 12)


def per_step(draw: Optional[torch.Tensor], n_steps: int) -> list:
    """The draw for each of ``n_steps`` steps (a per-sequence draw is the same at every step).

    unbind, not draw[t]: indexing a tensor that needs grad once per step back-propagates each
    index through a zero tensor of the whole draw, O(T^2) (see rnnbench/models/unroll.py).
    """
    if draw is None:
        return [None] * n_steps
    if draw.shape[0] == 1:
        return [draw[0]] * n_steps
    return list(draw.unbind(0))


def word_type_mask(tokens: torch.Tensor, vocab_size: int, site: Site, scale: float) -> torch.Tensor:
    """(B, T, 1) embedding-dropout mask that drops word *types* (003 §4): one Bernoulli draw per
    sequence and vocabulary entry, looked up by token, so every occurrence of a word in a
    sequence is kept or dropped together. ``tokens`` (B, T) are integer word ids."""
    keep = torch.full((tokens.shape[0], vocab_size), site.keep, device=tokens.device)
    per_type = torch.bernoulli(keep).mul_(scale)  # (B, V)
    return per_type.gather(1, tokens).unsqueeze(-1)
