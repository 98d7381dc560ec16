"""CUDA checks: skipped where there is no GPU (CI), run with `pytest -m gpu` on a GPU machine."""
import math

import pytest
import torch

from rnnbench.train import train

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_cuda_run_matches_cpu_in_float64(quick_cfg, tmp_path):
    overrides = ("train.precision=float64", "train.max_epochs=2", "seed=5")
    cpu = train(quick_cfg(*overrides), tmp_path / "cpu")
    gpu = train(quick_cfg(*overrides, "device=cuda"), tmp_path / "gpu")
    assert gpu["device"].startswith("cuda")
    for key in ("train_nll", "valid_nll", "test_nll"):
        assert math.isclose(cpu[key], gpu[key], rel_tol=1e-9), key


def test_auto_device_picks_cuda(quick_cfg, tmp_path):
    res = train(quick_cfg("device=auto", "train.max_epochs=1"), tmp_path)
    assert res["device"].startswith("cuda")
