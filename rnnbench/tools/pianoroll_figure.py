"""A piano roll a musician can read (rnnbench-sample, issue 23): time to the right in seconds (or frames),
pitch upwards labelled with note names at every C (C4 = MIDI 60, middle C) and a line at each octave, the
primer and the generated frames in two colours named in the legend with a line where the model takes
over, and, when the primer is a test sequence, that sequence's real continuation in a panel below.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from matplotlib.patches import Patch

from rnnbench.data.pianoroll import LOWEST_NOTE
from rnnbench.tools.figures import COLOURS, DOUBLE, plt, use_style

LOWEST = LOWEST_NOTE  # the roll's column 0 is A0, MIDI note 21 (88 keys: 21 .. 108)
NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
PRIMER, GENERATED, TRUTH = COLOURS[6], COLOURS[1], COLOURS[0]


def note_name(midi: int) -> str:
    """Scientific pitch notation: 60 -> C4, 21 -> A0, 108 -> C8."""
    return f"{NAMES[midi % 12]}{midi // 12 - 1}"


def _draw(ax, roll: np.ndarray, start: int, colour: str, scale: float) -> None:
    """Each note of ``roll`` (T, 88) as a bar from its onset to its end, ``start`` frames in."""
    for key in range(roll.shape[1]):
        on = np.flatnonzero(np.diff(np.concatenate([[0], roll[:, key].astype(np.int8), [0]])) != 0).reshape(-1, 2)
        if len(on):
            ax.broken_barh([((start + a) * scale, (b - a) * scale) for a, b in on], (LOWEST + key - 0.4, 0.8),
                           facecolors=colour, edgecolors="none")


def _pitch_axis(ax, rolls: list[np.ndarray]) -> None:
    keys = np.flatnonzero(np.concatenate(rolls).any(0)) if any(r.size for r in rolls) else np.array([39])
    low, high = LOWEST + max(0, keys.min() - 3), LOWEST + min(87, keys.max() + 3)
    cs = [m for m in range(low - low % 12, high + 1, 12) if m >= LOWEST]  # the Cs in view
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_yticks(cs, [note_name(m) for m in cs])
    for m in cs:
        ax.axhline(m - 0.5, color="0.85", linewidth=0.5, zorder=0)  # octave lines, just below each C
    ax.set_ylabel("pitch")


def draw_roll(roll, primer_frames: int = 0, truth=None, title: str = "", frame_seconds: Optional[float] = None):
    """The figure of one drawn sequence ``roll`` (T, 88; its first ``primer_frames`` are the primer) and,
    if given, ``truth`` (the test sequence's frames after the primer)."""
    use_style()
    roll = np.asarray(torch.as_tensor(roll), dtype=bool)
    truth = None if truth is None else np.asarray(torch.as_tensor(truth), dtype=bool)
    scale = frame_seconds or 1.0
    panels = 2 if truth is not None and len(truth) else 1
    fig, axes = plt.subplots(panels, 1, figsize=(DOUBLE, 2.6 * panels), sharex=True, squeeze=False)
    ax = axes[0, 0]
    _draw(ax, roll[:primer_frames], 0, PRIMER, scale)
    _draw(ax, roll[primer_frames:], primer_frames, GENERATED, scale)
    handles = [Patch(color=GENERATED, label=f"generated ({len(roll) - primer_frames} frames)")]
    if primer_frames:
        ax.axvline(primer_frames * scale, color="0.3", linestyle="--", linewidth=0.8)
        handles.insert(0, Patch(color=PRIMER, label=f"primer ({primer_frames} frames of a test sequence)"))
    shown = [roll]
    if panels == 2:
        low = axes[1, 0]
        _draw(low, roll[:primer_frames], 0, PRIMER, scale)
        _draw(low, truth, primer_frames, TRUTH, scale)
        low.axvline(primer_frames * scale, color="0.3", linestyle="--", linewidth=0.8)
        low.set_title("ground truth: the test sequence after the primer", loc="left")
        handles.append(Patch(color=TRUTH, label="ground truth (the test sequence)"))
        shown.append(truth)
    for a in axes[:, 0]:
        _pitch_axis(a, shown)
        a.set_xlim(0, max(len(roll), primer_frames + (0 if truth is None else len(truth))) * scale)
    axes[0, 0].set_title("sample" if panels == 2 else "", loc="left")
    axes[-1, 0].set_xlabel("time (s)" if frame_seconds else "time (frames)")
    fig.suptitle(title)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
