"""Unit dropout (Hinton et al. 2012; 000 §2.2, 003 §3): the units entering a site's matrix are kept with
probability q = 1 - p and scaled by s (1/q when inverted, else 1). The sampling rule (a mask per row of
the minibatch; sampling.py gives it its time axis) and fast dropout's moment rule side by side."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch

from rnnbench.regularisers.moments import MeanVar

if TYPE_CHECKING:
    from rnnbench.regularisers.spec import NoiseSpec, Site


class UnitDropout:
    name = "dropout"
    drop = True  # the rate is a drop probability: keep q = 1 - p, scaled by 1/q when inverted
    on_units = True  # masks the units entering the site's matrix

    @staticmethod
    def mean_is_plain(spec: NoiseSpec) -> bool:
        return spec.inverted  # E[s zeta] = q s = 1 when inverted

    @staticmethod
    def mask(spec: NoiseSpec, site: Site, shape: tuple, mean: bool, device, dtype) -> Optional[torch.Tensor]:
        """The multiplicative mask of ``shape`` = (n, gates, B, D): Bernoulli(q) draws times s, or with ``mean``
        their expectation q s (None where that is 1: inverted dropout)."""
        # (rates may be per-member tensors of a population: ones * rate, not torch.full)
        if mean:
            return None if spec.inverted else torch.ones((1, 1, *shape[2:]), device=device, dtype=dtype) * spec.mean_factor(site)
        keep = torch.ones(shape, device=device, dtype=dtype) * site.keep
        return torch.bernoulli(keep) * spec.scale(site)

    @staticmethod
    def moments(x: MeanVar, site: Site, scale: float, mean_by_drop: bool = False) -> MeanVar:
        """x~ = s zeta x, zeta ~ Bernoulli(q): E = s q mu, V = s^2 (q (1 - q) mu^2 + q sigma^2) (000 §2.2,
        keeping the variance term that Wang & Manning drop).

        ``mean_by_drop``: E = s p mu with p = 1 - q the DROP rate, the variance unchanged: what breze's
        FD-RNN computes for the recurrent input (arch/model/varprop/rnn.py, recurrent_layer:
        ``T.dot(hom_m1, weights) * p_dropout``; protocols.md §1b)."""
        q = site.keep
        mean_factor = (1 - q) if mean_by_drop else q
        return MeanVar(scale * mean_factor * x.mean, scale**2 * (q * (1 - q) * x.mean**2 + q * x.var))

