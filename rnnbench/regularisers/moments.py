"""Moment propagation: noise carried through the net as (mean, variance) pairs, deterministically.

Fast dropout (000 §2.2, 002 §2.3-2.5) and the moment-propagated DropConnect and Gaussian weight
noise that 002 §2.7 derived but never ran. Every unit is summarised by its mean and variance;
pre-activations are taken as Gaussian (central limit theorem), and the cells' gate math runs on
the pairs through MomentOps (independence assumed between the factors of every product).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
import torch

from rnnbench.regularisers.spec import NoiseSpec, Site

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


def quadrature_moments(f, m: torch.Tensor, v: torch.Tensor) -> MeanVar:
    """E and V of f(a), a ~ N(m, v), by 16-point Gauss-Hermite quadrature (accurate to ~1e-6 for
    sigma and tanh at the variances met in practice)."""
    nodes = torch.as_tensor(_GH_NODES, dtype=m.dtype, device=m.device)
    weights = torch.as_tensor(_GH_WEIGHTS, dtype=m.dtype, device=m.device)
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


def dropout_moments(x: MeanVar, site: Site, scale: float, mean_by_drop: bool = False) -> MeanVar:
    """x~ = s zeta x, zeta ~ Bernoulli(q): E = s q mu, V = s^2 (q (1 - q) mu^2 + q sigma^2) (000 §2.2,
    keeping the variance term that Wang & Manning drop).

    ``mean_by_drop``: E = s p mu with p = 1 - q the DROP rate, the variance unchanged: what breze's
    FD-RNN computes for the recurrent input (arch/model/varprop/rnn.py, recurrent_layer:
    ``T.dot(hom_m1, weights) * p_dropout``; protocols.md §1b)."""
    if not (site.active and site.noise == "dropout"):
        return x
    q = site.keep
    mean_factor = (1 - q) if mean_by_drop else q
    return MeanVar(scale * mean_factor * x.mean, scale**2 * (q * (1 - q) * x.mean**2 + q * x.var))


def weight_moments(w: torch.Tensor, site: Site, scale: float) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """(E[W~], V[W~]) of a weight-noise site (002 §2.7); V is None for a noise-free matrix."""
    if not site.active or site.noise == "dropout":
        return w, None
    if site.noise == "dropconnect":  # W~ = s zeta W (002 §2.7.1)
        q = site.keep
        return scale * q * w, scale**2 * q * (1 - q) * w**2
    if site.noise == "additive":  # W~ = W + eps (002 §2.7.2): V = sigma^2
        return w, torch.ones_like(w) * site.rate**2
    return w, site.rate**2 * w**2  # multiplicative: W~ = W + W eps, V = sigma^2 W^2 (001 eq. 18)


def linear_moments(x: MeanVar, w_mean: torch.Tensor, w_var: Optional[torch.Tensor], bias=None,
                   w_mean_sq: Optional[torch.Tensor] = None) -> MeanVar:
    """a = x~ W~ + b with independent entries (002 eq. 18): E = E[x] E[W] + b,
    V = V[x] E[W]^2 + E[x]^2 V[W] + V[x] V[W]. ``w_mean_sq`` = E[W]^2 if already computed."""
    mean = x.mean @ w_mean
    if bias is not None:
        mean = mean + bias
    var = x.var @ (w_mean * w_mean if w_mean_sq is None else w_mean_sq)
    if w_var is not None:
        var = var + (x.mean * x.mean) @ w_var + x.var @ w_var
    return MeanVar(mean, var)


def moment_layer(core, x: MeanVar, spec: NoiseSpec, step_mask: Optional[torch.Tensor] = None) -> MeanVar:
    """One recurrent layer on input moments x (B, T, D) with the input and recurrent sites'
    noise propagated; returns the moments of the hidden sequence (B, T, H)."""
    w = core.weights()
    site_in, site_rec = spec.site("input"), spec.site("recurrent")
    x = dropout_moments(x, site_in, spec.scale(site_in))
    u = linear_moments(x, *weight_moments(w["w_in"], site_in, spec.scale(site_in)), bias=w["b"])  # (B, T, G)
    if spec.final_layer_no == "readout_and_input":
        # Dec-2013 breze: "FD for final layer = no" set hidden_var_biases_sqrt[-1] = 1e-16, which for one
        # layer scales the input projection's variance by 1e-32 (protocols.md §1b)
        no_fd = ~spec.fd_output if isinstance(spec.fd_output, torch.Tensor) else not spec.fd_output
        u = MeanVar(u.mean, torch.where(torch.as_tensor(no_fd, device=u.var.device), torch.zeros_like(u.var), u.var))
    w_rec = weight_moments(w["w_rec"], site_rec, spec.scale(site_rec))
    w_rec_sq = w_rec[0] * w_rec[0]  # once per sequence, not once per step
    b_rec = w.get("b_rec")

    ops = moment_ops(spec)
    by_drop = spec.fd_rec_mean == "drop"
    state = tuple(MeanVar(s, torch.zeros_like(s)) for s in core.initial_state(x.mean.shape[0], w))
    means, variances = [], []
    for t, u_t in enumerate(zip(u.mean.unbind(1), u.var.unbind(1))):  # unbind: see models/unroll.py
        h = dropout_moments(state[0], site_rec, spec.scale(site_rec), mean_by_drop=by_drop)
        v = linear_moments(h, *w_rec, bias=b_rec, w_mean_sq=w_rec_sq)  # (B, G)
        y, new = core.transition(MeanVar(*u_t), v, state, ops=ops)
        if step_mask is not None:
            keep = step_mask[:, t, None]
            new = tuple(MeanVar(torch.where(keep, n.mean, s.mean), torch.where(keep, n.var, s.var))
                        for n, s in zip(new, state))
        state = new
        means.append(y.mean)
        variances.append(y.var)
    return MeanVar(torch.stack(means, 1), torch.stack(variances, 1))  # (B, T, H)


def moment_readout(hs: MeanVar, w_out: torch.Tensor, b_out: torch.Tensor, spec: NoiseSpec) -> torch.Tensor:
    """Logits whose sigmoid is the mean prediction E[y].

    With ``fd_output`` the output pre-activation a ~ N(m, v) gives E[sigma(a)] ~ sigma(m / sqrt(1 + pi v / 8)),
    the mean the loss is taken on (000 §2.2); without it the output layer is an ordinary forward
    pass on the mean of the hidden units, ignoring their variance (000 "FD for final layer = no").
    """
    if isinstance(spec.fd_output, torch.Tensor):  # a population's per-member switch (rnnbench/population/)
        a = readout_moments(hs, w_out, b_out, spec)
        return torch.where(spec.fd_output, a.mean / torch.sqrt(1 + math.pi * a.var / 8), a.mean)
    if not spec.fd_output:  # the mean alone: no variance to compute
        site_out = spec.site("output")
        hs = dropout_moments(hs, site_out, spec.scale(site_out))
        return hs.mean @ weight_moments(w_out, site_out, spec.scale(site_out))[0] + b_out
    a = readout_moments(hs, w_out, b_out, spec)
    return a.mean / torch.sqrt(1 + math.pi * a.var / 8)


def readout_moments(hs: MeanVar, w_out: torch.Tensor, b_out: torch.Tensor, spec: NoiseSpec) -> MeanVar:
    """Moments of the read-out's pre-activation a = h~ W~_out + b_out, the output site's noise
    propagated (STORN's q takes its variance from here, 002 §4.4)."""
    site_out = spec.site("output")
    hs = dropout_moments(hs, site_out, spec.scale(site_out))
    return linear_moments(hs, *weight_moments(w_out, site_out, spec.scale(site_out)), bias=b_out)


def moment_forward(model, x: torch.Tensor, spec: NoiseSpec, step_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Logits (B, T, D_out) of the moment network: deterministic at training and test."""
    hs = moment_layer(model.core, MeanVar(x, torch.zeros_like(x)), spec, step_mask)
    return moment_readout(hs, model.w_out, model.b_out, spec)
