"""The piano rolls of a music data set: its pickle (``dataset.file`` below the data root), or, for a
data set without a file (dataset=synthetic), the generated set."""
from __future__ import annotations

from rnnbench.data.music import load_music
from rnnbench.data.synthetic import make_synthetic
from rnnbench.errors import DataError


def load_rolls(dataset_cfg, data_cfg) -> dict[str, list]:
    """{'train', 'valid', 'test'} -> list of (T, 88) uint8 piano rolls, each split with a frame to
    predict (checked here, before any training: an evaluation of nothing would fail at the end)."""
    rolls = make_synthetic(dataset_cfg) if not dataset_cfg.file else load_music(dataset_cfg, data_cfg)
    first = bool(dataset_cfg.get("predict_first", False))
    for split, seqs in rolls.items():
        if not any(len(r) >= (1 if first else 2) for r in seqs):
            what = "has no sequences" if not seqs else f"has no sequence of {1 if first else 2} or more frames"
            raise DataError(f"{dataset_cfg.file or dataset_cfg.name}: split '{split}' {what}, so there is no frame to "
                            f"predict (frames 2..T are predicted, 000 §3.1); replace the file with one whose "
                            f"{split} split holds music")
    return rolls
