"""Initialisation of 002 §1.3.3 / 000 §2.3 (after Sutskever et al. 2013).

Each matrix gets N(0, sigma^2) entries; the sparse init keeps ``nu`` random incoming non-zeros
per unit (column, in the x @ W convention) and zeroes the rest; W_rec is then rescaled so
that its spectral radius is rho (for gated cells: each square gate block).
"""
from __future__ import annotations

from typing import Optional

import torch

from rnnbench.config import setting


@torch.no_grad()
def gaussian_(w: torch.Tensor, var: float) -> torch.Tensor:
    return w.normal_(0.0, var**0.5)


def variance(cfg, value: float) -> float:
    """The variance of a var_* setting: itself, or its square with model.init.scale=std (the authors'
    notebook passes 000 Table 3's "sigma^2" values as standard deviations; protocols.md §1b)."""
    return value**2 if setting(cfg, "scale", "variance") == "std" else value


@torch.no_grad()
def sparsify_(w: torch.Tensor, nu: Optional[int]) -> torch.Tensor:
    """Keep ``nu`` random entries in each column of w (fan_in, fan_out); no-op if nu >= fan_in."""
    fan_in, fan_out = w.shape
    if nu is None or nu >= fan_in:
        return w
    if nu < 1:
        raise ValueError(f"sparsity nu must be >= 1, got {nu}")
    scores = torch.rand(fan_in, fan_out, device=w.device)
    keep = torch.zeros_like(w, dtype=torch.bool)
    keep.scatter_(0, scores.topk(nu, dim=0).indices, True)
    return w.mul_(keep)


def spectral_radius(w: torch.Tensor) -> float:
    """max |eigenvalue| of a square matrix (computed in float64); NaN for a non-finite matrix (a
    diverged run's last epoch)."""
    w = w.detach().double().cpu()
    if not bool(torch.isfinite(w).all()):
        return float("nan")
    return float(torch.linalg.eigvals(w).abs().max())


@torch.no_grad()
def set_spectral_radius_(w: torch.Tensor, rho: Optional[float]) -> torch.Tensor:
    if rho is None:
        return w
    current = spectral_radius(w)
    if current == 0.0:
        raise ValueError("cannot rescale a recurrent matrix whose spectral radius is 0")
    return w.mul_(rho / current)


def _sparse_io(cfg) -> bool:
    """model.init.sparse_io (configs saved before the switch existed: true)."""
    return bool(setting(cfg, "sparse_io", True))


@torch.no_grad()
def init_core_(core, cfg) -> None:
    """Initialise a core's w_in, w_rec and biases from an InitConfig."""
    H = core.hidden_size
    gaussian_(core.w_in, variance(cfg, cfg.var_in))
    if _sparse_io(cfg):
        sparsify_(core.w_in, cfg.sparsity)
    gaussian_(core.w_rec, variance(cfg, cfg.var_rec))
    n_blocks = core.w_rec.shape[1] // H
    for k in range(n_blocks):
        block = core.w_rec[:, k * H : (k + 1) * H]
        sparsify_(block, cfg.sparsity)
        set_spectral_radius_(block, cfg.rho)
    core.b.fill_(cfg.bias_hidden)
    if hasattr(core, "b_rec"):
        core.b_rec.zero_()
    if core.state_names == ("h", "c"):  # LSTM: gate order i, f, g, o
        core.b[H : 2 * H] += cfg.forget_bias
    if setting(cfg, "h0", "zero") == "gaussian":  # breze draws every parameter, the initial state included
        for name in core.state_names:
            gaussian_(getattr(core, f"{name}0"), variance(cfg, cfg.var_rec))


@torch.no_grad()
def init_readout_(w_out: torch.Tensor, b_out: torch.Tensor, cfg) -> None:
    gaussian_(w_out, variance(cfg, cfg.var_out))
    if _sparse_io(cfg):
        sparsify_(w_out, cfg.sparsity)
    b_out.fill_(cfg.bias_out)  # b_y = -0.8 (002): sparse piano rolls
