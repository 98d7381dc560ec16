import json
import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnnbench.data.sentiment import CRITICS, load_sentiment, prepare, word_index, words
from tests.conftest import ENDED, run_cli
from tests.datafiles import write_tiny_scale


def test_words_and_index_follow_keras_tokenizer_with_no_filters():
    assert words("Good , BAD movie\n") == ["good", ",", "bad", "movie\n"]  # split on ' ' only: the newline stays
    index = word_index(["b a b\n", "c a b"])
    assert index == {"b": 1, "a": 2, "b\n": 3, "c": 4}  # by count, ties in order of first use


def test_segments_split_and_standardisation():
    texts = ["w1 w2 w3 w4 w5 w6 w7\n", "w1 w2\n", "w3 w3 w3 w3 w3\n"]
    ratings = [0.1, 0.5, 0.9]
    data = prepare(texts, ratings, vocab=6, segment=4, test_split=0.25, seed=0)
    order = list(range(3))
    np.random.RandomState(0).shuffle(order)  # the authors' np.random.seed(0); np.random.shuffle(X)
    # review lengths +1 (start token): 8, 3, 6 tokens -> 2, 1, 2 segments of at most 4
    n_segments = {0: 2, 1: 1, 2: 2}
    assert len(data.x_train) + len(data.x_test) == 5 and len(data.x_train) == int(5 * 0.75)
    targets = [ratings[i] for i in order for _ in range(n_segments[i])]
    train_y = torch.tensor(targets[:3], dtype=torch.float64)
    assert torch.allclose(data.y_train, (train_y - train_y.mean()) / train_y.std(unbiased=False))
    assert torch.allclose(data.y_test, torch.tensor(targets[3:], dtype=torch.float64))
    rows = torch.cat([data.x_train, data.x_test]).tolist()
    assert sum(row.count(1) for row in rows) == 3  # one start token per review
    assert all(v < 6 for row in rows for v in row)  # ids >= vocab became OOV (2)
    for row in rows:  # padding (0) only in front
        real = [i for i, v in enumerate(row) if v]
        assert real == list(range(real[0], len(row)))
    again = prepare(texts, ratings, vocab=6, segment=4, test_split=0.25, seed=0)
    assert torch.equal(again.x_train, data.x_train) and torch.equal(again.x_test, data.x_test)
    other = prepare(texts, ratings, vocab=6, segment=4, test_split=0.25, seed=3)
    assert not torch.equal(other.y_test, data.y_test) or not torch.equal(other.x_train, data.x_train)


@pytest.mark.skipif(not (os.environ.get("RNNBENCH_DATA") and
                         Path(os.environ["RNNBENCH_DATA"], "sentiment/scaledata/Steve+Rhodes/subj.Steve+Rhodes").is_file()),
                    reason="RNNBENCH_DATA does not hold the scale data")
def test_real_scale_data_segments():
    data = load_sentiment(SimpleNamespace(root=os.environ["RNNBENCH_DATA"], download=False, verify=True))
    assert (len(data.x_train), len(data.x_test), data.vocab_size) == (10_620, 2_655, 20_003)
    assert data.x_train.shape[1] == 200 and 0.0 <= float(data.y_test.min()) and float(data.y_test.max()) <= 1.0
    assert abs(float(data.y_train.mean())) < 1e-9 and abs(float(data.y_train.std(unbiased=False)) - 1) < 1e-9


@pytest.fixture
def tiny_scale(tmp_path):
    return write_tiny_scale(tmp_path / "data")


@pytest.mark.slow
def test_sentiment_end_to_end_in_a_subprocess(tiny_scale, tmp_path):
    proc = run_cli(["dataset=sentiment", "model=gru", "model.hidden=8", "model.embedding=8", "train=debug",
                    "train.batch_size=8", "dataset.segment=10", f"data.root={tiny_scale}", "data.verify=false",
                    "data.download=false", "regulariser=variational", "eval.mc_samples=3"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    [path] = list(tmp_path.glob("outputs/runs/*/*/results.json"))
    res = json.loads(path.read_text())
    assert res["dataset"] == "sentiment" and res["status"] in ENDED and 0 < res["test_rmse"] < 1
    assert 0 < res["test_rmse_mc"] < 1 and res["eval_modes"] == ["deterministic", "mc3"]
    rows = (path.parent / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,lr,train_mse,test_rmse,epoch_s" and len(rows) == 3  # the test curve, per epoch
