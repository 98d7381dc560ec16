"""The train group (conf/train/*.yaml): the engine's loop (rnnbench/engine/)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional

from rnnbench.config.checks import bounded


class Precision(Enum):
    float32 = "float32"
    float64 = "float64"


class LossReading(Enum):
    """Which positions of a chunk batch the training loss averages over (protocols.md §1b)."""

    masked = "masked"  # the predicted frames only: padding is masked (000 §3.1)
    padded = "padded"  # every position of the padded chunk batch, padding included (breze: loss_row_wise.mean());
    #   the last padding step then predicts the chunk's first frame


class BatchOrder(Enum):
    """How an epoch's minibatches are drawn (protocols.md §1b)."""

    rows = "rows"  # random rows, reshuffled every epoch
    blocks = "blocks"  # climin util.iter_minibatches: fixed contiguous blocks of chunks, the blocks' order reshuffled


@dataclass
class TrainConfig:
    """The training loop (rnnbench/engine/fit.py)."""

    max_epochs: int = bounded(500, ge=1, le=1_000_000)
    patience: int = bounded(20, ge=1)  # stop after this many epochs without a better validation NLL
    batch_size: int = bounded(32, ge=1, le=1_000_000)  # not given in the papers (their notebook used small batches)
    eval_batch_size: int = bounded(64, ge=1, le=1_000_000)
    # gradient-norm clipping threshold (000 §2.3); None = off
    clip: Optional[float] = bounded(225.0, gt=0, why="a negative threshold would turn descent into ascent")
    loss: LossReading = LossReading.masked  # music: the training loss over real frames, or every padded position
    batches: BatchOrder = BatchOrder.rows  # music: random rows, or climin's shuffled contiguous blocks
    max_seconds: Optional[float] = bounded(None, gt=0)  # wall-clock budget for the training loop
    # divergence (rnnbench/engine/loop.py: Divergence): the run stops as `diverged` once its validation metric
    # has been above the task's trivial floor and diverge_factor x its best for diverge_epochs epochs
    diverge_factor: Optional[float] = bounded(1.1, gt=1)  # None: only a non-finite loss counts as divergence
    diverge_epochs: int = bounded(3, ge=1)
    precision: Precision = Precision.float32
    progress: bool = True  # tqdm bar (off anyway when stderr is not a terminal)
    save_model: bool = True  # write best.pt (state dict of the best-validation model)
    # checkpoint.pt after every epoch, so that the same command resumes a killed run (rnnbench/engine/checkpoint.py)
    checkpoint: bool = True
    checkpoint_every_s: Optional[float] = bounded(None, ge=0)  # also inside an epoch, this often (PTB); 0: every step
    fuse: bool = False  # torch.compile the cells' gate math into fused kernels (rnnbench/models/fuse.py)
    # a fast dev run (Lightning's limit_*_batches): every split keeps the rows of its first N batches, for every
    # task (rnnbench/data/batches.py: limit); None: all. Its numbers are a smoke test, not a result.
    limit_batches: Optional[int] = bounded(None, ge=1)


# (schema name, dataclass) for conf/train/*.yaml: ``/train_<name>_schema@_here_``
SCHEMAS = [("train", TrainConfig)]
