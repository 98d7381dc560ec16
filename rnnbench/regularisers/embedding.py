"""Embedding dropout (Gal & Ghahramani 2016; 003 §4): word *types* are dropped, the same mask for every
occurrence of a word within a sequence, sampled per sequence, or at its expectation for deterministic
evaluation."""
from __future__ import annotations

import torch

from rnnbench.regularisers.spec import NoiseSpec, Site


def word_type_mask(tokens: torch.Tensor, vocab_size: int, site: Site, scale: float) -> torch.Tensor:
    """(B, T, 1) embedding-dropout mask that drops word *types* (003 §4): one Bernoulli draw per
    sequence and vocabulary entry, looked up by token, so every occurrence of a word in a
    sequence is kept or dropped together. ``tokens`` (B, T) are integer word ids."""
    keep = torch.full((tokens.shape[0], vocab_size), site.keep, device=tokens.device)
    per_type = torch.bernoulli(keep).mul_(scale)  # (B, V)
    return per_type.gather(1, tokens).unsqueeze(-1)


def embed(tokens: torch.Tensor, table: torch.Tensor, spec: NoiseSpec, sample: bool) -> torch.Tensor:
    """Embedding lookup (B, T) -> (B, T, E) with the embedding site's word-type dropout."""
    x = torch.nn.functional.embedding(tokens, table)
    site = spec.site("embedding")
    if not site.active:
        return x
    if sample:  # the same word gets the same mask within the sequence
        return x * word_type_mask(tokens, table.shape[0], site, spec.scale(site)).to(x.dtype)
    factor = spec.mean_factor(site)
    return x if factor == 1.0 else x * factor
