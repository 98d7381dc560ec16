"""Why an explicit cell is slower than cuDNN: kernel launches per training step, and what the same
step costs once its launches are taken away (a CUDA graph of the whole forward + backward).

    python -m benchmarks.launch_profile [--device cuda]

Per case (music shape 1 x 400, batch 32, 100 steps; PTB-medium 2 x 650, batch 20, 35 steps):
- eager ms: the median training step (forward + backward) as the engine runs it;
- graph ms: the same step captured once into a CUDA graph and replayed (GPU only): the time of
  the kernels themselves without the host's per-launch cost;
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
        return model, loss, args.batch * args.steps
    B, T, V = 20, 35, 10000
    cfg = _cfg("dataset=ptb", *overrides)
    model = build_word_lm(cfg.model, V, cfg.regulariser).to(device).train()
    tokens = torch.randint(V, (B, T + 1), generator=g).to(device)

    def loss():
        logits, _ = model(tokens[:, :-1], model.initial_state(B))
        return nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
    return model, loss, B * T


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


def _graph_ms(model, loss, device, args) -> float | None:
    """Median ms of the step replayed from a CUDA graph (grads accumulate into static buffers)."""
    if device.type != "cuda":
        return None
    params = [p for p in model.parameters() if p.requires_grad]
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up on a side stream, as torch.cuda.graphs asks
            loss().backward()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        loss().backward()
    for p in params:
        assert p.grad is not None
    return 1e3 * time_step(graph.replay, device, args.warmup, args.repeats)


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
        model, loss, items = _step_fn(shape, overrides, device, args)

        def step():
            model.zero_grad(set_to_none=True)
            loss().backward()

        eager = 1e3 * time_step(step, device, args.warmup, args.repeats)
        kernels, aten, kernel_ms = _counts(step, device)
        try:
            graph = _graph_ms(model, loss, device, args)
        except Exception as e:  # noqa: BLE001 - a step that cannot be captured is reported, not fatal
            print(f"{label}: no CUDA graph ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})")
            graph = None
        rows.append({"case": label, "shape": shape, "eager_ms": eager, "graph_ms": graph, "kernels": kernels,
                     "aten_ops": aten, "kernel_ms": kernel_ms, "items_per_step": items})
        print(f"{label:32s} eager {eager:8.2f} ms  graph {graph if graph is None else round(graph, 2)}  "
              f"kernels {kernels}  aten {aten}  kernel ms {kernel_ms:.2f}", flush=True)
    info = meta(args, device, "training step (forward + backward); counts from torch.profiler over one step")

    def _ms(v):
        return "–" if v is None else f"{v:.2f}"

    print(write(args, f"launch_profile-{device.type}", info, rows, "Kernel launches per training step",
                ["case", "shape", "eager ms", "CUDA-graph ms", "kernels/step", "aten ops/step", "kernel ms", "eager / graph"],
                lambda r: [r["case"], r["shape"], _ms(r["eager_ms"]), _ms(r["graph_ms"]), str(r["kernels"]), str(r["aten_ops"]),
                           _ms(r["kernel_ms"] or None), "–" if r["graph_ms"] is None else f"{r['eager_ms'] / r['graph_ms']:.1f}"]))


if __name__ == "__main__":
    main()
