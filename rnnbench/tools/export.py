"""Piano rolls out of rnnbench: MIDI files (mido) and piano-roll pictures (Pillow).

A roll is (T, 88) binary, column = MIDI note - 21 (rnnbench/data/pianoroll.py). Each frame lasts
``ticks_per_frame`` MIDI ticks; a note active in consecutive frames is one held note (the rolls of
Boulanger-Lewandowski et al. cannot tell a held note from a repeated one), so reading the file
back on the same grid gives the same roll.
"""
from __future__ import annotations

import io

import mido
import numpy as np
import torch

from rnnbench.data.pianoroll import LOWEST_NOTE, N_NOTES

TICKS_PER_BEAT = 480


def roll_to_midi(roll: torch.Tensor, frame_seconds: float = 0.5, ticks_per_frame: int = TICKS_PER_BEAT,
                 velocity: int = 80, program: int = 0) -> mido.MidiFile:
    """One track, one instrument (General MIDI ``program``; 0 = acoustic grand piano)."""
    active = np.asarray(roll, dtype=bool)
    T = active.shape[0]
    padded = np.concatenate([np.zeros((1, N_NOTES), bool), active, np.zeros((1, N_NOTES), bool)])
    change = padded[1:] != padded[:-1]  # (T + 1, 88): a note starts or stops at frame t
    events = []  # (tick, order, message): offs before ons at the same tick
    for t, note in zip(*np.nonzero(change)):
        on = bool(padded[t + 1, note])
        events.append((int(t) * ticks_per_frame, int(on), "note_on" if on else "note_off", int(note) + LOWEST_NOTE))
    events.sort()
    beats_per_frame = ticks_per_frame / TICKS_PER_BEAT
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=round(frame_seconds / beats_per_frame * 1e6), time=0),
        mido.Message("program_change", program=program, time=0),
    ])
    now = 0
    for tick, _, kind, note in events:
        track.append(mido.Message(kind, note=note, velocity=velocity if kind == "note_on" else 0, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, T * ticks_per_frame - now)))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def midi_bytes(midi: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def midi_to_roll(midi: mido.MidiFile, ticks_per_frame: int = TICKS_PER_BEAT) -> torch.Tensor:
    """The (T, 88) uint8 roll of a MIDI file on a grid of ``ticks_per_frame`` (notes outside the
    piano's range are dropped; a note_on of velocity 0 is a note_off)."""
    spans, start, tick = [], {}, 0
    for msg in mido.merge_tracks(midi.tracks):
        tick += msg.time
        if msg.type not in ("note_on", "note_off"):
            continue
        if msg.type == "note_on" and msg.velocity > 0:
            start.setdefault(msg.note, tick)
        elif msg.note in start:
            spans.append((msg.note, start.pop(msg.note), tick))
    spans += [(note, t0, tick) for note, t0 in start.items()]
    T = -(-tick // ticks_per_frame)
    roll = torch.zeros(T, N_NOTES, dtype=torch.uint8)
    for note, t0, t1 in spans:
        if LOWEST_NOTE <= note < LOWEST_NOTE + N_NOTES:
            roll[t0 // ticks_per_frame : -(-t1 // ticks_per_frame), note - LOWEST_NOTE] = 1
    return roll
