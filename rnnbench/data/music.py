"""The four polyphonic-music benchmarks (Boulanger-Lewandowski et al. 2012) as piano rolls.

Each pickle is a dict ``train``/``valid``/``test`` -> list of sequences -> list of time steps
-> note numbers (protocols.md §1). Splits are returned as lists of (T, 88) uint8 tensors.
"""
from __future__ import annotations

from rnnbench.data.fetch import data_root, ensure_file
from rnnbench.data.pianoroll import to_pianoroll
from rnnbench.data.unpickle import load_pickle_file
from rnnbench.errors import DataError

SPLITS = ("train", "valid", "test")
MAX_FRAMES = 5_000_000  # per file: 13x MuseData, the largest set (392,296 frames); 440 MB of piano roll


def parse_music(obj, source: str) -> dict[str, list]:
    """Check the layout of an unpickled music file and convert every sequence to a piano roll."""
    if not isinstance(obj, dict) or not all(k in obj for k in SPLITS):
        raise DataError(f"{source} is not a music data set: expected a dict with keys {SPLITS}")
    for split in SPLITS:
        if not isinstance(obj[split], list):
            raise DataError(f"{source}: split '{split}' is not a list of sequences")
        bad = next((i for i, seq in enumerate(obj[split]) if not isinstance(seq, (list, tuple))), None)
        if bad is not None:
            raise DataError(f"{source}: sequence {bad} of split '{split}' is a {type(obj[split][bad]).__name__}, "
                            "not a list of time steps")
    frames = sum(len(seq) for split in SPLITS for seq in obj[split])  # checked before anything is allocated
    if frames > MAX_FRAMES:
        raise DataError(f"{source} holds {frames:,} time steps, more than the {MAX_FRAMES:,} rnnbench reads from one "
                        "file (the largest benchmark has 392,296); is it a music data set?")
    return {split: [to_pianoroll(seq, f"sequence {i} of split '{split}' in {source}") for i, seq in enumerate(obj[split])]
            for split in SPLITS}


def load_music(dataset_cfg, data_cfg) -> dict[str, list]:
    """Load (and fetch if needed) the pickle named by ``dataset_cfg.file``."""
    root = data_root(data_cfg.root)
    path = ensure_file(dataset_cfg.file, root, download=data_cfg.download, check=data_cfg.verify)
    hint = f"Delete {path} and run again to download it anew, or replace it with a good copy."
    return parse_music(load_pickle_file(path, hint=hint), str(path))
