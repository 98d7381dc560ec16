"""A training step makes no tensor from host data (aten.lift_fresh: torch.tensor / torch.as_tensor of Python or
numpy values). On a GPU each such tensor is a host-to-device copy inside the step, and it breaks CUDA-graph
capture ("Cannot copy between CPU and CUDA tensors during CUDA graph capture": the FD steps of
benchmarks/launch_profile.py on the H200, 2026-12-04). Counted on the CPU with a dispatch mode, so CI checks it."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from rnnbench.metrics import masked_nll_sum
from rnnbench.models import build_model, build_word_lm
from tests.conftest import compose_cfg


class _HostTensors(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.made = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.lift_fresh.default:
            self.made += 1
        return func(*args, **(kwargs or {}))


CASES = {
    "srnn none": ["model=srnn", "regulariser=none"],
    "srnn fd": ["model=srnn", "regulariser=fd"],
    "srnn fd breze": ["model=srnn", "regulariser=fd", "protocol=breze"],
    "srnn fd no final layer": ["model=srnn", "regulariser=fd", "regulariser.fd_output=false"],
    "srnn fd no final layer (readout and input)": ["model=srnn", "regulariser=fd", "regulariser.fd_output=false",
                                                   "regulariser.final_layer_no=readout_and_input"],
    "srnn fd quadrature": ["model=srnn", "regulariser=fd", "regulariser.moment_approx=quadrature"],
    "lstm fd": ["model=lstm", "regulariser=fd"],
    "gru fd": ["model=gru", "regulariser=fd"],
    "lstm variational": ["model=lstm", "regulariser=variational"],
    "srnn dropconnect": ["model=srnn", "regulariser=dropconnect"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_training_step_makes_no_tensor_from_host_data(case):
    cfg = compose_cfg("dataset=jsb", "model.hidden=8", *CASES[case])
    torch.manual_seed(0)
    model = build_model(cfg.model, 88, 88, cfg.regulariser).train()
    x = (torch.rand(3, 5, 88) < 0.1).float()
    mask = torch.ones(3, 5, dtype=torch.bool)

    def step():
        model.zero_grad()
        (masked_nll_sum(model(x), x, mask) / mask.sum()).backward()

    step()  # the first step may make its constants once (they are cached)
    with _HostTensors() as mode:
        step()
    assert mode.made == 0, f"{case}: {mode.made} tensor(s) made from host data in one training step"


@pytest.mark.parametrize("experiment", ["variational-tied-medium", "ptb-none-medium"])
def test_a_word_model_step_makes_no_tensor_from_host_data(experiment):
    cfg = compose_cfg("dataset=ptb", f"experiment={experiment}", "model.hidden=8", "model.embedding=8")
    torch.manual_seed(0)
    model = build_word_lm(cfg.model, 50, cfg.regulariser).train()
    tokens = torch.randint(50, (3, 6))

    def step():
        model.zero_grad()
        logits, _ = model(tokens[:, :-1], model.initial_state(3))
        torch.nn.functional.cross_entropy(logits.reshape(-1, 50), tokens[:, 1:].reshape(-1)).backward()

    step()
    with _HostTensors() as mode:
        step()
    assert mode.made == 0, f"{experiment}: {mode.made} tensor(s) made from host data in one training step"
