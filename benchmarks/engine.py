"""The engine benchmark: one command, one run, every figure of issue 6 side by side.

    python -m benchmarks.engine [--device cpu|cuda] [--fuse] [--populations 1,8,32,128]

1. Training-step throughput (forward + backward of the NLL; frames/s) of the explicit cells
   srnn / lstm / gru under none / fd / variational / dropconnect, against PyTorch's nn.RNN /
   nn.LSTM / nn.GRU (cuDNN on a GPU) of the same size with a linear read-out; ``--fuse`` adds the
   cells with torch.compile'd gate math (rnnbench/models/fuse.py).
2. Every cell at the PTB-medium shape (2 x 650, batch 20, 35 steps, 10k words), plain, against
   PyTorch's 2-layer nn.RNN / nn.LSTM / nn.GRU of that shape (cuDNN on a GPU), and the variational
   LSTM of 003 against cuDNN's plain LSTM: words/s.
3. Population training (rnnbench/population/): one update (forward, backward, rmsprop-Nesterov
   step) of P stacked JSB sRNNs against P sequential updates of one, P in --populations.
Peak memory is torch.cuda.max_memory_allocated per row on a GPU (not measured on the CPU).
Writes benchmarks/results/engine-<device>.json and .md.
"""
from __future__ import annotations

import torch
from hydra import compose, initialize_config_module
from torch import nn

from benchmarks.common import meta, parser, time_step, write_sections
from rnnbench.config import register_configs
from rnnbench.metrics import masked_nll_sum
from rnnbench.models import build_model, build_word_lm
from rnnbench.models.fuse import fuse_cells
from rnnbench.optim import build_optimizer
from rnnbench.population import Population
from rnnbench.optim.stacked import stacked_optimizer

REGULARISERS = ["none", "fd", "variational", "dropconnect"]
TORCH_CELLS = {"srnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _cfg(*overrides):
    with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


class TorchNextStep(nn.Module):
    """PyTorch's fused recurrent layer (cuDNN on a GPU) + linear read-out: the reference."""

    def __init__(self, cell: str, hidden: int, n: int = 88, layers: int = 1):
        super().__init__()
        self.rnn = TORCH_CELLS[cell](n, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, n)

    def forward(self, x):
        return self.out(self.rnn(x)[0])


def _peak(device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def _measure(fn, device, args) -> tuple[float, float | None]:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t = time_step(fn, device, args.warmup, args.repeats)
    return t, _peak(device)


def cell_rows(args, device, x, mask) -> list[dict]:
    rows = []
    frames = args.batch * args.steps
    for cell in args.cells.split(","):
        torch.manual_seed(0)
        ref = TorchNextStep(cell, args.hidden).to(device).train()

        def ref_step():
            ref.zero_grad(set_to_none=True)
            (masked_nll_sum(ref(x), x, mask) / mask.sum()).backward()

        t_ref, mem = _measure(ref_step, device, args)
        rows.append({"cell": cell, "variant": f"torch.nn.{TORCH_CELLS[cell].__name__}" + (" (cuDNN)" if device.type == "cuda" else ""), "ms": 1e3 * t_ref, "frames_per_s": frames / t_ref,
                     "vs_torch": 1.0, "peak_mib": mem})
        variants = [(r, False) for r in REGULARISERS] + ([(r, True) for r in ("none", "fd")] if args.fuse else [])
        for reg, fused in variants:
            cfg = _cfg(f"model={cell}", f"regulariser={reg}", f"model.hidden={args.hidden}")
            torch.manual_seed(0)
            model = build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train()
            if fused:
                fuse_cells(model)

            def step():
                model.zero_grad(set_to_none=True)
                (masked_nll_sum(model(x), x, mask) / mask.sum()).backward()

            t, mem = _measure(step, device, args)
            rows.append({"cell": cell, "variant": f"rnnbench {reg}" + (" fused" if fused else ""), "ms": 1e3 * t,
                         "frames_per_s": frames / t, "vs_torch": t_ref / t, "peak_mib": mem})
            print(f"{cell:5s} {rows[-1]['variant']:24s} {1e3 * t:9.2f} ms  ({t_ref / t:.2f}x torch)", flush=True)
        none = next(r for r in rows if r["cell"] == cell and r["variant"] == "rnnbench none")
        for r in rows:
            if r["cell"] == cell:
                r["vs_plain"] = none["ms"] / r["ms"] if r["variant"].startswith("rnnbench") else None
    return rows


def ptb_rows(args, device) -> list[dict]:
    """Every cell at Zaremba's medium shape (2 x 650, batch 20, 35 steps, 10k words; 003 §5.1) against
    PyTorch's fused 2-layer layer of that cell (cuDNN on a GPU), plain; for the LSTM also the
    variational LSTM of 003 (untied, medium). Words/s of one training step."""
    B, T, V, H = 20, 35, 10000, 650
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(V, (B, T + 1), generator=g).to(device)
    rows = []
    for cell in args.cells.split(","):
        torch.manual_seed(0)
        emb, rnn, out = (nn.Embedding(V, H).to(device), TORCH_CELLS[cell](H, H, 2, batch_first=True).to(device),
                         nn.Linear(H, V).to(device))

        def ref_step():
            for m in (emb, rnn, out):
                m.zero_grad(set_to_none=True)
            logits = out(rnn(emb(tokens[:, :-1]))[0])
            nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1)).backward()

        t_ref, mem = _measure(ref_step, device, args)
        rows.append({"cell": cell, "variant": f"torch.nn.{TORCH_CELLS[cell].__name__} plain" + (" (cuDNN)" if device.type == "cuda" else ""),
                     "ms": 1e3 * t_ref, "words_per_s": B * T / t_ref, "vs_torch": 1.0, "peak_mib": mem})
        variants = [("ptb-none-medium", False)]
        if cell == "lstm":
            variants += [("variational-untied-medium", False)] + ([("variational-untied-medium", True)] if args.fuse else [])
        for name, fused in variants:
            cfg = _cfg("dataset=ptb", f"experiment={name}", f"model={cell}")
            torch.manual_seed(0)
            model = build_word_lm(cfg.model, V, cfg.regulariser).to(device).train()
            if fused:
                fuse_cells(model)

            def step():
                model.zero_grad(set_to_none=True)
                logits, _ = model(tokens[:, :-1], model.initial_state(B))
                nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1)).backward()

            t, mem = _measure(step, device, args)
            rows.append({"cell": cell, "variant": f"rnnbench {name}" + (" fused" if fused else ""), "ms": 1e3 * t,
                         "words_per_s": B * T / t, "vs_torch": t_ref / t, "peak_mib": mem})
            print(f"ptb {cell:5s} {rows[-1]['variant']:36s} {1e3 * t:9.2f} ms  ({t_ref / t:.2f}x torch)", flush=True)
    return rows


def population_rows(args, device, x, mask) -> list[dict]:
    """One update of P stacked sRNNs (fwd, bwd, optimiser) against P updates of one."""
    cfg = _cfg("model=srnn", f"model.hidden={args.hidden}")
    rows, t_one = [], None
    for P in [int(p) for p in args.populations.split(",")]:
        models = []
        for seed in range(P):
            torch.manual_seed(seed)
            models.append(build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train())
        if P == 1 and t_one is None:
            single, opt1 = models[0], build_optimizer(cfg.optim, models[0].parameters())

            def one_step():
                def closure():
                    opt1.zero_grad(set_to_none=True)
                    loss = masked_nll_sum(single(x), x, mask) / mask.sum()
                    loss.backward()
                    return loss
                opt1.step(closure)

            t_one, _ = _measure(one_step, device, args)
        pop = Population(models)
        opt = stacked_optimizer([cfg] * P, pop)
        xs, ms = x.expand(P, *x.shape), mask.expand(P, *mask.shape)

        def pop_step():
            def closure():
                opt.zero_grad(set_to_none=True)
                losses = pop.frame_losses(xs, xs, None, ms)
                loss = (losses.sum(dim=(1, 2)) / ms.sum(dim=(1, 2))).sum()
                loss.backward()
                return loss
            opt.step(closure)

        t, mem = _measure(pop_step, device, args)
        rows.append({"members": P, "ms_population": 1e3 * t, "ms_sequential": 1e3 * P * t_one, "speedup": P * t_one / t,
                     "frames_per_s": P * args.batch * args.steps / t, "peak_mib": mem})
        print(f"population P={P:4d}: {1e3 * t:9.2f} ms vs {1e3 * P * t_one:9.2f} ms sequential ({P * t_one / t:.2f}x)", flush=True)
    return rows


def _mib(v):
    return "–" if v is None else f"{v:,.0f}"


def main() -> None:
    p = parser(__doc__.split("\n")[0], warmup=2, repeats=5)
    p.add_argument("--cells", default="srnn,lstm,gru")
    p.add_argument("--populations", default="1,8,32,128")
    p.add_argument("--fuse", action="store_true", help="add rows with torch.compile'd cells")
    p.add_argument("--skip", default="", help="sections to leave out: cells,ptb,population")
    p.add_argument("--name", default=None, help="file stem (default engine-<device>)")
    args = p.parse_args()
    register_configs()
    device = torch.device(args.device)
    skip = set(filter(None, args.skip.split(",")))
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch, args.steps, 88, generator=g) < 0.05).float().to(device)
    mask = torch.ones(args.batch, args.steps, dtype=torch.bool, device=device)
    sections = []
    if "cells" not in skip:
        sections.append(("Training step per cell and regulariser vs torch.nn", ["cell", "variant", "ms", "frames/s", "× torch speed", "time × rnnbench none", "peak MiB"],
                         cell_rows(args, device, x, mask),
                         lambda r: [r["cell"], r["variant"], f"{r['ms']:.2f}", f"{r['frames_per_s']:,.0f}", f"{r['vs_torch']:.2f}",
                                    "–" if r["vs_plain"] is None else f"{1 / r['vs_plain']:.2f}", _mib(r["peak_mib"])]))
    if "ptb" not in skip:
        sections.append(("PTB-medium shape (2 x 650, batch 20, 35 steps, 10k words)", ["cell", "variant", "ms", "words/s", "× torch speed", "peak MiB"],
                         ptb_rows(args, device),
                         lambda r: [r["cell"], r["variant"], f"{r['ms']:.2f}", f"{r['words_per_s']:,.0f}", f"{r['vs_torch']:.2f}", _mib(r["peak_mib"])]))
    if "population" not in skip:
        sections.append(("Population of JSB sRNNs: one update of P members vs P sequential updates",
                         ["P", "population ms", "sequential ms", "speed-up", "frames/s", "peak MiB"],
                         population_rows(args, device, x, mask),
                         lambda r: [str(r["members"]), f"{r['ms_population']:.1f}", f"{r['ms_sequential']:.1f}",
                                    f"{r['speedup']:.2f}", f"{r['frames_per_s']:,.0f}", _mib(r["peak_mib"])]))
    info = meta(args, device, "forward + backward (+ optimiser step for populations)")
    stem = args.name or f"engine-{device.type}"
    print(write_sections(args, stem, info, sections, title="rnnbench engine benchmark"))


if __name__ == "__main__":
    main()
