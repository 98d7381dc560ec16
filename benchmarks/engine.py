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
The rows of one cell (of one P) are timed alternately, pass by pass (benchmarks.common.measure_alternately): their
ratios are measured on the same machine state; the tables give medians with quartiles. Peak memory, on a GPU
only, is the most one step held above what was allocated before it (activations, gradients, workspaces).
Writes benchmarks/results/engine-<device>.json and .md.
"""
from __future__ import annotations

import torch
from hydra import compose, initialize_config_module
from torch import nn

from benchmarks.common import meta, measure_alternately, ms_cell, nll_step, parser, write_sections
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


def _row(timing, **fields) -> dict:
    return {**fields, "ms": 1e3 * timing.median, "ms_q1": 1e3 * timing.q1, "ms_q3": 1e3 * timing.q3,
            "peak_mib": timing.peak_mib}


def cell_rows(args, device, x, mask) -> list[dict]:
    """Per cell, PyTorch's layer and every rnnbench variant timed alternately (benchmarks.common), so that the
    ratios of a cell's rows are measured side by side."""
    rows = []
    frames = args.batch * args.steps
    for cell in args.cells.split(","):
        torch.manual_seed(0)
        ref = TorchNextStep(cell, args.hidden).to(device).train()
        ways = {f"torch.nn.{TORCH_CELLS[cell].__name__}" + (" (cuDNN)" if device.type == "cuda" else ""): nll_step(ref, x, mask)}
        variants = [(r, False) for r in REGULARISERS] + ([(r, True) for r in ("none", "fd")] if args.fuse else [])
        for reg, fused in variants:
            cfg = _cfg(f"model={cell}", f"regulariser={reg}", f"model.hidden={args.hidden}")
            torch.manual_seed(0)
            model = build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train()
            if fused:
                fuse_cells(model)
            ways[f"rnnbench {reg}" + (" fused" if fused else "")] = nll_step(model, x, mask)
        timings = measure_alternately(ways, device, args.warmup, args.repeats)
        t_ref, t_none = next(iter(timings.values())).median, timings["rnnbench none"].median
        for name, t in timings.items():
            ours = name.startswith("rnnbench")
            rows.append(_row(t, cell=cell, variant=name, frames_per_s=frames / t.median, vs_torch=t_ref / t.median,
                             vs_plain=t_none / t.median if ours else None))
            print(f"{cell:5s} {name:24s} {t.ms():>28s} ms  ({t_ref / t.median:.2f}x torch)", flush=True)
    return rows


def ptb_rows(args, device) -> list[dict]:
    """Every cell at Zaremba's medium shape (2 x 650, batch 20, 35 steps, 10k words; 003 §5.1) against
    PyTorch's fused 2-layer layer of that cell (cuDNN on a GPU), plain; for the LSTM also the
    variational LSTM of 003 (untied, medium). Words/s of one training step, a cell's rows timed alternately."""
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

        ways = {f"torch.nn.{TORCH_CELLS[cell].__name__} plain" + (" (cuDNN)" if device.type == "cuda" else ""): ref_step}
        variants = [("ptb-none-medium", False)]
        if cell == "lstm":
            variants += [("variational-untied-medium", False)] + ([("variational-untied-medium", True)] if args.fuse else [])
        for name, fused in variants:
            cfg = _cfg("dataset=ptb", f"experiment={name}", f"model={cell}")
            torch.manual_seed(0)
            model = build_word_lm(cfg.model, V, cfg.regulariser).to(device).train()
            if fused:
                fuse_cells(model)
            ways[f"rnnbench {name}" + (" fused" if fused else "")] = _lm_step(model, tokens, B, V)
        timings = measure_alternately(ways, device, args.warmup, args.repeats)
        t_ref = next(iter(timings.values())).median
        for name, t in timings.items():
            rows.append(_row(t, cell=cell, variant=name, words_per_s=B * T / t.median, vs_torch=t_ref / t.median))
            print(f"ptb {cell:5s} {name:36s} {t.ms():>28s} ms  ({t_ref / t.median:.2f}x torch)", flush=True)
    return rows


def _lm_step(model, tokens, B: int, V: int):
    def step():
        model.zero_grad(set_to_none=True)
        logits, _ = model(tokens[:, :-1], model.initial_state(B))
        nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1)).backward()

    return step


def population_rows(args, device, x, mask) -> list[dict]:
    """One update of P stacked sRNNs (fwd, bwd, optimiser) against P updates of one, the two timed alternately
    for each P."""
    cfg = _cfg("model=srnn", f"model.hidden={args.hidden}")
    rows = []
    for P in [int(p) for p in args.populations.split(",")]:
        models = []
        for seed in range(P):
            torch.manual_seed(seed)
            models.append(build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train())
        single, opt1 = models[0], build_optimizer(cfg.optim, models[0].parameters())

        def one_step():
            def closure():
                opt1.zero_grad(set_to_none=True)
                loss = masked_nll_sum(single(x), x, mask) / mask.sum()
                loss.backward()
                return loss
            opt1.step(closure)

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

        timings = measure_alternately({"one": one_step, "population": pop_step}, device, args.warmup, args.repeats)
        t_one, t = timings["one"].median, timings["population"]
        rows.append({"members": P, "ms_population": 1e3 * t.median, "ms_population_q1": 1e3 * t.q1,
                     "ms_population_q3": 1e3 * t.q3, "ms_sequential": 1e3 * P * t_one, "speedup": P * t_one / t.median,
                     "frames_per_s": P * args.batch * args.steps / t.median, "peak_mib": t.peak_mib})
        print(f"population P={P:4d}: {t.ms()} ms vs {1e3 * P * t_one:9.2f} ms sequential ({P * t_one / t.median:.2f}x)", flush=True)
    return rows


def _ms(r: dict, key: str = "ms") -> str:
    return ms_cell(r[key], r[key + "_q1"], r[key + "_q3"])


def _mib(v):
    return "–" if v is None else f"{v:,.0f}"


def main() -> None:
    p = parser(__doc__.split("\n")[0], warmup=2, repeats=9)
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
        sections.append(("Training step per cell and regulariser vs torch.nn", ["cell", "variant", "ms (quartiles)", "frames/s", "× torch speed", "time × rnnbench none", "peak MiB"],
                         cell_rows(args, device, x, mask),
                         lambda r: [r["cell"], r["variant"], _ms(r), f"{r['frames_per_s']:,.0f}", f"{r['vs_torch']:.2f}",
                                    "–" if r["vs_plain"] is None else f"{1 / r['vs_plain']:.2f}", _mib(r["peak_mib"])]))
    if "ptb" not in skip:
        sections.append(("PTB-medium shape (2 x 650, batch 20, 35 steps, 10k words)", ["cell", "variant", "ms (quartiles)", "words/s", "× torch speed", "peak MiB"],
                         ptb_rows(args, device),
                         lambda r: [r["cell"], r["variant"], _ms(r), f"{r['words_per_s']:,.0f}", f"{r['vs_torch']:.2f}", _mib(r["peak_mib"])]))
    if "population" not in skip:
        sections.append(("Population of JSB sRNNs: one update of P members vs P sequential updates",
                         ["P", "population ms (quartiles)", "sequential ms (P × one, median)", "speed-up", "frames/s", "peak MiB"],
                         population_rows(args, device, x, mask),
                         lambda r: [str(r["members"]), _ms(r, "ms_population"), f"{r['ms_sequential']:.1f}",
                                    f"{r['speedup']:.2f}", f"{r['frames_per_s']:,.0f}", _mib(r["peak_mib"])]))
    info = meta(args, device, "forward + backward (+ optimiser step for populations); the rows of one cell (of one P) "
                "timed alternately, pass by pass; quartiles in brackets")
    stem = args.name or f"engine-{device.type}"
    print(write_sections(args, stem, info, sections, title="rnnbench engine benchmark"))


if __name__ == "__main__":
    main()
