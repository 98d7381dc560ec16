"""Pang & Lee movie-review scale data v1.0 as 003 §5.2 and its authors' code prepare it.

The steps, in the authors' order (yaringal/BayesianRNN, sentiment_*_regression.py):
  1. reviews (``subj.<critic>``, one per line) and ratings in [0, 1] of the four critics;
  2. a word index fitted on all reviews as Keras' Tokenizer(filters='') does: lower case, split on
     single spaces (so a line's last word keeps its newline), ranked by count, ties by first use;
  3. reviews and ratings shuffled with NumPy's legacy generator, seed 0;
  4. ids shifted by 3 behind a start token 1 (0 = padding, 2 = out of vocabulary);
  5. every review cut into non-overlapping 200-token segments (the remainder kept), each
     inheriting the review's rating; ids >= 20000 become 2 (the top-20k vocabulary);
  6. the first 80% of segments train, the rest test; targets standardised with the train
     mean and (population) standard deviation; segments padded with 0 at the front to 200.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from rnnbench.data.fetch import data_root, ensure_file
from rnnbench.data.text import numbers, read_text
from rnnbench.errors import DataError

CRITICS = ("Dennis+Schwartz", "James+Berardinelli", "Scott+Renshaw", "Steve+Rhodes")
PAD, START, OOV, INDEX_FROM = 0, 1, 2, 3


@dataclass
class SentimentData:
    x_train: torch.Tensor  # (N, L) token ids, front-padded
    y_train: torch.Tensor  # (N,) standardised targets
    x_test: torch.Tensor
    y_test: torch.Tensor  # (M,) ratings on the [0, 1] scale
    mean: float  # of the train ratings
    std: float
    vocab_size: int  # rows of the embedding


def words(text: str) -> list[str]:
    """Keras' text_to_word_sequence with filters='': lower case, split on ' ', drop empty strings."""
    return [w for w in text.lower().split(" ") if w]


def word_index(texts: list[str]) -> dict[str, int]:
    """Rank 1 = most frequent; ties keep the order of first appearance (a stable sort)."""
    counts = Counter()
    for text in texts:
        counts.update(words(text))
    return {w: i + 1 for i, (w, _) in enumerate(sorted(counts.items(), key=lambda kv: -kv[1]))}


def prepare(texts: list[str], ratings: list[float], *, vocab: int = 20000, segment: int = 200,
            test_split: float = 0.2, seed: int = 0) -> SentimentData:
    index = word_index(texts)
    seqs = [[index[w] for w in words(t)] for t in texts]
    order = list(range(len(seqs)))
    np.random.RandomState(seed).shuffle(order)  # the permutation np.random.seed(0); shuffle(X) applies
    seqs, ratings = [seqs[i] for i in order], [ratings[i] for i in order]
    seqs = [[START] + [w + INDEX_FROM for w in s] for s in seqs]
    pieces, targets = [], []
    for s, y in zip(seqs, ratings):
        for start in range(0, len(s), segment):
            pieces.append([OOV if w >= vocab else w for w in s[start : start + segment]])
            targets.append(y)
    n_train = int(len(pieces) * (1 - test_split))
    x = torch.zeros(len(pieces), segment, dtype=torch.long)  # padded with 0 at the front
    for i, piece in enumerate(pieces):
        x[i, segment - len(piece) :] = torch.tensor(piece, dtype=torch.long)
    y = torch.tensor(targets, dtype=torch.float64)
    mean, std = float(y[:n_train].mean()), float(y[:n_train].std(unbiased=False))
    if not std > 0:  # every training segment has one rating (the split drew them all from one review)
        raise DataError(f"every training rating is {mean:g}: no spread to regress on (zero variance); use a larger "
                        "dataset.test_split or the whole of Pang & Lee's scale data v1.0")
    return SentimentData(x[:n_train], (y[:n_train] - mean) / std, x[n_train:], y[n_train:], mean, std, vocab + INDEX_FROM)


def load_sentiment(data_cfg, **protocol) -> SentimentData:
    root = data_root(data_cfg.root)
    texts, ratings = [], []
    for critic in CRITICS:
        base = f"sentiment/scaledata/{critic}"
        subj = ensure_file(f"{base}/subj.{critic}", root, download=data_cfg.download, check=data_cfg.verify)
        rating = ensure_file(f"{base}/rating.{critic}", root, download=data_cfg.download, check=data_cfg.verify)
        fix = "replace it with the file of Pang & Lee's scale data v1.0, or delete it to download it anew"
        reviews = read_text(subj, "latin-1", fix).splitlines(keepends=True)
        scores = numbers(rating, read_text(rating, "ascii", fix), 0.0, 1.0, fix)
        if len(reviews) != len(scores):  # line k of the ratings is the rating of line k of the reviews
            raise DataError(f"{rating} has {len(scores)} lines but {subj.name} has {len(reviews)} reviews: every rating "
                            f"would be paired with the wrong review; {fix}")
        texts += reviews
        ratings += scores
    if len(set(ratings)) < 2:  # the targets are standardised by the ratings' spread (issue 32: was a diverged run)
        raise DataError(f"every rating in {root / 'sentiment' / 'scaledata'}/*/rating.* is {ratings[0]:g}: there is no "
                        "spread to regress on (zero variance); replace them with Pang & Lee's scale data v1.0, or "
                        "delete them to download them anew")
    return prepare(texts, ratings, **protocol)
