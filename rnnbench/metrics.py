"""The papers' loss and metric (protocols.md §1): Bernoulli NLL summed over the 88 notes,
averaged over predicted frames.

Headline = frame-weighted: total NLL of all predicted frames / number of predicted frames (the
authors' breze code, pyro's DMM, FIVO). Also reported: the mean over sequences of each
sequence's average (chunks of one sequence count as that sequence).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rnnbench.data.batches import Split


def frame_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, T) NLL of each frame: binary cross-entropy summed over the notes."""
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(-1)


def masked(frames: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Per-frame values where ``loss_mask`` is True, exactly 0 elsewhere (padding, unpredicted
    frames), even where the value there is inf or NaN."""
    return torch.where(loss_mask, frames, 0.0)


def masked_nll_sum(logits: torch.Tensor, targets: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """Total NLL over the frames where ``loss_mask`` is True; padded frames add exactly 0."""
    return masked(frame_nll(logits, targets), loss_mask).sum()


def batch_loss(frames: torch.Tensor, loss_mask: torch.Tensor, padded: bool) -> torch.Tensor:
    """The training loss of a (..., B, T) batch of per-frame NLLs, one value per leading index:
    the mean over the predicted frames (``loss_mask``; 000 §3.1), or with ``padded`` the mean over
    every position of the padded chunk batch, padding included (breze: ``loss_row_wise.mean()``;
    protocols.md §1b, train.loss=padded)."""
    if padded:
        return frames.mean(dim=(-2, -1))
    return masked(frames, loss_mask).sum(dim=(-2, -1)) / loss_mask.sum(dim=(-2, -1))


@dataclass
class NLL:
    nll: float  # frame-weighted: total / frames
    nll_seq_mean: float  # mean over sequences of per-sequence averages
    total: float
    frames: int


def mc_frame_nll(model, inputs, targets, step_mask, samples: int) -> torch.Tensor:
    """(B, T) NLL of the Monte Carlo predictive distribution: the probabilities of ``samples``
    stochastic passes are averaged, then the log is taken (003 §5; protocols.md §3), in log space:
    log mean_k sigma(l_k) = logsumexp_k log sigma(l_k) - log K, and likewise for 1 - p."""
    log_on = log_off = None
    for _ in range(samples):
        logits = model(inputs, step_mask, sample=True)
        on, off = F.logsigmoid(logits), F.logsigmoid(-logits)
        log_on = on if log_on is None else torch.logaddexp(log_on, on)
        log_off = off if log_off is None else torch.logaddexp(log_off, off)
    log_k = math.log(samples)
    return -(targets * (log_on - log_k) + (1 - targets) * (log_off - log_k)).sum(-1)


def per_sequence_totals(frame_losses, split: Split, batch_size: int, dtype: torch.dtype,
                        use_step_mask: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum ``frame_losses(inputs, targets, step_mask, loss_mask)`` -> (..., B, T) over the predicted
    frames of each sequence, in batches of rows of similar length (chunks of one sequence count as
    that sequence). Returns the totals (..., n_seqs) and the frame counts (n_seqs,), in float64."""
    device = split.inputs.device
    n_seqs = int(split.seq_id.max()) + 1 if len(split) else 0
    seq_total, seq_frames = None, torch.zeros(n_seqs, dtype=torch.float64, device=device)
    order = torch.argsort(split.lengths, descending=True, stable=True)
    for index in order.split(batch_size):
        inputs, targets, loss_mask, step_mask = split.rows(index, dtype)
        nll = masked(frame_losses(inputs, targets, step_mask if use_step_mask else None, loss_mask), loss_mask)
        if seq_total is None:
            seq_total = torch.zeros(*nll.shape[:-2], n_seqs, dtype=torch.float64, device=device)
        seq_total.index_add_(seq_total.dim() - 1, split.seq_id[index], nll.sum(-1).double())
        seq_frames.index_add_(0, split.seq_id[index], loss_mask.sum(1).double())
    return (torch.zeros_like(seq_frames) if seq_total is None else seq_total), seq_frames


@torch.no_grad()
def evaluate(model, split: Split, batch_size: int, dtype: torch.dtype, use_step_mask: bool = False,
             mc_samples: int = 0) -> NLL | list[NLL]:
    """NLL of ``model`` on ``split``: deterministic (the noise at its expectation, or propagated as
    moments), or Monte Carlo with ``mc_samples`` > 0. The music task's one evaluator: a stacked
    population (rnnbench/models/stack.py) gets one NLL per member, on the same batches."""
    was_training = model.training
    model.eval()
    if mc_samples:
        def frame_losses(inputs, targets, step_mask, loss_mask):
            return mc_frame_nll(model, inputs, targets, step_mask, mc_samples)
    else:
        frame_losses = model.frame_losses
    seq_total, seq_frames = per_sequence_totals(frame_losses, split, batch_size, dtype, use_step_mask)
    model.train(was_training)
    return summary(seq_total, seq_frames) if seq_total.dim() == 1 else [summary(t, seq_frames) for t in seq_total]


def summary(seq_total: torch.Tensor, seq_frames: torch.Tensor) -> NLL:
    """The frame-weighted NLL and the mean of per-sequence averages from per-sequence totals."""
    total, frames = float(seq_total.sum()), int(seq_frames.sum())
    has = seq_frames > 0
    per_seq = float((seq_total[has] / seq_frames[has]).mean()) if bool(has.any()) else float("nan")
    return NLL(nll=total / frames if frames else float("nan"), nll_seq_mean=per_seq, total=total, frames=frames)


BREZE_Q_VAR_OFFSET = 1e-4  # breze DiagGaussLatentAssumption.nll_recog_model: diag_gauss_nll(Z, stt, 1e-4)


def first_frames(loss_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) bool: each row's first predicted frame."""
    return loss_mask & (loss_mask.cumsum(1) == 1)


@dataclass
class Bound:
    """STORN's importance-sampled NLL, its negative ELBO from the same draws, and the Monte Carlo
    standard error of the first (per predicted frame, delta method over each row's K weights)."""

    nll: NLL
    elbo: NLL
    se: float


ROW_STEPS = 128  # eval.is_batch counts rows of up to this many steps; longer rows are fewer per pass


def _row_budget(steps: int, max_rows: int) -> int:
    """Rows per pass for rows of ``steps`` steps: rows x steps <= max_rows x ROW_STEPS (memory ~ rows x T x H;
    MuseData's longest test piece has 4,273 steps)."""
    return max(1, max_rows * ROW_STEPS // max(steps, ROW_STEPS))


def _batches(split: Split, samples: int, max_rows: int) -> list[torch.Tensor]:
    """Groups of rows, longest first, each small enough for ``samples`` draws of every row to fit
    the row budget (a group of one row when even one row's draws do not: they are then split)."""
    order = torch.argsort(split.lengths, descending=True, stable=True)
    groups, i = [], 0
    while i < len(order):
        n = max(1, _row_budget(split.width(order[i : i + 1]), max_rows) // samples)
        groups.append(order[i : i + n])
        i += n
    return groups


def _log_weights(model, split: Split, index, samples: int, dtype, use_step_mask: bool, max_rows: int,
                 skip_first: bool = False, q_var_offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, B) log weights of the rows ``index``, in passes of at most ``max_rows`` rows, and the
    (B, T) frames they count (``skip_first``: without each row's first frame; every step still
    draws its z and counts its latent terms)."""
    inputs, targets, loss_mask, step_mask = split.rows(index, dtype)
    mask = step_mask if use_step_mask else None
    counted = loss_mask & ~first_frames(loss_mask) if skip_first else loss_mask
    per_pass = max(1, _row_budget(inputs.shape[1], max_rows) // len(index))
    log_w = torch.cat([model.log_weights(inputs, targets, counted, mask, samples=min(per_pass, samples - done),
                                         latent_mask=loss_mask, q_var_offset=q_var_offset)
                       for done in range(0, samples, per_pass)])  # (K, B)
    return log_w, counted


@torch.no_grad()
def importance_nll(model, split: Split, samples: int, dtype: torch.dtype, use_step_mask: bool = False,
                   max_rows: int = 1024, skip_first: bool = False, progress=None) -> Bound:
    """STORN's NLL estimate by importance sampling (Rezende et al. 2014; 002 §4.4.1) and its
    negative ELBO, from the same K = ``samples`` draws z_k ~ q(z | x) per row (a test sequence, or a
    chunk): -log (1/K sum_k p(x, z_k) / q(z_k | x)) and -(1/K) sum_k log (p(x, z_k) / q(z_k | x)),
    in float64, log q at the variance z was drawn with, normalised per predicted frame like every
    other music NLL. By Jensen the first is never above the second; it is an upper bound on the NLL
    that tightens as K grows. ``skip_first`` (a split laid out with dataset.predict_first=true):
    the first frame's likelihood is left out, so the bound is on the T - 1 frames of the papers'
    protocol (its z is still drawn and weighted: later frames depend on it). ``progress(n)``, if given, is
    called with the real steps of each group of rows when it is done (they sum to ``split.lengths``')."""
    if samples < 1:
        raise ValueError(f"importance sampling needs at least 1 sample, got {samples}")
    was_training = model.training
    model.eval()
    device = split.inputs.device
    n_seqs = int(split.seq_id.max()) + 1 if len(split) else 0
    is_total, elbo_total, seq_frames, var_total = (torch.zeros(n_seqs, dtype=torch.float64, device=device)
                                                   for _ in range(4))
    for index in _batches(split, samples, max_rows):
        log_w, counted = _log_weights(model, split, index, samples, dtype, use_step_mask, max_rows, skip_first)
        seq = split.seq_id[index]
        lse = torch.logsumexp(log_w, 0)
        is_total.index_add_(0, seq, -(lse - math.log(samples)))
        elbo_total.index_add_(0, seq, -log_w.mean(0))
        seq_frames.index_add_(0, seq, counted.sum(1).double())
        if samples > 1:  # delta method: var(log mean w) ~ var(w) / (K mean(w)^2), w scaled by its max
            w = torch.exp(log_w - log_w.max(0).values)
            var_total.index_add_(0, seq, w.var(0) / (samples * w.mean(0) ** 2))
        if progress is not None:
            progress(int(split.lengths[index].sum()))
    model.train(was_training)
    frames = float(seq_frames.sum())
    se = math.sqrt(float(var_total.sum())) / frames if samples > 1 and frames else float("nan")
    return Bound(summary(is_total, seq_frames), summary(elbo_total, seq_frames), se)


@torch.no_grad()
def breze_importance_nll(model, split: Split, samples: int, dtype: torch.dtype, use_step_mask: bool = False,
                         max_rows: int = 1024) -> float:
    """breze's ``estimate_nll`` (learn/sgvb.py; protocols.md §1b) as a reading, not a bound to report
    alone: every frame the split predicts (with dataset.predict_first=true: the first one too), log q
    evaluated at var + 1e-4 while z is drawn with var, the log weights of every sequence summed before
    one log-sum-exp over the K draws, divided by the number of frames. Summing first makes the
    K-sample average one over the whole set (close to the ELBO, not the per-sequence bound); the
    offset makes it optimistic where var << 1e-4."""
    if samples < 1:
        raise ValueError(f"importance sampling needs at least 1 sample, got {samples}")
    was_training = model.training
    model.eval()
    total = torch.zeros(samples, dtype=torch.float64, device=split.inputs.device)
    frames = 0
    for index in _batches(split, samples, max_rows):
        log_w, counted = _log_weights(model, split, index, samples, dtype, use_step_mask, max_rows,
                                      q_var_offset=BREZE_Q_VAR_OFFSET)
        total += log_w.sum(1)
        frames += int(counted.sum())
    model.train(was_training)
    return float(-(torch.logsumexp(total, 0) - math.log(samples))) / frames
