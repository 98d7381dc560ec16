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


def _transition_counts(rolls: list, predict_first: bool) -> tuple[torch.Tensor, int]:
    """(4, D) how often each note goes off->off, off->on, on->off, on->on between consecutive predicted
    frames (the frame before the first is silence where it is predicted), and the number of frames."""
    counts, frames = None, 0
    for roll in rolls:
        roll = torch.as_tensor(roll).bool()
        if predict_first:
            roll = torch.cat([torch.zeros_like(roll[:1]), roll])
        code = 2 * roll[:-1].long() + roll[1:].long()  # (T-1, D): 2 prev + cur
        c = torch.stack([(code == k).sum(0, dtype=torch.float64) for k in range(4)])
        counts = c if counts is None else counts + c
        frames += roll.shape[0] - 1
    return counts, frames


def copy_previous_nll(train: list, split: list, predict_first: bool = False) -> float:
    """NLL per predicted frame of ``split`` when note i is on with P(on | on before) or P(on | off before),
    fitted on ``train``: from transition counts, without building the frames (a run's status floor)."""
    fit, _ = _transition_counts(train, predict_first)
    on_after_on = (fit[3] / (fit[2] + fit[3]).clamp_min(1)).clamp(EPS, 1 - EPS)
    on_after_off = (fit[1] / (fit[0] + fit[1]).clamp_min(1)).clamp(EPS, 1 - EPS)
    n, frames = _transition_counts(split, predict_first)
    total = (n[0] * (1 - on_after_off).log() + n[1] * on_after_off.log()
             + n[2] * (1 - on_after_on).log() + n[3] * on_after_on.log()).sum()
    return float(-total / frames)


def music_floors(train: list, split: list, predict_first: bool = False) -> dict[str, float]:
    """NLL per predicted frame of ``split`` under the two music floors fitted on ``train``."""
    return {"note_frequency": note_frequency_nll(train, split, predict_first),
            "copy_previous": copy_previous_nll(train, split, predict_first)}


def unigram_perplexity(train: torch.Tensor, stream: torch.Tensor, vocab_size: int) -> float:
    """Perplexity of ``stream`` (token ids) under the add-one-smoothed training unigram."""
    counts = torch.bincount(train.long().flatten(), minlength=vocab_size).double() + 1.0
    log_p = (counts / counts.sum()).log()
    return math.exp(-float(log_p[stream.long().flatten()].mean()))


def train_mean_rmse(train_targets: torch.Tensor, targets: torch.Tensor) -> float:
    """RMSE of predicting the training mean for every target (same scale as the targets)."""
    mean = train_targets.double().mean()
    return float(((targets.double() - mean) ** 2).mean().sqrt())
