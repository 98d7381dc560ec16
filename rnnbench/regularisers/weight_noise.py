"""Weight noise (001 §8, 002 §2.7): the matrix a site's units enter is itself corrupted, by a Bernoulli
drop of weights (DropConnect, Wan et al. 2013), additive Gaussian noise W + eps or multiplicative
W + W eps, eps ~ N(0, sigma^2). One draw per update shared by the minibatch (001 §8.1), per step or per
sequence. The sampling rule and the moment rule (002 §2.7) side by side."""
from __future__ import annotations

from typing import Optional

import torch

from rnnbench.regularisers.spec import NoiseSpec, Site

KINDS = ("dropconnect", "additive", "multiplicative")


def noisy_weight(spec: NoiseSpec, site: Site, w: torch.Tensor, n: int, mean: bool) -> Optional[torch.Tensor]:
    """(n, *w.shape) corrupted weights, or with ``mean`` their expectation; None where w is used as it is."""
    if site.noise == "dropconnect":
        if mean:
            return None if spec.inverted else (w * spec.mean_factor(site)).unsqueeze(0)
        keep = torch.ones((n, *w.shape), device=w.device, dtype=w.dtype) * site.keep
        return w * (torch.bernoulli(keep) * spec.scale(site))  # Wan et al. 2013; 001 §9
    if mean:
        return None  # zero-mean Gaussian noise: E[W~] = W
    eps = torch.randn((n, *w.shape), device=w.device, dtype=w.dtype) * site.rate
    if site.noise == "additive":
        return w + eps  # W* = W + Delta (001 eq. 11)
    return w + w * eps  # W* = W + W o Delta (001 eq. 12)


def weight_moments(w: torch.Tensor, site: Site, scale: float) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """(E[W~], V[W~]) of a weight-noise site (002 §2.7); V is None for a noise-free matrix."""
    if not site.active or site.noise not in KINDS:
        return w, None
    if site.noise == "dropconnect":  # W~ = s zeta W (002 §2.7.1)
        q = site.keep
        return scale * q * w, scale**2 * q * (1 - q) * w**2
    if site.noise == "additive":  # W~ = W + eps (002 §2.7.2): V = sigma^2
        return w, torch.ones_like(w) * site.rate**2
    return w, site.rate**2 * w**2  # multiplicative: W~ = W + W eps, V = sigma^2 W^2 (001 eq. 18)


