"""Why an explicit cell is slower than cuDNN: kernel launches per training step, and what the same
step costs once its launches are taken away (a CUDA graph of the whole forward + backward).

    python -m benchmarks.launch_profile [--device cuda]

Per case (music shape 1 x 400, batch 32, 100 steps; PTB-medium 2 x 650, batch 20, 35 steps):
- eager ms: the median training step (forward + backward) as the engine runs it;
- graph ms: the same step captured once into a CUDA graph and replayed (GPU only): the time of
  the kernels themselves without the host's per-launch cost;
- update eager / graph ms: the engine's whole update (the step + train.clip + the run's optimiser's step,
  rnnbench/optim/clip.py), eager and captured: whether a run's update can be one graph, and its time;
- kernels / step and aten ops / step, counted with torch.profiler over one step;
- kernel ms: the summed device time of those kernels.
eager ≫ graph ≈ kernel time means the step is bound by launching (host), not by the GPU.
Writes <out>/launch_profile-<device>.json and .md.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import meta, parser, time_step, write
from benchmarks.engine import _cfg
from rnnbench.config import register_configs
from rnnbench.metrics import masked_nll_sum
from rnnbench.models import build_model, build_word_lm
from rnnbench.optim import build_optimizer
from rnnbench.optim.clip import update

CASES = [  # (label, shape, overrides)
    ("srnn none", "music", ["model=srnn", "regulariser=none"]),
    ("srnn fd", "music", ["model=srnn", "regulariser=fd"]),
    ("srnn fd (breze)", "music", ["model=srnn", "regulariser=fd", "protocol=breze"]),
    ("lstm none", "music", ["model=lstm", "regulariser=none"]),
    ("lstm variational", "music", ["model=lstm", "regulariser=variational"]),
    ("lstm ptb-none-medium", "ptb", ["experiment=ptb-none-medium"]),
    ("lstm variational-untied-medium", "ptb", ["experiment=variational-untied-medium"]),
]


def _step_fn(shape: str, overrides: list[str], device, args):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if shape == "music":
        cfg = _cfg(*overrides, f"model.hidden={args.hidden}")
        model = build_model(cfg.model, 88, 88, cfg.regulariser).to(device).train()
        x = (torch.rand(args.batch, args.steps, 88, generator=g) < 0.05).float().to(device)
        mask = torch.ones(args.batch, args.steps, dtype=torch.bool, device=device)

        def loss():
            return masked_nll_sum(model(x), x, mask) / mask.sum()
        return model, loss, args.batch * args.steps, cfg
    B, T, V = 20, 35, 10000
    cfg = _cfg("dataset=ptb", *overrides)
    model = build_word_lm(cfg.model, V, cfg.regulariser).to(device).train()
    tokens = torch.randint(V, (B, T + 1), generator=g).to(device)

    def loss():
        logits, _ = model(tokens[:, :-1], model.initial_state(B))
        return nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
    return model, loss, B * T, cfg


def _counts(step, device) -> tuple[int, int, float]:
    """(device kernels, aten ops, summed kernel ms) of one call of ``step``."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    events = prof.events()
    kernels = [e for e in events if e.device_type.name == "CUDA"]
    aten = sum(1 for e in events if e.device_type.name == "CPU" and e.name.startswith("aten::"))
    kernel_ms = sum(e.device_time for e in kernels) / 1e3 if kernels else 0.0
    return len(kernels), aten, kernel_ms


def _graph_ms(step, model, device, args) -> float | None:
    """Median ms of ``step`` replayed from a CUDA graph (its gradients, and optimiser state, in static buffers)."""
    if device.type != "cuda":
        return None
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up on a side stream, as torch.cuda.graphs asks (the optimiser makes its state)
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    for p in model.parameters():
        assert not p.requires_grad or p.grad is not None
    return 1e3 * time_step(graph.replay, device, args.warmup, args.repeats)


def _graph_or_none(label: str, what: str, step, model, device, args) -> float | None:
    try:
        return _graph_ms(step, model, device, args)
    except Exception as e:  # noqa: BLE001 - a step that cannot be captured is reported, not fatal
        print(f"{label}: no CUDA graph of the {what} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
        return None


def main() -> None:
    p = parser(__doc__.split("\n")[0], warmup=5, repeats=20)
    p.add_argument("--cases", default=None, help="comma-separated labels, spaces written as _ (default: all)")
    args = p.parse_args()
    register_configs()
    device = torch.device(args.device)
    wanted = set(args.cases.split(",")) if args.cases else None
    rows = []
    for label, shape, overrides in CASES:
        if wanted and label.replace(" ", "_") not in wanted and label not in wanted:
            continue
        model, loss, items, cfg = _step_fn(shape, overrides, device, args)

        def step():
            model.zero_grad(set_to_none=True)
            loss().backward()

        params = [p for p in model.parameters() if p.requires_grad]
        opt = build_optimizer(cfg.optim, params)

        def whole_update():  # the engine's update: + train.clip and the run's optimiser (rnnbench/optim/clip.py)
            update(opt, params, cfg.train.clip, lambda: (loss(), None))

        eager = 1e3 * time_step(step, device, args.warmup, args.repeats)
        kernels, aten, kernel_ms = _counts(step, device)
        graph = _graph_or_none(label, "step", step, model, device, args)
        update_eager = 1e3 * time_step(whole_update, device, args.warmup, args.repeats)
        update_graph = _graph_or_none(label, "update", whole_update, model, device, args)
        rows.append({"case": label, "shape": shape, "eager_ms": eager, "graph_ms": graph, "kernels": kernels,
                     "aten_ops": aten, "kernel_ms": kernel_ms, "items_per_step": items,
                     "optimiser": cfg.optim.name, "update_eager_ms": update_eager, "update_graph_ms": update_graph})
        print(f"{label:32s} eager {eager:8.2f} ms  graph {graph if graph is None else round(graph, 2)}  "
              f"kernels {kernels}  aten {aten}  kernel ms {kernel_ms:.2f}  update ({cfg.optim.name}) eager "
              f"{update_eager:.2f} graph {update_graph if update_graph is None else round(update_graph, 2)}", flush=True)
    info = meta(args, device, "training step (forward + backward); counts from torch.profiler over one step; "
                "update = the engine's whole update (+ train.clip and the run's optimiser's step)")

    def _ms(v):
        return "–" if v is None else f"{v:.2f}"

    print(write(args, f"launch_profile-{device.type}", info, rows, "Kernel launches per training step",
                ["case", "shape", "eager ms", "CUDA-graph ms", "kernels/step", "aten ops/step", "kernel ms", "eager / graph",
                 "optimiser", "update eager ms", "update CUDA-graph ms"],
                lambda r: [r["case"], r["shape"], _ms(r["eager_ms"]), _ms(r["graph_ms"]), str(r["kernels"]), str(r["aten_ops"]),
                           _ms(r["kernel_ms"] or None), "–" if r["graph_ms"] is None else f"{r['eager_ms'] / r['graph_ms']:.1f}",
                           r["optimiser"], _ms(r["update_eager_ms"]), _ms(r["update_graph_ms"])]))


if __name__ == "__main__":
    main()
