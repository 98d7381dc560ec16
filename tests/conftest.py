"""Shared fixtures: config composition (as the CLI does it) and the real data root, if any."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module

from rnnbench.config import register_configs

register_configs()

if os.environ.get("PYTEST_XDIST_WORKER"):  # `pytest -n N` (make test): N workers share the cores, one thread each,
    # and so do the processes the tests start (two torch processes with all threads each slow each other 10-100x)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
# how a smoke run (a few epochs of a tiny net) ends cleanly: ok, or ok but no better than the task's trivial
# floor, which a net of 8-16 units after 2 epochs rarely beats (rnnbench/engine/fit.py)
ENDED = ("ok", "no_better_than_floor")
# settings with which a tiny synthetic run beats that floor in about half a second (valid NLL 6.3-7.3 < 7.57
# for seeds 0-5)
LEARNS = ("model.hidden=32", "optim.lr=0.01", "model.init.var_in=0.3", "model.init.sparsity=null", "train.max_epochs=10",
          "train.patience=10")
JSB = "music/JSB Chorales.pickle"


def compose_cfg(*overrides: str):
    """The config the CLI would build from ``overrides``."""
    with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.fixture
def quick_cfg(tmp_path):
    """A tiny synthetic run on the CPU, deterministic and quiet."""

    def make(*overrides):
        return compose_cfg("dataset=synthetic", "train=debug", "model.hidden=16", "device=cpu",
                           "train.progress=false", f"data.root={tmp_path / 'data'}", *overrides)

    return make


def real_data_root() -> Path | None:
    root = os.environ.get("RNNBENCH_DATA")
    if root and (Path(root) / JSB).is_file():
        return Path(root)
    return None


needs_data = pytest.mark.skipif(real_data_root() is None, reason="RNNBENCH_DATA does not hold the music pickles")


def run_cli(args: list[str], cwd: Path, env_extra: dict | None = None, module: str = "rnnbench") -> subprocess.CompletedProcess:
    """Run ``python -m <module> args`` in ``cwd`` (what the console scripts run)."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
