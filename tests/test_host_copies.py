"""A training step on a device (the engine's update: objective, backward, train.clip, the optimiser's step, as
rnnbench/optim/clip.py runs it) moves nothing from the host: no tensor made from host data (aten.lift_fresh:
torch.tensor / torch.as_tensor of Python or numpy values), no CPU tensor copied to the device, and no number read
back from the device (.item(), float(): a wait for the GPU). On a GPU each is a transfer inside the step, and it
breaks CUDA-graph capture ("Cannot copy between CPU and CUDA
tensors during CUDA graph capture": the FD steps of benchmarks/launch_profile.py on the H200, 2026-12-04).
Checked on the CPU, so that CI runs it, under a dispatch mode that counts both kinds of transfer, twice: on the
CPU, where a tensor made from host data shows as lift_fresh (made with device=, it does not show on another
device), and on torch's meta device (shapes only, no data), which stands for the GPU, where a CPU tensor moved
to the device shows as an op from CPU inputs to a meta output (a 0-dim CPU tensor is a scalar argument, not a
copy) and a number read back as _local_scalar_dense. (On the CPU the DropConnect draws of cpu_draws.py read one
seed from torch's generator: a CPU-only path, not a transfer.)"""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from rnnbench.metrics import masked_nll_sum
from rnnbench.models import build_model, build_word_lm
from rnnbench.optim import build_optimizer
from rnnbench.optim.clip import update
from tests.conftest import compose_cfg


class _HostTransfers(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        inputs = [a for a in torch.utils._pytree.tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
        if func is torch.ops.aten.lift_fresh.default or (  # made from host data
                func is torch.ops.aten._local_scalar_dense.default and inputs[0].device.type != "cpu"):  # .item()
            self.seen.append(str(func))  # (before the call: .item() raises on the meta device)
        out = func(*args, **(kwargs or {}))
        outputs = [o for o in torch.utils._pytree.tree_leaves(out) if isinstance(o, torch.Tensor)]
        if any(t.device.type == "cpu" and t.dim() > 0 for t in inputs) and any(o.device.type == "meta" for o in outputs):
            self.seen.append(str(func))  # a CPU tensor moved to the device
        return out


def _check(make_step, what: str) -> None:
    """``make_step(device)`` builds the model and data on ``device`` and returns one training step."""
    for device in ("cpu", "meta"):
        torch.manual_seed(0)
        step = make_step(device)
        step()  # the first step may make its constants once (they are cached)
        with _HostTransfers() as mode:
            step()
        assert not mode.seen, f"{what} ({device}): one training step moves {len(mode.seen)} tensor(s) from the host: {mode.seen}"


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
    # STORN (002 ch. 4): the reparameterised draw of z and the KL term with its warm-up weight (a Python float)
    "storn": ["experiment=storn-jsb", "model.storn.recognition_hidden=8", "model.storn.latent=4"],
    "storn breze": ["experiment=storn-jsb", "protocol=breze-storn", "model.storn.recognition_hidden=8",
                    "model.storn.latent=4"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_training_step_moves_nothing_from_the_host(case):
    cfg = compose_cfg("dataset=jsb", "model.hidden=8", *CASES[case])

    def make_step(device):
        model = build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train()
        x = (torch.rand(3, 5, 88) < 0.1).float().to(device)
        mask = torch.ones(3, 5, dtype=torch.bool, device=device)

        params = [p for p in model.parameters() if p.requires_grad]
        opt = build_optimizer(cfg.optim, params)

        if hasattr(model, "kl_weight"):
            model.kl_weight = 0.5  # STORN during its KL warm-up (tasks/music.py begin_epoch)

        def objective():
            if hasattr(model, "kl_weight"):  # STORN: the negative ELBO per frame (the task's frame_losses)
                return model.frame_losses(x, x, None, mask).sum() / mask.sum()
            return masked_nll_sum(model(x), x, mask) / mask.sum()

        def step():  # the engine's update: zero, objective, backward, clip (train.clip), the optimiser's step
            update(opt, params, cfg.train.clip, lambda: (objective(), None))
        return step

    _check(make_step, case)


@pytest.mark.parametrize("experiment", ["variational-tied-medium", "ptb-none-medium"])
def test_a_word_model_step_moves_nothing_from_the_host(experiment):
    cfg = compose_cfg("dataset=ptb", f"experiment={experiment}", "model.hidden=8", "model.embedding=8")

    def make_step(device):
        model = build_word_lm(cfg.model, 50, cfg.regulariser).to(device).train()
        tokens = torch.randint(50, (3, 6)).to(device)

        params = [p for p in model.parameters() if p.requires_grad]
        opt = build_optimizer(cfg.optim, params)

        def loss():
            logits, _ = model(tokens[:, :-1], model.initial_state(3))
            return torch.nn.functional.cross_entropy(logits.reshape(-1, 50), tokens[:, 1:].reshape(-1)), None

        def step():
            update(opt, params, cfg.train.clip, loss)
        return step

    _check(make_step, experiment)


@pytest.mark.parametrize("fd_outputs", [(True, True), (True, False)])
def test_a_population_step_moves_nothing_from_the_host(fd_outputs):
    """The stacked population (vmap over members, each with its rates and, where they differ, its fd_output)."""
    from rnnbench.models.stack import Population
    from rnnbench.optim.stacked import stacked_optimizer

    cfgs = [compose_cfg("dataset=jsb", "model.hidden=8", "regulariser=fd", f"regulariser.input.rate={r}",
                        f"regulariser.fd_output={fd}") for r, fd in zip((0.1, 0.3), fd_outputs)]

    def make_step(device):
        pop = Population([build_model(c.model, 88, 88, c.regulariser).to(device).train() for c in cfgs])
        x = (torch.rand(2, 3, 5, 88) < 0.1).float().to(device)
        mask = torch.ones(2, 3, 5, dtype=torch.bool, device=device)

        opt = stacked_optimizer(cfgs, pop)
        clips = torch.full((2,), 10.0, device=device)  # train.clip per member, made once (music_population.py)

        def step():
            update(opt, pop.parameters(), clips, lambda: (pop.frame_losses(x, x, None, mask).sum(), None))
        return step

    _check(make_step, f"population, fd_output {fd_outputs}")
