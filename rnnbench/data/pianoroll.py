"""Piano rolls: a sequence of time steps, each a collection of MIDI note numbers, becomes a
(T, 88) binary tensor with column = note - 21 (MIDI 21 = A0 ... 108 = C8)."""
from __future__ import annotations

import numbers
from typing import Iterable, Sequence

import torch

from rnnbench.errors import DataError

LOWEST_NOTE = 21
HIGHEST_NOTE = 108
N_NOTES = HIGHEST_NOTE - LOWEST_NOTE + 1  # 88


def _whole(note) -> bool:
    return isinstance(note, numbers.Integral) and not isinstance(note, bool)


def to_pianoroll(steps: Sequence[Iterable[int]], where: str = "") -> torch.Tensor:
    """(T, 88) uint8 roll of ``steps``; an empty step is a silent frame. Every step must be a list
    or tuple of whole MIDI numbers: a float, a string or a step nested one level too deep or too
    shallow is an error naming the step (``where`` says which sequence), never silently converted."""
    at = f" ({where})" if where else ""
    if not isinstance(steps, (list, tuple)):
        raise DataError(f"a sequence must be a list of time steps, got {type(steps).__name__}{at}")
    for t, notes in enumerate(steps):
        if not isinstance(notes, (list, tuple)):
            raise DataError(f"step {t}{at} is a {type(notes).__name__}, not a list of note numbers: the sequence "
                            "is nested one level too shallow")
        bad = next((n for n in notes if not _whole(n)), None)
        if bad is not None:
            kind = "a list (nested one level too deep)" if isinstance(bad, (list, tuple)) else type(bad).__name__
            raise DataError(f"step {t}{at} holds {bad!r}, {kind}: notes must be whole MIDI numbers 21..108")
        far = next((n for n in notes if not LOWEST_NOTE <= n <= HIGHEST_NOTE), None)  # before torch: 10**20 overflows
        if far is not None:
            raise DataError(f"note {far} at step {t}{at} is outside the piano range {LOWEST_NOTE}..{HIGHEST_NOTE}")
    pairs = [(t, int(note)) for t, notes in enumerate(steps) for note in notes]
    roll = torch.zeros(len(steps), N_NOTES, dtype=torch.uint8)
    if not pairs:
        return roll
    index = torch.tensor(pairs, dtype=torch.long)  # (events, 2): time step, MIDI note
    roll[index[:, 0], index[:, 1] - LOWEST_NOTE] = 1
    return roll


def from_pianoroll(roll: torch.Tensor) -> list[tuple[int, ...]]:
    """The inverse of to_pianoroll: ascending note numbers per step."""
    return [tuple(int(i) + LOWEST_NOTE for i in torch.nonzero(row).flatten()) for row in roll]
