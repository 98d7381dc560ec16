"""The summary of benchmarks/gpu.sh: the targets of the GPU figures checked, one JSON + markdown.

    python -m benchmarks.gpu_summary OUT

Reads what gpu.sh left in OUT (machine.txt, stages.txt, engine-<device>.json, ptb-medium/ and
fdrnn-jsb/ run folders) and writes OUT/gpu.json and OUT/gpu.md. A figure a stage did not produce
is reported missing (with the stage's exit status), never guessed.
"""
from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

# (what, the target, how a measured value passes it; None: a figure recorded, no target): README "Performance"
TARGETS = {
    "variational LSTM / cuDNN plain LSTM throughput (PTB medium shape)": (">= 0.8", lambda v: v >= 0.8),
    "FD-sRNN step time / plain sRNN step time (music shape)": ("<= 2.5", lambda v: v <= 2.5),
    "population of 32 vs 32 sequential updates (speed-up)": (">= 10", lambda v: v >= 10),
    "PTB medium words/s over one training epoch (variational, tied)": (">= 60000", lambda v: v >= 60_000),
    "experiment=fdrnn-jsb seconds per epoch": ("(none: recorded)", None),
    "002's search of one-member groups: worker processes vs here (best speed-up, same numbers)": (
        "(none: recorded)", None),
}


def _json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _section(engine: dict | None, prefix: str) -> list[dict]:
    if not engine:
        return []
    return next((rows for title, rows in engine["results"].items() if title.startswith(prefix)), [])


def measure(out: Path) -> dict:
    engine = next((_json(p) for p in sorted(out.glob("engine-*.json")) if "fused" not in p.name), None)
    values: dict[str, float | None] = dict.fromkeys(TARGETS)
    ptb = _section(engine, "PTB-medium")
    variational = next((r for r in ptb if r["cell"] == "lstm" and r["variant"] == "rnnbench variational-untied-medium"), None)
    values["variational LSTM / cuDNN plain LSTM throughput (PTB medium shape)"] = variational and variational["vs_torch"]
    cells = _section(engine, "Training step")
    fd = next((r for r in cells if r["cell"] == "srnn" and r["variant"] == "rnnbench fd"), None)
    values["FD-sRNN step time / plain sRNN step time (music shape)"] = fd and 1 / fd["vs_plain"]
    pop = next((r for r in _section(engine, "Population") if r["members"] == 32), None)
    values["population of 32 vs 32 sequential updates (speed-up)"] = pop and pop["speedup"]
    ptb_run = _rows(out / "ptb-medium" / "metrics.csv")
    values["PTB medium words/s over one training epoch (variational, tied)"] = (
        float(ptb_run[0]["words_per_s"]) if ptb_run and ptb_run[0].get("words_per_s") else None)
    jsb_run = _rows(out / "fdrnn-jsb" / "metrics.csv")
    # the median epoch: the first one also pays for start-up (cuBLAS handles, allocator)
    values["experiment=fdrnn-jsb seconds per epoch"] = (
        statistics.median(float(r["epoch_s"]) for r in jsb_run) if jsb_run else None)
    dispatch = next((_json(p) for p in sorted(out.glob("search_dispatch-*.json"))), None)
    same = [r for r in (dispatch or {}).get("rows", [])[1:] if r["rc"] == 0 and r["same_numbers"] and r["speedup"]]
    values["002's search of one-member groups: worker processes vs here (best speed-up, same numbers)"] = (
        max(r["speedup"] for r in same) if same else None)
    stages = dict(line.split(" ", 1) for line in (out / "stages.txt").read_text().splitlines()) \
        if (out / "stages.txt").is_file() else {}
    return {"machine": (out / "machine.txt").read_text() if (out / "machine.txt").is_file() else "",
            "stages": stages,
            "launch_profile": next((_json(p)["results"] for p in sorted(out.glob("launch_profile-*.json"))), None),
            "runs": {name: _json(out / name / "results.json") for name in ("ptb-medium", "fdrnn-jsb")},
            "targets": [{"what": k, "target": TARGETS[k][0], "measured": v,
                         "met": None if v is None or TARGETS[k][1] is None else bool(TARGETS[k][1](v))}
                        for k, v in values.items()]}


def markdown(summary: dict) -> str:
    lines = ["# GPU figures (benchmarks/gpu.sh)", "", "```", summary["machine"].strip(), "```", "",
             "| figure | target | measured | met |", "| --- | --- | --- | --- |"]
    for t in summary["targets"]:
        v = t["measured"]
        shown = "missing" if v is None else (f"{v:,.0f}" if v >= 1000 else f"{v:.3g}")
        lines.append(f"| {t['what']} | {t['target']} | {shown} | {'–' if t['met'] is None else ('yes' if t['met'] else 'NO')} |")
    lines += ["", "Stages (exit status, seconds): " + "; ".join(f"{k} {v}" for k, v in summary["stages"].items())]
    for name, res in summary["runs"].items():
        if res:
            keys = [k for k in ("status", "stop_reason", "epochs", "seconds_per_epoch", "valid_ppl", "test_ppl",
                                "valid_nll", "test_nll", "device", "commit") if k in res]
            lines.append(f"- {name}: " + ", ".join(f"{k} {res[k]}" for k in keys))
    if summary.get("launch_profile"):
        lines += ["", "Launches per training step (benchmarks/launch_profile.py):", "",
                  "| case | eager ms | CUDA-graph ms | kernels/step | aten ops/step | kernel ms | update eager ms | update CUDA-graph ms |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        ms = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
        for r in summary["launch_profile"]:  # (the update columns are missing from files before 2026-12-04)
            lines.append(f"| {r['case']} | {r['eager_ms']:.2f} | {ms(r['graph_ms'])} | {r['kernels']} | {r['aten_ops']} | "
                         f"{r['kernel_ms']:.2f} | {ms(r.get('update_eager_ms'))} | {ms(r.get('update_graph_ms'))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        sys.exit("usage: python -m benchmarks.gpu_summary OUT   (the folder benchmarks/gpu.sh wrote)")
    out = Path(args[0])
    summary = measure(out)
    (out / "gpu.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = markdown(summary)
    (out / "gpu.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
