"""The dataset group (conf/dataset/*.yaml): which data, cut how. ``task`` names the task that
trains it (rnnbench/tasks/: music, word-lm, regression), set by the protocol the data set includes
(conf/task/*.yaml)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from omegaconf import MISSING

from rnnbench.config.checks import SEED_MAX, bounded


class PadMode(Enum):
    """What the recurrence sees in front padding (rnnbench/data/batches.py).

    zeros: the net reads the prepended zero frames, as in 000 §3.1 ("zeros are prepended").
    hold:  the state is held at its initial value through the padding, so a padded chunk
           gives exactly the numbers of the unpadded one.
    """

    zeros = "zeros"
    hold = "hold"


class MusicFloor(Enum):
    """The trivial model a music run must beat on validation to end ``ok`` (rnnbench/floors.py; issue 31).

    copy_previous:  each note's on/off transition probabilities (the strongest trivial floor of the four sets)
    note_frequency: each note on with its training frequency (the divergence rule's floor, always)
    """

    copy_previous = "copy_previous"
    note_frequency = "note_frequency"


@dataclass
class MusicDatasetConfig:
    """A polyphonic-music benchmark (rnnbench/data/music.py); protocol of 000 §3.1."""

    name: str = MISSING  # jsb | nottingham | musedata | piano-midi
    task: str = MISSING  # the task that trains it (rnnbench/tasks/), set by conf/task/<task>.yaml
    file: str = MISSING  # path below the data root, e.g. "music/JSB Chorales.pickle"
    chunk_len: int = bounded(100, ge=2, le=1_000_000)  # train/valid sequences are cut into chunks of this many steps
    pad: PadMode = PadMode.zeros  # short chunks are padded at the front
    predict_first: bool = False  # also predict frame 1 from the initial state (000 uses T-1)
    floor: MusicFloor = MusicFloor.copy_previous  # a run no better than it on validation ends no_better_than_floor
    valid_whole: bool = False  # validate on whole sequences, as the test, not on chunks (000 §3.1 chunks; a selection switch, issue 31)


@dataclass
class SyntheticDatasetConfig(MusicDatasetConfig):
    """A small generated piano-roll set for tests and demos (rnnbench/data/synthetic.py)."""

    file: str = ""
    n_train: int = bounded(48, ge=1, le=100_000)
    n_valid: int = bounded(16, ge=1, le=100_000)
    n_test: int = bounded(16, ge=1, le=100_000)
    min_len: int = bounded(20, ge=2, le=100_000)  # a sequence needs two frames to predict one
    max_len: int = bounded(60, ge=2, le=100_000)
    n_voices: int = bounded(3, ge=1, le=88)  # notes sounding per frame, moving by small steps
    data_seed: int = bounded(1234, ge=0, le=SEED_MAX)  # the data are the same whatever the training seed


@dataclass
class PTBDatasetConfig:
    """Penn Treebank language modelling (rnnbench/data/ptb.py, rnnbench/tasks/word_lm.py); protocols.md §3."""

    name: str = "ptb"
    task: str = MISSING  # the task that trains it (rnnbench/tasks/), set by conf/task/<task>.yaml
    bptt: int = bounded(35, ge=1, le=100_000)  # unrolled steps per update; the state is carried (detached) across windows
    eval_bptt: int = bounded(35, ge=1, le=100_000)  # window of the evaluation pass: one stream, state carried, so it does not change the result


@dataclass
class SentimentDatasetConfig:
    """Pang & Lee scale v1.0 regression (rnnbench/data/sentiment.py, rnnbench/tasks/regression.py); protocols.md §4."""

    name: str = "sentiment"
    task: str = MISSING  # the task that trains it (rnnbench/tasks/), set by conf/task/<task>.yaml
    vocab: int = bounded(20000, ge=1, le=10_000_000)  # top words kept; the rest become the out-of-vocabulary id
    segment: int = bounded(200, ge=1, le=1_000_000)  # non-overlapping segments of every review, each with the review's rating
    test_split: float = bounded(0.2, gt=0, lt=1)  # the last 20% of the shuffled segments
    split_seed: int = bounded(0, ge=0, le=SEED_MAX)  # NumPy legacy seed of the review shuffle (the authors': 0)


# (schema name, dataclass) for conf/dataset/*.yaml: ``/dataset_<name>_schema@_here_``
SCHEMAS = [("music", MusicDatasetConfig), ("synthetic", SyntheticDatasetConfig), ("ptb", PTBDatasetConfig), ("sentiment", SentimentDatasetConfig)]
