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


def test_cuda_population_member_matches_its_cpu_single_run(quick_cfg, tmp_path):
    from rnnbench.population.search import expand
    from rnnbench.population.train import train_population

    overrides = ("model.hidden=8", "regulariser=fd", "population.size=3", "train.precision=float64", "train.max_epochs=2")
    members, _ = expand(quick_cfg(*overrides, "device=cuda"))
    results = train_population(members, [tmp_path / f"m{i}" for i in range(3)])
    for i in range(3):
        alone = train(quick_cfg(*overrides, "population.size=1", f"seed={i}"), tmp_path / f"cpu{i}")
        assert math.isclose(results[i]["test_nll"], alone["test_nll"], rel_tol=1e-9)


def test_cuda_fused_step_matches_eager(quick_cfg, tmp_path):
    overrides = ("regulariser=fd", "train.precision=float64", "train.max_epochs=2", "device=cuda")
    eager = train(quick_cfg(*overrides), tmp_path / "eager")
    fused = train(quick_cfg(*overrides, "train.fuse=true"), tmp_path / "fused")
    assert math.isclose(eager["test_nll"], fused["test_nll"], rel_tol=1e-9)


def test_cuda_search_on_worker_processes_trains_the_numbers_trained_here(tmp_path):
    """population.dispatch=processes on a GPU: each worker process opens its own CUDA context; the members of a
    two-group search end with the numbers of the same search trained here, one group after the other (float64)."""
    import json
    import subprocess
    import sys

    args = [sys.executable, "-m", "rnnbench", "dataset=synthetic", "model.hidden=16", "device=cuda", "regulariser=fd",
            "search=random", "search.n=2", "search.space.model.hidden=[8,16]", "population.max_members=1",
            "train.max_epochs=3", "train.diverge_factor=null", "train.precision=float64", "train.progress=false",
            f"data.root={tmp_path / 'data'}"]
    runs = {}
    for name, extra in (("here", []), ("workers", ["population.dispatch=processes", "population.workers=2"])):
        done = subprocess.run(args + extra + [f"hydra.run.dir={tmp_path / name}"], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        runs[name] = [json.loads((tmp_path / name / "members" / m / "results.json").read_text()) for m in ("000", "001")]
    for here, there in zip(runs["here"], runs["workers"]):
        assert there["device"].startswith("cuda")
        for key in ("train_nll", "valid_nll", "test_nll"):
            assert math.isclose(here[key], there[key], rel_tol=1e-9), key
