"""Weight noise (001 §8, 002 §2.7): the matrix a site's units enter is itself corrupted, by a Bernoulli
drop of weights (DropConnect, Wan et al. 2013), additive Gaussian noise W + eps or multiplicative
W + W eps, eps ~ N(0, sigma^2). One draw per update shared by the minibatch (001 §8.1), per step or per
sequence. Each kind's sampling rule and moment rule (002 §2.7) side by side.

A draw is the sequence of the n weights of one update (n = T per step, 1 per sequence): a stacked
(n, *w.shape) tensor from torch's generator, or on the CPU cpu_draws.Steps: per-step matrices drawn one
at a time, in cache, as the unroll reaches each step (the per-step rows' cost was the draw, issue 31)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch

from rnnbench.regularisers import cpu_draws

if TYPE_CHECKING:
    from rnnbench.regularisers.spec import NoiseSpec, Site


class DropConnect:
    name = "dropconnect"
    drop = True  # the rate is a drop probability
    on_units = False  # corrupts the site's matrix

    @staticmethod
    def mean_is_plain(spec: NoiseSpec) -> bool:
        return spec.inverted

    @staticmethod
    def weight(spec: NoiseSpec, site: Site, w: torch.Tensor, n: int, mean: bool) -> Optional[cpu_draws.Draw]:
        """n draws of W~ = s zeta W (Wan et al. 2013; 001 §9), or its expectation q s W (None when 1)."""
        if mean:
            return None if spec.inverted else (w * spec.mean_factor(site)).unsqueeze(0)
        if cpu_draws.applies(w):
            bits, ws = cpu_draws.stream(), w * spec.scale(site)
            return cpu_draws.steps(n, lambda: ws * cpu_draws.keep_mask(bits, site.keep, tuple(w.shape), w.dtype))
        keep = torch.ones((n, *w.shape), device=w.device, dtype=w.dtype) * site.keep
        return w * (torch.bernoulli(keep) * spec.scale(site))

    @staticmethod
    def moments(w: torch.Tensor, site: Site, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        q = site.keep  # W~ = s zeta W (002 §2.7.1)
        return scale * q * w, scale**2 * q * (1 - q) * w**2


class GaussianNoise:
    """Zero-mean Gaussian weight noise: the rate is sigma, and E[W~] = W (the plain net at evaluation). A
    kind says how it corrupts W: ``corrupt(W, center + eps)``, eps ~ N(0, sigma^2), and the variance of W~
    (``moments``). The draw includes the center so that W~ costs one kernel with grad per step."""

    drop = False
    on_units = False

    @staticmethod
    def mean_is_plain(spec: NoiseSpec) -> bool:
        return True

    @classmethod
    def weight(cls, spec: NoiseSpec, site: Site, w: torch.Tensor, n: int, mean: bool) -> Optional[cpu_draws.Draw]:
        """n corrupted weights, one draw per step or per sequence; None at the expectation (W)."""
        if mean:
            return None
        if cpu_draws.applies(w):
            bits = cpu_draws.stream()
            return cpu_draws.steps(n, lambda: cls.corrupt(w, cpu_draws.normal(bits, tuple(w.shape), w.dtype,
                                                                              site.rate, cls.center)))
        return cls.corrupt(w, torch.randn((n, *w.shape), device=w.device, dtype=w.dtype) * site.rate + cls.center)


class AdditiveNoise(GaussianNoise):
    name = "additive"
    center = 0.0

    @staticmethod
    def corrupt(w: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        return w + delta  # W* = W + Delta (001 eq. 11)

    @staticmethod
    def moments(w: torch.Tensor, site: Site, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        return w, torch.ones_like(w) * site.rate**2  # W~ = W + eps (002 §2.7.2): V = sigma^2


class MultiplicativeNoise(GaussianNoise):
    name = "multiplicative"
    center = 1.0

    @staticmethod
    def corrupt(w: torch.Tensor, one_plus_delta: torch.Tensor) -> torch.Tensor:
        return w * one_plus_delta  # W* = W + W o Delta = W o (1 + Delta) (001 eq. 12)

    @staticmethod
    def moments(w: torch.Tensor, site: Site, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        return w, site.rate**2 * w**2  # W~ = W + W eps, V = sigma^2 W^2 (001 eq. 18)
