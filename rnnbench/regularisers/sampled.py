"""The sampled realisation: dropout masks and weight noise drawn per step or per sequence, or replaced
by their expectation for deterministic evaluation (weight scaling).

Sites (000 §2.3 separates them): input = the inputs into W_in, recurrent = h_{t-1} into W_rec,
output = h_t into W_out, cell = the cell's state update (RNNDrop, zoneout: registry.py). A dropout
site masks the units entering its matrix; a weight-noise site corrupts the matrix itself. With
``tied=False`` input and recurrent masks are drawn per gate (003 §4, "untied").
"""
from __future__ import annotations

import torch

from rnnbench.affine import affine
from rnnbench.regularisers.plain import Plain
from rnnbench.regularisers.sampling import NoiseDraw, per_step, stacked
from rnnbench.regularisers.spec import NoiseSpec
from rnnbench.regularisers.registry import noise_kind


def _input_contribution(core, x, w, spec: NoiseSpec, draw: NoiseDraw) -> torch.Tensor:
    """u (B, T, G) = x~ W~_in + b."""
    site = spec.site("input")
    B, T, D = x.shape
    gates = core.n_gates if not spec.tied else 1
    mask = draw.unit_mask(site, (B, D), gates)  # (n, g, B, D)
    if mask is not None:
        x = x.unsqueeze(0) * mask.permute(1, 2, 0, 3)  # (g, B, T|1 -> T, D)
        return core.project(x, w, per_gate=True) if x.shape[0] > 1 else core.project(x[0], w)
    w_in = draw.weight(site, w["w_in"])  # (n, D, G)
    if w_in is None:
        return core.project(x, w)
    if len(w_in) == 1:
        return affine(x, w_in[0], w["b"])
    return torch.einsum("btd,tdg->btg", x, stacked(w_in)) + w["b"]  # a fresh W_in at every step (001 §8.2)


class SampledCore:
    """A core with the input, recurrent and cell sites' noise of one batch (rnnbench/models/unroll.py runs it)."""

    def __init__(self, core, spec: NoiseSpec, draw: NoiseDraw):
        self.core, self.spec, self.draw = core, spec, draw
        self.state_noise = noise_kind("cell", spec.site("cell"))  # RNNDrop, zoneout, or none

    def initial_state(self, batch_size: int):
        return self.core.initial_state(batch_size)

    def prepare(self, x: torch.Tensor):
        """Per step: (u_t, recurrent mask, noisy W_rec, the cell site's draw), drawn in that order; an
        iterator, so that a per-step W_rec drawn on the CPU is made when its step comes (cpu_draws.Steps)."""
        core, spec, draw = self.core, self.spec, self.draw
        self.w = w = core.weights()
        B, T, _ = x.shape
        u = _input_contribution(core, x, w, spec, draw)  # (B, T, G)
        rec = spec.site("recurrent")
        gates = core.n_gates if not spec.tied else 1
        rec_mask = draw.unit_mask(rec, (B, core.hidden_size), gates)  # (n, g, B, H)
        rec_w = draw.weight(rec, w["w_rec"])  # (n, H, G)
        cell = self.state_noise.draw(draw, spec.site("cell"), core, B)
        return zip(u.unbind(1), per_step(rec_mask, T), per_step(rec_w, T), cell)

    def step(self, x_t, state):
        u_t, m, w_rec, cell = x_t
        core, w, h = self.core, self.w, state[0]
        if m is not None and m.shape[0] > 1:  # untied: a mask per gate
            v = core.recurrent_input(h.unsqueeze(0) * m, w, per_gate=True)
        else:
            v = core.recurrent_input(h if m is None else h * m[0], w if w_rec is None else {**w, "w_rec": w_rec})
        return self.state_noise.transition(core, u_t, v, state, cell)


class Sampled(Plain):
    """One forward pass's sampled noise: the noisy cores (one per layer) and the noisy read-out."""

    def __init__(self, spec: NoiseSpec, draw: NoiseDraw):
        self.spec, self.draw = spec, draw

    def core(self, core) -> SampledCore:
        return SampledCore(core, self.spec, self.draw)

    def readout(self, hs: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor) -> torch.Tensor:
        """The output site's noise, then hs W_out + b_out: (B, T, D_out)."""
        out = self.spec.site("output")
        out_mask = self.draw.unit_mask(out, (hs.shape[0], hs.shape[2]))  # (n, 1, B, H)
        if out_mask is not None:
            hs = hs * out_mask[:, 0].transpose(0, 1)  # (B, T|1, H)
        w_noisy = self.draw.weight(out, w_out)  # (n, H, D)
        if w_noisy is None:
            return affine(hs, w_out, b_out)
        if len(w_noisy) == 1:
            return affine(hs, w_noisy[0], b_out)
        return torch.einsum("bth,thd->btd", hs, stacked(w_noisy)) + b_out
