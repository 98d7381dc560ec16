"""Piano rolls: a sequence of time steps, each a collection of MIDI note numbers, becomes a
(T, 88) binary tensor with column = note - 21 (MIDI 21 = A0 ... 108 = C8)."""
from __future__ import annotations

from typing import Iterable, Sequence

import torch

from rnnbench.errors import DataError

LOWEST_NOTE = 21
HIGHEST_NOTE = 108
N_NOTES = HIGHEST_NOTE - LOWEST_NOTE + 1  # 88


def to_pianoroll(steps: Sequence[Iterable[int]]) -> torch.Tensor:
    """(T, 88) uint8 roll of ``steps``; an empty step is a silent frame."""
    pairs = [(t, int(note)) for t, notes in enumerate(steps) for note in notes]
    roll = torch.zeros(len(steps), N_NOTES, dtype=torch.uint8)
    if not pairs:
        return roll
    index = torch.tensor(pairs, dtype=torch.long)  # (events, 2): time step, MIDI note
    outside = (index[:, 1] < LOWEST_NOTE) | (index[:, 1] > HIGHEST_NOTE)
    if bool(outside.any()):
        t, note = index[outside.nonzero()[0, 0]].tolist()
        raise DataError(f"note {note} at step {t} is outside the piano range {LOWEST_NOTE}..{HIGHEST_NOTE}")
    roll[index[:, 0], index[:, 1] - LOWEST_NOTE] = 1
    return roll


def from_pianoroll(roll: torch.Tensor) -> list[tuple[int, ...]]:
    """The inverse of to_pianoroll: ascending note numbers per step."""
    return [tuple(int(i) + LOWEST_NOTE for i in torch.nonzero(row).flatten()) for row in roll]
