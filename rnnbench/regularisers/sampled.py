"""The sampled forward pass: dropout masks and weight noise drawn per step or per sequence, or
replaced by their expectation for deterministic evaluation (weight scaling).

Sites (000 §2.3 separates them): input = the inputs into W_in, recurrent = h_{t-1} into W_rec,
output = h_t into W_out, cell = the LSTM cell state (RNNDrop, Moon et al. 2015). A dropout site
masks the units entering its matrix; a weight-noise site corrupts the matrix itself. With
``tied=False`` input and recurrent masks are drawn per gate (003 §4, "untied").
"""
from __future__ import annotations

from typing import Optional

import torch

from rnnbench.regularisers.sampling import NoiseDraw, per_step, word_type_mask
from rnnbench.regularisers.spec import NoiseSpec


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
    if w_in.shape[0] == 1:
        return x @ w_in[0] + w["b"]
    return torch.einsum("btd,tdg->btg", x, w_in) + w["b"]  # a fresh W_in at every step (001 §8.2)


def embed(tokens: torch.Tensor, table: torch.Tensor, spec: NoiseSpec, sample: bool) -> torch.Tensor:
    """Embedding lookup (B, T) -> (B, T, E) with the embedding site's word-type dropout (003 §4):
    sampled per sequence, or at its expectation for deterministic evaluation."""
    x = torch.nn.functional.embedding(tokens, table)
    site = spec.site("embedding")
    if not site.active:
        return x
    if sample:  # the same word gets the same mask within the sequence
        return x * word_type_mask(tokens, table.shape[0], site, spec.scale(site)).to(x.dtype)
    factor = spec.mean_factor(site)
    return x if factor == 1.0 else x * factor


def sampled_layer(core, x: torch.Tensor, spec: NoiseSpec, draw: NoiseDraw,
                  step_mask: Optional[torch.Tensor] = None, state=None) -> tuple[torch.Tensor, tuple]:
    """One recurrent layer over x (B, T, D) with the input, recurrent and cell sites' noise,
    from ``state`` (default: the initial state); returns the hidden sequence (B, T, H) and the
    final state. Stacked layers call it once per layer."""
    w = core.weights()
    B, T, _ = x.shape
    H = core.hidden_size
    u = _input_contribution(core, x, w, spec, draw)  # (B, T, G)
    rec = spec.site("recurrent")
    gates = core.n_gates if not spec.tied else 1
    rec_mask = draw.unit_mask(rec, (B, H), gates)  # (n, g, B, H)
    rec_w = draw.weight(rec, w["w_rec"])  # (n, H, G)
    cell_mask = draw.unit_mask(spec.site("cell"), (B, H))  # (n, 1, B, H)

    state = core.initial_state(B, w) if state is None else state
    hs = []
    steps = zip(u.unbind(1), per_step(rec_mask, T), per_step(rec_w, T), per_step(cell_mask, T))
    for t, (u_t, m, w_rec, cm) in enumerate(steps):
        h = state[0]
        if m is not None and m.shape[0] > 1:  # untied: a mask per gate
            v = core.recurrent_input(h.unsqueeze(0) * m, w, per_gate=True)
        else:
            v = core.recurrent_input(h if m is None else h * m[0], w if w_rec is None else {**w, "w_rec": w_rec})
        y, new = core.transition(u_t, v, state, cell_mask=None if cm is None else cm[0])
        if step_mask is not None:
            keep = step_mask[:, t, None]
            new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
        state = new
        hs.append(y)
    return torch.stack(hs, dim=1), state  # (B, T, H)


def sampled_readout(hs: torch.Tensor, w_out: torch.Tensor, b_out: torch.Tensor, spec: NoiseSpec,
                    draw: NoiseDraw) -> torch.Tensor:
    """The output site's noise, then hs W_out + b_out: (B, T, D_out)."""
    out = spec.site("output")
    out_mask = draw.unit_mask(out, (hs.shape[0], hs.shape[2]))  # (n, 1, B, H)
    if out_mask is not None:
        hs = hs * out_mask[:, 0].transpose(0, 1)  # (B, T|1, H)
    w_noisy = draw.weight(out, w_out)  # (n, H, D)
    if w_noisy is None:
        return hs @ w_out + b_out
    if w_noisy.shape[0] == 1:
        return hs @ w_noisy[0] + b_out
    return torch.einsum("bth,thd->btd", hs, w_noisy) + b_out


def sampled_forward(model, x: torch.Tensor, spec: NoiseSpec, *, mean: bool,
                    step_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Logits (B, T, D_out) with the spec's noise sampled (mean=False) or at its expectation."""
    draw = NoiseDraw(spec, mean, x.shape[1], x.device, x.dtype)
    hs, _ = sampled_layer(model.core, x, spec, draw, step_mask)
    return sampled_readout(hs, model.w_out, model.b_out, spec, draw)
