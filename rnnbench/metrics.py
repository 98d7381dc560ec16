"""The papers' loss and metric (protocols.md §1): Bernoulli NLL summed over the 88 notes,
averaged over predicted frames.

Headline = frame-weighted: total NLL of all predicted frames / number of predicted frames (the
authors' breze code, pyro's DMM, FIVO). Also reported: the mean over sequences of each
sequence's average (chunks of one sequence count as that sequence).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rnnbench.data.batches import Split


def frame_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T) NLL of each frame: binary cross-entropy summed over the notes."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)


def masked_nll_sum(logits: torch.Tensor, targets: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Total NLL over the frames where ``loss_mask`` is True; padded frames add exactly 0."""
    nll = frame_nll(logits, targets)
    return torch.where(loss_mask, nll, torch.zeros_like(nll)).sum()


@dataclass
class NLL:
    nll: float  # frame-weighted: total / frames
    nll_seq_mean: float  # mean over sequences of per-sequence averages
    total: float
    frames: int


@torch.no_grad()
def evaluate(model, split: Split, batch_size: int, dtype: torch.dtype, use_step_mask: bool = False) -> NLL:
    """Deterministic NLL of ``model`` on ``split``, in batches of rows of similar length."""
    was_training = model.training
    model.eval()
    device = split.inputs.device
    n_seqs = int(split.seq_id.max()) + 1 if len(split) else 0
    seq_total = torch.zeros(n_seqs, dtype=torch.float64, device=device)
    seq_frames = torch.zeros(n_seqs, dtype=torch.float64, device=device)
    order = torch.argsort(split.lengths, descending=True, stable=True)
    for index in order.split(batch_size):
        inputs, targets, loss_mask, step_mask = split.rows(index, dtype)
        logits = model(inputs, step_mask if use_step_mask else None)
        nll = torch.where(loss_mask, frame_nll(logits, targets), torch.zeros((), dtype=logits.dtype, device=device))
        seq_total.index_add_(0, split.seq_id[index], nll.sum(1).double())
        seq_frames.index_add_(0, split.seq_id[index], loss_mask.sum(1).double())
    model.train(was_training)
    total, frames = float(seq_total.sum()), int(seq_frames.sum())
    has = seq_frames > 0
    per_seq = float((seq_total[has] / seq_frames[has]).mean()) if bool(has.any()) else float("nan")
    return NLL(nll=total / frames if frames else float("nan"), nll_seq_mean=per_seq, total=total, frames=frames)
