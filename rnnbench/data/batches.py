"""From piano rolls to device-resident, padded next-step-prediction tensors (000 §3.1).

A sequence of frames x_1..x_L becomes step pairs (input, target):

    predict_first=False (000 normalises by T-1):   inputs x_1..x_{L-1}    targets x_2..x_L
    predict_first=True:                             inputs 0, x_1..x_{L-1} targets x_1..x_L

Training and validation sequences are first cut into chunks of ``chunk_len`` frames, each an
independent sequence; short chunks are padded at the front, as 000 prepends zeros:

    frames (chunk_len 6, L 4):  0  0  a  b  c  d
    inputs:                         0  0  a  b  c     <- the net reads the padding zeros
    targets:                        .  .  b  c  d     (a is the chunk's first frame: not predicted)
    loss mask:                      0  0  1  1  1

The test set keeps full sequences, padded at the end (which cannot affect earlier steps).
Every split is moved to the device once; batches are index selections on the device.

The authors' code (breze; protocols.md §1b) pads the chunk's frames first and then shifts, and
averages the loss over every position, padding included: its targets at the padding are zeros
except at the last padding step, which predicts the chunk's first frame (``padded_targets``):

    padded_targets:                 0  a  b  c  d     (train.loss=padded: every position counts)
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Optional

import torch


def chunk(seqs: list[torch.Tensor], chunk_len: int) -> tuple[list[torch.Tensor], list[int]]:
    """Cut each (T, D) sequence into consecutive pieces of at most ``chunk_len`` frames.

    Returns the pieces and, for each, the index of the sequence it came from.
    """
    pieces, owners = [], []
    for i, seq in enumerate(seqs):
        for start in range(0, len(seq), chunk_len):
            pieces.append(seq[start : start + chunk_len])
            owners.append(i)
    return pieces, owners


@dataclass
class Split:
    """A split on the device: rows are sequences (or chunks), padded to a common length.

    inputs, targets: (N, T, D) uint8; loss_mask: (N, T) bool, the predicted frames;
    step_mask: (N, T) bool, the steps that are not padding; seq_id: (N,) the sequence each
    row belongs to (chunks of one sequence share it); lengths: (N,) real steps per row.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    loss_mask: torch.Tensor
    step_mask: torch.Tensor
    seq_id: torch.Tensor
    lengths: torch.Tensor
    pad_front: bool
    padded_targets: Optional[torch.Tensor] = None  # chunked splits: breze's targets, padding included

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def head(self, n: int) -> "Split":
        """The split of its first ``n`` rows."""
        if n >= len(self):
            return self
        return replace(self, **{f.name: getattr(self, f.name)[:n] for f in fields(self)
                                if isinstance(getattr(self, f.name), torch.Tensor)})

    @property
    def n_frames(self) -> int:
        return int(self.loss_mask.sum())

    def width(self, index: torch.Tensor) -> int:
        """The steps of a batch of rows ``index``: chunks all span the padded width; full test
        sequences are cut to the longest of them (one sync per batch)."""
        return self.inputs.shape[1] if self.pad_front else int(self.lengths[index].max())

    def rows(self, index: torch.Tensor, dtype: torch.dtype, padded: bool = False):
        """Batch of rows ``index``, cut to the longest of them; (inputs, targets, loss_mask, step_mask).
        ``padded``: the targets of breze's layout (``padded_targets``; chunked splits only)."""
        T = self.width(index)
        cols = slice(self.inputs.shape[1] - T, None) if self.pad_front else slice(0, T)
        if padded and self.padded_targets is None:
            raise ValueError("padded targets exist for chunked splits only")
        return (
            self.inputs[index, cols].to(dtype),
            (self.padded_targets if padded else self.targets)[index, cols].to(dtype),
            self.loss_mask[index, cols],
            self.step_mask[index, cols],
        )


def step_pairs(seq: torch.Tensor, predict_first: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) for next-step prediction of ``seq`` (L, D)."""
    if predict_first:
        inputs = torch.cat([torch.zeros_like(seq[:1]), seq[:-1]])
        return inputs, seq
    return seq[:-1], seq[1:]


def make_split(
    seqs: list[torch.Tensor],
    *,
    predict_first: bool,
    chunk_len: int | None,
    device: torch.device | str = "cpu",
) -> Split:
    """Pad (and, with ``chunk_len``, chunk and front-pad) ``seqs`` into one Split on ``device``."""
    if chunk_len is not None:
        pieces, owners = chunk(seqs, chunk_len)
        # Every chunk spans chunk_len frames after front padding (000 §3.1).
        width = chunk_len if predict_first else chunk_len - 1
        pad_front = True
    else:
        pieces, owners = seqs, list(range(len(seqs)))
        width = max(len(s) for s in pieces) - (0 if predict_first else 1)
        pad_front = False
    D = seqs[0].shape[1]
    if chunk_len is not None:
        # A one-frame remainder chunk predicts nothing (its only frame is its first): drop it.
        kept = [i for i, p in enumerate(pieces) if len(p) > (0 if predict_first else 1)]
        pieces, owners = [pieces[i] for i in kept], [owners[i] for i in kept]
    N = len(pieces)
    inputs = torch.zeros(N, width, D, dtype=torch.uint8)
    targets = torch.zeros(N, width, D, dtype=torch.uint8)
    loss_mask = torch.zeros(N, width, dtype=torch.bool)
    step_mask = torch.zeros(N, width, dtype=torch.bool)
    lengths = torch.zeros(N, dtype=torch.long)
    lead = torch.zeros(N, width, D, dtype=torch.uint8) if pad_front else None  # the chunk's first frame
    for i, piece in enumerate(pieces):
        inp, tgt = step_pairs(piece, predict_first)
        n = len(inp)
        cols = slice(width - n, width) if pad_front else slice(0, n)
        inputs[i, cols], targets[i, cols] = inp, tgt
        loss_mask[i, cols] = True
        step_mask[i, cols] = True
        lengths[i] = n
        if pad_front and not predict_first and n < width:
            lead[i, width - n - 1] = piece[0]  # the last padding step predicts it (breze)
    if pad_front:
        # Rows are cut to the longest member of a batch from the right, so every chunk keeps the
        # full padded width: the padding the net reads is part of the protocol.
        lengths[:] = width
    return Split(
        inputs=inputs.to(device),
        targets=targets.to(device),
        loss_mask=loss_mask.to(device),
        step_mask=step_mask.to(device),
        seq_id=torch.tensor(owners, dtype=torch.long, device=device),
        lengths=lengths.to(device),
        pad_front=pad_front,
        padded_targets=None if lead is None else (targets + lead).to(device),
    )


def epoch_batches(n: int, batch_size: int, order: str, generator: torch.Generator) -> list[torch.Tensor]:
    """The row indices of one epoch's minibatches (train.batches).

    rows:   a fresh random permutation of the rows, cut into batches of ``batch_size``
    blocks: the rows cut once into contiguous blocks (the last one shorter), the blocks' order
            reshuffled every epoch: climin's util.iter_minibatches, what the authors' runs drew
            (protocols.md §1b)
    """
    if order == "blocks":
        blocks = torch.arange(n).split(batch_size)
        return [blocks[i] for i in torch.randperm(len(blocks), generator=generator).tolist()]
    return list(torch.randperm(n, generator=generator).split(batch_size))


def limit(n: int, per_batch: int, train_cfg) -> int:
    """How many of a split's ``n`` rows (sequences, chunks, segments, or a stream's tokens) a run uses under
    ``train.limit_batches=N``, a fast dev run: the rows of N batches of ``per_batch``; all without it. The
    one rule every task applies to its train, validation and test data."""
    k = train_cfg.get("limit_batches") if hasattr(train_cfg, "get") else None
    return n if k is None else min(n, k * per_batch)
