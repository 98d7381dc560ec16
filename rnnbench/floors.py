"""Trivial reference models ("floors"), fitted on the training split only.

A trained model that does not beat these has learnt nothing; rnnbench uses them as reference rows
in the reproduction tables (rnnbench/tools/reproduce/) and as the line a run must stay below to count
as converging (the divergence rule, rnnbench/engine/loop.py).

- music, ``note_frequency``: p(x_t,i = 1) = the training frequency of note i, whatever came before
  (88 independent Bernoullis);
- music, ``copy_previous``: p(x_t,i = 1) = P(on | the note was on at t-1) or P(on | it was off),
  two probabilities per note fitted on the training transitions: "copy the previous frame", smoothed
  so that its NLL is finite;
- PTB, ``unigram``: p(w) = the word's training frequency (add-one smoothed);
- sentiment, ``train_mean``: predict the training mean rating (RMSE on the [0, 1] scale).

Music NLLs follow the metric of rnnbench/metrics.py: nats per predicted frame, the first frame of
each sequence not predicted (000 normalises by T-1), frame-weighted over the split.
"""
from __future__ import annotations

import math

import torch

EPS = 1e-6  # keeps the probabilities of never-seen events inside (0, 1)


def _bernoulli_nll(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(..., D) probabilities and binary targets -> (...) NLL summed over the notes."""
    p = p.clamp(EPS, 1 - EPS)
    return -(x * p.log() + (1 - x) * (1 - p).log()).sum(-1)


def _pairs(rolls: list[torch.Tensor], predict_first: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (previous frame, frame) pair of the predicted frames, stacked: (N, D) each."""
    prev, cur = [], []
    for roll in rolls:
        roll = torch.as_tensor(roll, dtype=torch.float64)
        if predict_first:
            roll = torch.cat([torch.zeros_like(roll[:1]), roll])
        prev.append(roll[:-1])
        cur.append(roll[1:])
    return torch.cat(prev), torch.cat(cur)


def _note_counts(rolls: list, predict_first: bool) -> tuple[torch.Tensor, int]:
    """(D,) how often each note is on in the predicted frames, and how many frames are predicted."""
    on, frames = None, 0
    for roll in rolls:
        roll = torch.as_tensor(roll)
        predicted = roll if predict_first else roll[1:]  # the first frame is predicted from a zero input
        counts = predicted.sum(0, dtype=torch.float64)
        on = counts if on is None else on + counts
        frames += len(predicted)
    return on, frames


def note_frequency_nll(train: list, split: list, predict_first: bool = False) -> float:
    """NLL per predicted frame of ``split`` when each note is on with its training frequency: from
    per-note counts, sum_i on_i log p_i + off_i log(1 - p_i), without building the frames (the
    divergence rule's floor, computed at the start of every run)."""
    train_on, train_frames = _note_counts(train, predict_first)
    p = (train_on / train_frames).clamp(EPS, 1 - EPS)  # (D,) P(note on)
    on, frames = _note_counts(split, predict_first)
    return float(-(on * p.log() + (frames - on) * (1 - p).log()).sum() / frames)


def music_floors(train: list, split: list, predict_first: bool = False) -> dict[str, float]:
    """NLL per predicted frame of ``split`` under the two music floors fitted on ``train``."""
    train_prev, train_cur = _pairs(train, predict_first)
    prev, cur = _pairs(split, predict_first)
    on_after_on = (train_cur * train_prev).sum(0) / train_prev.sum(0).clamp_min(1)
    on_after_off = (train_cur * (1 - train_prev)).sum(0) / (1 - train_prev).sum(0).clamp_min(1)
    copy = prev * on_after_on + (1 - prev) * on_after_off  # (N, D)
    return {
        "note_frequency": note_frequency_nll(train, split, predict_first),
        "copy_previous": float(_bernoulli_nll(copy, cur).mean()),
    }


def unigram_perplexity(train: torch.Tensor, stream: torch.Tensor, vocab_size: int) -> float:
    """Perplexity of ``stream`` (token ids) under the add-one-smoothed training unigram."""
    counts = torch.bincount(train.long().flatten(), minlength=vocab_size).double() + 1.0
    log_p = (counts / counts.sum()).log()
    return math.exp(-float(log_p[stream.long().flatten()].mean()))


def train_mean_rmse(train_targets: torch.Tensor, targets: torch.Tensor) -> float:
    """RMSE of predicting the training mean for every target (same scale as the targets)."""
    mean = train_targets.double().mean()
    return float(((targets.double() - mean) ** 2).mean().sqrt())
