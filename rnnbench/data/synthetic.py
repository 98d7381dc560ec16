"""A small generated piano-roll data set: a few voices wander by small steps over a scale.

Frames depend on the previous ones (each voice moves at most two scale steps), so a recurrent
net can learn it in seconds; generation is seeded by ``data_seed`` alone, independent of the
training seed.
"""
from __future__ import annotations

import torch

from rnnbench.data.pianoroll import LOWEST_NOTE, N_NOTES

_C_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_SCALE = [LOWEST_NOTE + o + 12 * k for k in range(8) for o in _C_MAJOR if LOWEST_NOTE + o + 12 * k < LOWEST_NOTE + N_NOTES]


def _sequence(length: int, n_voices: int, g: torch.Generator) -> torch.Tensor:
    roll = torch.zeros(length, N_NOTES, dtype=torch.uint8)
    lo, hi = 20, 36  # scale degrees of the voices' home range (about C4..C6)
    pos = torch.randint(lo, hi, (n_voices,), generator=g)
    for t in range(length):
        move = torch.randint(-2, 3, (n_voices,), generator=g)
        hold = torch.rand(n_voices, generator=g) < 0.5
        pos = torch.where(hold, pos, (pos + move).clamp(lo, hi))
        for p in pos.tolist():
            roll[t, _SCALE[p] - LOWEST_NOTE] = 1
    return roll


def make_synthetic(cfg) -> dict[str, list]:
    g = torch.Generator().manual_seed(cfg.data_seed)
    counts = {"train": cfg.n_train, "valid": cfg.n_valid, "test": cfg.n_test}
    out = {}
    for split, n in counts.items():
        lengths = torch.randint(cfg.min_len, cfg.max_len + 1, (n,), generator=g).tolist()
        out[split] = [_sequence(L, cfg.n_voices, g) for L in lengths]
    return out
