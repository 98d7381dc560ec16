"""The trivial floors of a seed table's task on the test split (rnnbench/floors.py), as reference
rows: music, each note's training frequency and "copy the previous frame"; PTB, the unigram;
sentiment, the training mean. The data come from the same data root as the runs."""
from __future__ import annotations

from hydra import compose, initialize_config_module

from rnnbench.config import register_configs
from rnnbench.floors import music_floors, train_mean_rmse, unigram_perplexity
from rnnbench.tools.reproduce.tables import Table


def _cfg(dataset: str):
    register_configs()
    with initialize_config_module("rnnbench.conf", version_base="1.3"):
        return compose("config", overrides=[f"dataset={dataset}", "data.download=false"])


def table_floors(table: Table, columns: list[str]) -> list[dict]:
    lines = []
    if table.metric == "test_nll":
        from rnnbench.data.load import load_rolls

        for col in columns:
            cfg = _cfg(col)
            rolls = load_rolls(cfg.dataset, cfg.data)
            for name, value in music_floors(rolls["train"], rolls["test"], cfg.dataset.predict_first).items():
                lines.append(dict(name=name.replace("_", " "), column=col, value=value, source="rnnbench/floors.py"))
    elif table.metric == "test_ppl":
        from rnnbench.data.ptb import load_ptb

        cfg = _cfg("ptb")
        vocab, streams = load_ptb(cfg.data)
        value = unigram_perplexity(streams["train"], streams["test"][1:], len(vocab))
        lines += [dict(name="unigram", column=col, value=value, source="rnnbench/floors.py") for col in columns]
    elif table.metric == "test_rmse":
        from rnnbench.data.sentiment import load_sentiment

        cfg = _cfg("sentiment")
        ds = cfg.dataset
        data = load_sentiment(cfg.data, vocab=ds.vocab, segment=ds.segment, test_split=ds.test_split, seed=ds.split_seed)
        train = data.mean + data.std * data.y_train.double()
        lines.append(dict(name="training mean", column="sentiment", value=train_mean_rmse(train, data.y_test),
                          source="rnnbench/floors.py"))
    return lines
