"""The fused step (rnnbench/models/fuse.py): torch.compile of the cells' gate math gives the eager
numbers on the CPU, and a compiler failure falls back to eager with one warning."""
import logging

import pytest
import torch

from rnnbench.models import build_model
from rnnbench.models import fuse as fuse_module
from rnnbench.models.fuse import FusedTransition, fuse_cells
from tests.conftest import compose_cfg


def _model(cell, regulariser):
    cfg = compose_cfg(f"model={cell}", "model.hidden=6", f"regulariser={regulariser}")
    torch.manual_seed(0)
    return build_model(cfg.model, 5, 5, cfg.regulariser).double().eval()


def _compiler_works() -> bool:
    try:
        return bool(torch.compile(lambda a: a + 1)(torch.zeros(1)) == 1)
    except Exception:  # no C++ compiler for inductor, say
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _compiler_works(), reason="torch.compile has no working backend here (the fallback is tested below)")
@pytest.mark.parametrize("cell,regulariser", [("srnn", "none"), ("lstm", "fd")])
def test_compiled_step_matches_eager(cell, regulariser):
    model = _model(cell, regulariser)
    x = torch.rand(3, 7, 5, dtype=torch.float64)
    eager = model(x)
    fused = fuse_cells(model)
    assert len(fused) == 1
    out = model(x)
    assert fused[0].ok, "compilation fell back to eager"
    assert torch.allclose(out, eager, rtol=1e-12, atol=1e-12)
    model.train()
    out.sum().backward()  # gradients flow through the compiled step
    assert all(p.grad is not None for p in model.core.parameters() if p.requires_grad and p.dim() == 2)


def test_compiler_failure_falls_back_to_eager(monkeypatch, caplog):
    def broken(fn, **kwargs):
        def fail(*a, **k):
            raise RuntimeError("no compiler for this backend")
        return fail

    monkeypatch.setattr(fuse_module.torch, "compile", broken)
    model = _model("gru", "fd")
    x = torch.rand(2, 4, 5, dtype=torch.float64)
    eager = model(x)
    fuse_cells(model)
    with caplog.at_level(logging.WARNING, logger="rnnbench"):
        out, again = model(x), model(x)
    assert isinstance(model.core.transition, FusedTransition) and not model.core.transition.ok
    assert torch.equal(out, eager) and torch.equal(again, eager)
    assert sum("running it eagerly" in r.message for r in caplog.records) == 1  # one warning, not one per step
    assert fuse_cells(model) == []  # fusing twice is a no-op
