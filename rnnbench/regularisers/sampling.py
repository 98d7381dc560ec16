"""Drawing the noise of the sampled realisations, and its expectation for deterministic evaluation.

Every draw has a leading time axis of length T (realise=step: fresh at every step) or 1
(realise=sequence: drawn once and held for every step, 003 §3; 001 "per sequence"). Unit masks
are per row of the minibatch (each sequence its own mask); weight noise is one draw per update
shared by the minibatch, as in 001 §8.1 ("for every iteration of weight update"). What is drawn is
each family's rule (dropout.py, weight_noise.py, cell_dropout.py, zoneout.py); this file gives it the
time axis.
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch

from rnnbench.regularisers import cpu_draws
from rnnbench.regularisers.registry import unit_or_weight_kind
from rnnbench.regularisers.spec import NoiseSpec, Site


class NoiseDraw:
    """Samples (``mean=False``) or expectations (``mean=True``) of a spec's noise for one batch."""

    def __init__(self, spec: NoiseSpec, mean: bool, n_steps: int, device, dtype):
        self.spec, self.mean, self.device, self.dtype = spec, mean, device, dtype
        self.n_steps = n_steps

    def n(self, site: Site) -> int:
        """Draws along time: one per step, or one held for the whole sequence."""
        return self.n_steps if site.realise == "step" else 1

    def unit_mask(self, site: Site, shape: tuple, gates: int = 1) -> Optional[torch.Tensor]:
        """(n, gates, *shape) multiplicative mask of a site whose noise masks units, or None where it is the
        identity. The cell site's RNNDrop draws its mask here too (unit dropout's rule)."""
        kind = unit_or_weight_kind(site)
        if kind is None or not kind.on_units:
            return None
        return kind.mask(self.spec, site, (self.n(site), gates, *shape), self.mean, self.device, self.dtype)

    def weight(self, site: Site, w: torch.Tensor) -> Optional[cpu_draws.Draw]:
        """The n corrupted weights of a site whose noise corrupts its matrix (a stacked tensor or a list,
        weight_noise.py), or None where w is used as it is."""
        kind = unit_or_weight_kind(site)
        if kind is None or kind.on_units:
            return None
        return kind.weight(self.spec, site, w, self.n(site), self.mean)

    def steps(self, draw: Optional[torch.Tensor]) -> list:
        """``per_step`` over this batch's steps."""
        return per_step(draw, self.n_steps)


def stacked(draw: cpu_draws.Draw) -> torch.Tensor:
    """A draw as one (n, ...) tensor (a list of per-step weights is stacked)."""
    return draw if isinstance(draw, torch.Tensor) else torch.stack(list(draw))


def per_step(draw: Optional[cpu_draws.Draw], n_steps: int) -> Iterable:
    """The draw for each of ``n_steps`` steps (a per-sequence draw is the same at every step); a draw is
    a tensor with a leading axis of length 1 or n_steps, a list of that length, or cpu_draws.Steps (drawn
    as the steps are iterated: returned as it is).

    unbind, not draw[t]: indexing a tensor that needs grad once per step back-propagates each
    index through a zero tensor of the whole draw, O(T^2) (see rnnbench/models/core.py: prepare).
    """
    if draw is None:
        return [None] * n_steps
    if len(draw) == 1:
        return [draw[0]] * n_steps
    return list(draw.unbind(0)) if isinstance(draw, torch.Tensor) else draw
