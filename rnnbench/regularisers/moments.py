"""The algebra of moment propagation: (mean, variance) pairs and the cells' elementwise math on them.

Fast dropout (000 §2.2, 002 §2.3-2.5) and the moment-propagated DropConnect and Gaussian weight
noise that 002 §2.7 derived but never ran summarise every unit by its mean and variance;
pre-activations are taken as Gaussian (central limit theorem), and the cells' gate math runs on
the pairs through MomentOps (independence assumed between the factors of every product). Each noise
family's moment rule sits beside its sampling rule (dropout.py, weight_noise.py); the core that
propagates them is propagated.py.
"""
from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, NamedTuple, Optional

import numpy as np
import torch

from rnnbench.affine import affine

if TYPE_CHECKING:
    from rnnbench.regularisers.spec import NoiseSpec

_ALPHA = 4 - 2 * math.sqrt(2)  # sigma(x)^2 ~ sigma(alpha (x - beta)), Wang & Manning (2013)
_BETA = -math.log(math.sqrt(2) - 1)


class MeanVar(NamedTuple):
    mean: torch.Tensor
    var: torch.Tensor


def sigmoid_moments(m: torch.Tensor, v: torch.Tensor) -> MeanVar:
    """E and V of sigma(a), a ~ N(m, v) (002 §2.3.3): E ~ s(m, v), V ~ s(alpha (m - beta), alpha^2 v) - E^2,
    with the scaled sigmoid s(m, v) = sigma(m / sqrt(1 + pi v / 8))."""
    mean = torch.sigmoid(m / torch.sqrt(1 + math.pi * v / 8))
    second = torch.sigmoid(_ALPHA * (m - _BETA) / torch.sqrt(1 + math.pi * _ALPHA**2 * v / 8))
    return MeanVar(mean, (second - mean * mean).clamp_min(0))


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(16)  # probabilists' Hermite: weight exp(-z^2/2)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2 * math.pi)


@functools.lru_cache(maxsize=None)
def _gh_rule(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The nodes and weights on ``device``, made once: not a host-to-device copy per time step."""
    with torch.inference_mode(False):  # ordinary tensors even when first made during an evaluation
        return (torch.as_tensor(_GH_NODES, dtype=dtype, device=device),
                torch.as_tensor(_GH_WEIGHTS, dtype=dtype, device=device))


def quadrature_moments(f, m: torch.Tensor, v: torch.Tensor) -> MeanVar:
    """E and V of f(a), a ~ N(m, v), by 16-point Gauss-Hermite quadrature (accurate to ~1e-6 for
    sigma and tanh at the variances met in practice)."""
    nodes, weights = _gh_rule(m.dtype, m.device)
    y = f(m.unsqueeze(-1) + v.clamp_min(1e-12).sqrt().unsqueeze(-1) * nodes)  # (..., 16)
    mean = (y * weights).sum(-1)
    return MeanVar(mean, ((y * y * weights).sum(-1) - mean * mean).clamp_min(0))


class MomentOps:
    """The elementwise algebra of rnnbench/models/ops.py on MeanVar pairs (002 eqs. 12-15)."""

    def __init__(self, approx: str = "paper", tanh_half: bool = False):
        self.approx = approx
        # breze's FD "tanh" (component/varprop/transfer.py, tanh) is the sigmoid's moments at (m, v)
        # mapped by 2E - 1, 4V: the moments of 2 sigma(a) - 1 = tanh(a/2), not of tanh(a) (protocols.md §1b)
        self.tanh_half = tanh_half

    @staticmethod
    def add(a: MeanVar, b: MeanVar) -> MeanVar:
        return MeanVar(a.mean + b.mean, a.var + b.var)

    @staticmethod
    def mul(a: MeanVar, b: MeanVar) -> MeanVar:
        # V[AB] = E[A]^2 V[B] + V[A] E[B]^2 + V[A] V[B] for independent A, B (002 eq. 15)
        return MeanVar(a.mean * b.mean, a.mean**2 * b.var + a.var * b.mean**2 + a.var * b.var)

    def sigmoid(self, a: MeanVar) -> MeanVar:
        if self.approx == "quadrature":
            return quadrature_moments(torch.sigmoid, a.mean, a.var)
        return sigmoid_moments(a.mean, a.var)

    def tanh(self, a: MeanVar) -> MeanVar:
        if self.approx == "quadrature":
            return quadrature_moments((lambda x: torch.tanh(x / 2)) if self.tanh_half else torch.tanh, a.mean, a.var)
        # tanh(a) = 2 sigma(2a) - 1, and 2a ~ N(2m, 4v): the argument is (2m, 4v), not (m, v);
        # breze's reading takes sigma's moments at (m, v) itself, i.e. those of tanh(a/2)
        s = sigmoid_moments(a.mean, a.var) if self.tanh_half else sigmoid_moments(2 * a.mean, 4 * a.var)
        return MeanVar(2 * s.mean - 1, 4 * s.var)

    @staticmethod
    def one_minus(a: MeanVar) -> MeanVar:
        return MeanVar(1 - a.mean, a.var)

    @staticmethod
    def chunk(a: MeanVar, n: int):
        return [MeanVar(m, v) for m, v in zip(a.mean.chunk(n, dim=-1), a.var.chunk(n, dim=-1))]


MOMENTS = MomentOps("paper")
QUADRATURE = MomentOps("quadrature")
_OPS = {(approx, half): MomentOps(approx, half) for approx in ("paper", "quadrature") for half in (False, True)}


def moment_ops(spec: NoiseSpec) -> MomentOps:
    """The elementwise moment algebra a spec asks for (regulariser.moment_approx, regulariser.fd_tanh)."""
    return _OPS[("quadrature" if spec.moment_approx == "quadrature" else "paper", spec.fd_tanh == "half")]


def linear_moments(x: MeanVar, w_mean: torch.Tensor, w_var: Optional[torch.Tensor], bias=None,
                   w_mean_sq: Optional[torch.Tensor] = None) -> MeanVar:
    """a = x~ W~ + b with independent entries (002 eq. 18): E = E[x] E[W] + b,
    V = V[x] E[W]^2 + E[x]^2 V[W] + V[x] V[W]. ``w_mean_sq`` = E[W]^2 if already computed."""
    mean = x.mean @ w_mean if bias is None else affine(x.mean, w_mean, bias)
    var = x.var @ (w_mean * w_mean if w_mean_sq is None else w_mean_sq)
    if w_var is not None:
        var = var + (x.mean * x.mean) @ w_var + x.var @ w_var
    return MeanVar(mean, var)
