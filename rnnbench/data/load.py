"""The piano rolls of a music data set: its pickle (``dataset.file`` below the data root), or, for a
data set without a file (dataset=synthetic), the generated set."""
from __future__ import annotations

from rnnbench.data.music import load_music
from rnnbench.data.synthetic import make_synthetic


def load_rolls(dataset_cfg, data_cfg) -> dict[str, list]:
    """{'train', 'valid', 'test'} -> list of (T, 88) uint8 piano rolls."""
    if not dataset_cfg.file:
        return make_synthetic(dataset_cfg)
    return load_music(dataset_cfg, data_cfg)
