"""Dataset by config name: the music pickles or the generated synthetic set, as piano rolls."""
from __future__ import annotations

from rnnbench.data.music import load_music
from rnnbench.data.synthetic import make_synthetic
from rnnbench.errors import ConfigError

MUSIC = ("jsb", "nottingham", "musedata", "piano-midi")


def load_rolls(dataset_cfg, data_cfg) -> dict[str, list]:
    """{'train', 'valid', 'test'} -> list of (T, 88) uint8 piano rolls."""
    if dataset_cfg.name == "synthetic":
        return make_synthetic(dataset_cfg)
    if dataset_cfg.name in MUSIC:
        return load_music(dataset_cfg, data_cfg)
    raise ConfigError(f"unknown dataset '{dataset_cfg.name}'; valid: {', '.join(MUSIC + ('synthetic',))}")
