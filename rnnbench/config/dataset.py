"""The dataset group (conf/dataset/*.yaml): which data, cut how. ``task`` names the task that
trains it (rnnbench/tasks/: music, word-lm, regression), set by the protocol the data set includes
(conf/task/*.yaml)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from omegaconf import MISSING


class PadMode(Enum):
    """What the recurrence sees in front padding (rnnbench/data/batches.py).

    zeros: the net reads the prepended zero frames, as in 000 §3.1 ("zeros are prepended").
    hold:  the state is held at its initial value through the padding, so a padded chunk
           gives exactly the numbers of the unpadded one.
    """

    zeros = "zeros"
    hold = "hold"


@dataclass
class MusicDatasetConfig:
    """A polyphonic-music benchmark (rnnbench/data/music.py); protocol of 000 §3.1."""

    name: str = MISSING  # jsb | nottingham | musedata | piano-midi
    task: str = MISSING  # the task that trains it (rnnbench/tasks/), set by conf/task/<task>.yaml
    file: str = MISSING  # path below the data root, e.g. "music/JSB Chorales.pickle"
    chunk_len: int = 100  # train/valid sequences are cut into chunks of this many steps
    pad: PadMode = PadMode.zeros  # short chunks are padded at the front
    predict_first: bool = False  # also predict frame 1 from the initial state (000 uses T-1)


@dataclass
class SyntheticDatasetConfig(MusicDatasetConfig):
    """A small generated piano-roll set for tests and demos (rnnbench/data/synthetic.py)."""

    file: str = ""
    n_train: int = 48
    n_valid: int = 16
    n_test: int = 16
    min_len: int = 20
    max_len: int = 60
    n_voices: int = 3  # notes sounding per frame, moving by small steps
    data_seed: int = 1234  # the data are the same whatever the training seed


@dataclass
class PTBDatasetConfig:
    """Penn Treebank language modelling (rnnbench/data/ptb.py, rnnbench/tasks/word_lm.py); protocols.md §3."""

    name: str = "ptb"
    task: str = MISSING  # the task that trains it (rnnbench/tasks/), set by conf/task/<task>.yaml
    batch: int = 20  # parallel streams in training
    bptt: int = 35  # unrolled steps per update; the state is carried (detached) across windows
    eval_bptt: int = 35  # window of the evaluation pass: one stream, state carried, so it does not change the result


@dataclass
class SentimentDatasetConfig:
    """Pang & Lee scale v1.0 regression (rnnbench/data/sentiment.py, rnnbench/tasks/regression.py); protocols.md §4."""

    name: str = "sentiment"
    task: str = MISSING  # the task that trains it (rnnbench/tasks/), set by conf/task/<task>.yaml
    vocab: int = 20000  # top words kept; the rest become the out-of-vocabulary id
    segment: int = 200  # non-overlapping segments of every review, each with the review's rating
    test_split: float = 0.2  # the last 20% of the shuffled segments
    split_seed: int = 0  # NumPy legacy seed of the review shuffle (the authors': 0)
    batch: int = 128


# (schema name, dataclass) for conf/dataset/*.yaml: ``/dataset_<name>_schema@_here_``
SCHEMAS = [("music", MusicDatasetConfig), ("synthetic", SyntheticDatasetConfig), ("ptb", PTBDatasetConfig), ("sentiment", SentimentDatasetConfig)]
