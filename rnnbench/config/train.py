"""The train group (conf/train/*.yaml): the engine's loop (rnnbench/engine/)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional


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

    max_epochs: int = 500
    patience: int = 20  # stop after this many epochs without a better validation NLL
    batch_size: int = 32  # not given in the papers (their notebook used small batches)
    eval_batch_size: int = 64
    clip: Optional[float] = 225.0  # gradient-norm clipping threshold (000 §2.3); None = off
    loss: LossReading = LossReading.masked  # music: the training loss over real frames, or every padded position
    batches: BatchOrder = BatchOrder.rows  # music: random rows, or climin's shuffled contiguous blocks
    max_seconds: Optional[float] = None  # wall-clock budget for the training loop
    # divergence (rnnbench/engine/loop.py: Divergence): the run stops as `diverged` once its validation metric
    # has been above the task's trivial floor and diverge_factor x its best for diverge_epochs epochs
    diverge_factor: Optional[float] = 1.1  # None: only a non-finite loss counts as divergence
    diverge_epochs: int = 3
    precision: Precision = Precision.float32
    progress: bool = True  # tqdm bar (off anyway when stderr is not a terminal)
    save_model: bool = True  # write best.pt (state dict of the best-validation model)
    # checkpoint.pt after every epoch, so that the same command resumes a killed run (rnnbench/engine/checkpoint.py)
    checkpoint: bool = True
    checkpoint_every_s: Optional[float] = None  # also inside an epoch, this often (tasks with long epochs: PTB)
    fuse: bool = False  # torch.compile the cells' gate math into fused kernels (rnnbench/models/fuse.py)


# (schema name, dataclass) for conf/train/*.yaml: ``/train_<name>_schema@_here_``
SCHEMAS = [("train", TrainConfig)]
