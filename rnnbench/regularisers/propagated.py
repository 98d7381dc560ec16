"""The moment realisation: fast dropout (000 §2.2, 002 §2.3-2.5) and the moment-propagated weight noise of
002 §2.7, deterministic at training and test. The core carries (mean, variance) pairs through the cell's
own gate math (moments.py: MomentOps); each site's moment rule is its family's (dropout.py,
weight_noise.py)."""
from __future__ import annotations

import math

import torch

from rnnbench.affine import affine
from rnnbench.regularisers.moments import MeanVar, linear_moments, moment_ops
from rnnbench.regularisers.registry import unit_or_weight_kind
from rnnbench.regularisers.spec import NoiseSpec, Site


def unit_moments(x: MeanVar, site: Site, spec: NoiseSpec, mean_by_drop: bool = False) -> MeanVar:
    """The moment rule of the noise on the units entering a site (unit dropout), or x itself."""
    kind = unit_or_weight_kind(site)
    if kind is None or not kind.on_units:
        return x
    return kind.moments(x, site, spec.scale(site), mean_by_drop)


def weight_moments(w: torch.Tensor, site: Site, spec: NoiseSpec) -> tuple:
    """(E[W~], V[W~]) of a site's matrix under its weight noise's moment rule; V None without one."""
    kind = unit_or_weight_kind(site)
    if kind is None or kind.on_units:
        return w, None
    return kind.moments(w, site, spec.scale(site))


def _where(fd, yes: torch.Tensor, no: torch.Tensor) -> torch.Tensor:
    """``yes`` where fast dropout's final layer is on: ``fd`` is a bool (one run) or a bool tensor (one per member
    of a stacked population). A bool picks without making a tensor of it: a tensor made from host data in the
    step is a host-to-device copy on a GPU, which also breaks CUDA-graph capture."""
    if isinstance(fd, torch.Tensor):
        return torch.where(fd, yes, no)
    return yes if fd else no


class MomentCore:
    """A core on input moments with the input and recurrent sites' noise propagated; its outputs and
    state are MeanVar pairs (rnnbench/models/unroll.py holds and stacks them alike)."""

    def __init__(self, core, spec: NoiseSpec):
        self.core, self.spec = core, spec

    def initial_state(self, batch_size: int):
        return tuple(MeanVar(s, torch.zeros_like(s)) for s in self.core.initial_state(batch_size))

    def prepare(self, x: torch.Tensor) -> list[MeanVar]:
        """The input moments of every step (B, G), from the data x (B, T, D) (variance 0)."""
        core, spec = self.core, self.spec
        w = core.weights()
        site_in, site_rec = spec.site("input"), spec.site("recurrent")
        x = unit_moments(MeanVar(x, torch.zeros_like(x)), site_in, spec)
        u = linear_moments(x, *weight_moments(w["w_in"], site_in, spec), bias=w["b"])  # (B, T, G)
        if spec.final_layer_no == "readout_and_input":
            # Dec-2013 breze: "FD for final layer = no" set hidden_var_biases_sqrt[-1] = 1e-16, which for one
            # layer scales the input projection's variance by 1e-32 (protocols.md §1b)
            u = MeanVar(u.mean, _where(spec.fd_output, u.var, torch.zeros_like(u.var)))
        self.w_rec = weight_moments(w["w_rec"], site_rec, spec)
        self.w_rec_sq = self.w_rec[0] * self.w_rec[0]  # once per sequence, not once per step
        self.b_rec = w.get("b_rec")
        self.ops = moment_ops(spec)
        return [MeanVar(m, v) for m, v in zip(u.mean.unbind(1), u.var.unbind(1))]  # unbind: models/core.py

    def step(self, u_t: MeanVar, state):
        spec, site_rec = self.spec, self.spec.site("recurrent")
        h = unit_moments(state[0], site_rec, spec, mean_by_drop=spec.fd_rec_mean == "drop")
        v = linear_moments(h, *self.w_rec, bias=self.b_rec, w_mean_sq=self.w_rec_sq)  # (B, G)
        return self.core.transition(u_t, v, state, ops=self.ops)


class Moments:
    """One forward pass's moment propagation: the moment cores and the read-out."""

    def __init__(self, spec: NoiseSpec):
        self.spec = spec

    def core(self, core) -> MomentCore:
        return MomentCore(core, self.spec)

    def readout(self, hs: MeanVar, w_out: torch.Tensor, b_out: torch.Tensor) -> torch.Tensor:
        """Logits whose sigmoid is the mean prediction E[y].

        With ``fd_output`` the output pre-activation a ~ N(m, v) gives E[sigma(a)] ~ sigma(m / sqrt(1 + pi v / 8)),
        the mean the loss is taken on (000 §2.2); without it the output layer is an ordinary forward
        pass on the mean of the hidden units, ignoring their variance (000 "FD for final layer = no").
        ``fd_output`` may be a bool tensor (one per member of a stacked population).
        """
        spec = self.spec
        if spec.fd_output is False:  # the mean alone: no variance to compute
            site_out = spec.site("output")
            hs = unit_moments(hs, site_out, spec)
            return affine(hs.mean, weight_moments(w_out, site_out, spec)[0], b_out)
        a = self.readout_moments(hs, w_out, b_out)
        return _where(spec.fd_output, a.mean / torch.sqrt(1 + math.pi * a.var / 8), a.mean)

    def readout_moments(self, hs: MeanVar, w_out: torch.Tensor, b_out: torch.Tensor) -> MeanVar:
        """Moments of the read-out's pre-activation a = h~ W~_out + b_out, the output site's noise
        propagated (STORN's q takes its variance from here, 002 §4.4)."""
        site_out = self.spec.site("output")
        hs = unit_moments(hs, site_out, self.spec)
        return linear_moments(hs, *weight_moments(w_out, site_out, self.spec), bias=b_out)

    @staticmethod
    def mean(hs: MeanVar) -> torch.Tensor:
        return hs.mean
