"""rnnbench/config/keys.py: the settings of how a run is executed (OPERATIONAL, RESUMABLE_KEYS) name real keys,
and the one config comparison the checkpoint loader, a search's folder check and the report's pooling make."""
from __future__ import annotations

from omegaconf import OmegaConf

from rnnbench.config.keys import OPERATIONAL, RESUMABLE_KEYS, differing, operational, resumable, without
from tests.conftest import compose_cfg


def test_every_operational_and_resumable_key_is_a_key_of_the_composed_config():
    cfg = OmegaConf.to_container(compose_cfg(), resolve=False)
    named = [top if sub is None else f"{top}.{k}" for top, sub in OPERATIONAL.items() for k in (sub or [None])]
    for key in named + sorted(RESUMABLE_KEYS):
        node = cfg
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{key} is not a key of the composed config"
            node = node[part]


def test_a_resumable_key_is_operational():
    # a run resumed with another value of it is pooled with the uninterrupted one by the report
    assert all(operational(k) for k in RESUMABLE_KEYS)


def test_operational_paths():
    assert operational("seed") and not operational("seed", seed=False)
    assert operational("train.max_seconds") and operational("data.root") and operational("logger.csv.path")
    assert not operational("train") and not operational("train.lr") and not operational("dataset")
    assert operational("dataset.task") and not operational("dataset.name") and not operational("trainx.max_seconds")
    assert resumable("data.root") and resumable("train.max_seconds") and not resumable("train.max_epochs")


def test_differing_names_dotted_keys_and_skips():
    a = {"seed": 1, "train": {"lr": 0.1, "max_seconds": 10}, "model": {"hidden": 8, "init": {"rho": 1.1}}}
    b = {"seed": 2, "train": {"lr": 0.2, "max_seconds": 20}, "model": {"hidden": 8, "init": {"rho": 1.2}}, "new": 1}
    assert differing(a, b, lambda p: False) == ["model.init.rho", "new", "seed", "train.lr", "train.max_seconds"]
    assert differing(a, b, operational) == ["model.init.rho", "new", "train.lr"]
    assert differing(a, b, lambda p: operational(p, seed=False), common_only=True) == ["model.init.rho", "seed", "train.lr"]
    assert differing(a, a, lambda p: False) == []


def test_without_drops_the_skipped_subtrees_only():
    config = {"seed": 3, "data": {"root": "/x"}, "train": {"lr": 0.1, "progress": True}, "dataset": {"task": "m", "name": "jsb"}}
    assert without(config, operational) == {"train": {"lr": 0.1}, "dataset": {"name": "jsb"}}
    assert config["train"] == {"lr": 0.1, "progress": True}  # a copy
