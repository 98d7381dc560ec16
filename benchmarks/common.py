"""What the benchmark scripts share: arguments, timing, the device's name, and writing the
figures (JSON plus a short markdown table, with date, device, torch version and commit)."""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnbench.metrics import masked_nll_sum

RESULTS = Path(__file__).parent / "results"


def parser(description: str, warmup: int, repeats: int) -> argparse.ArgumentParser:
    """Arguments of every benchmark; the defaults are the JSB shape (batch 32, 100 steps, 400 hidden)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--hidden", type=int, default=400)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--repeats", type=int, default=repeats)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_step(fn, device: torch.device, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn()`` after warm-up (synchronising the GPU around each call)."""
    return time_alternately({"step": fn}, device, warmup, repeats)["step"]


def time_alternately(ways: dict, device: torch.device, warmup: int, repeats: int) -> dict:
    """Median seconds of each ``ways[name]()``, the ways called in turn on every pass (so that all of them see the
    same machine), the first ``warmup`` passes not timed; the GPU is synchronised around each call."""
    return {name: t.median for name, t in measure_alternately(ways, device, warmup, repeats).items()}


@dataclass(frozen=True)
class Timing:
    """One way's timed calls: the median and quartiles in seconds (the spread says how steady the machine was),
    and on a GPU the most memory one call held above what was allocated before it (its activations, gradients and
    workspaces; MiB), measured on a call of its own before the timed passes."""
    median: float
    q1: float
    q3: float
    peak_mib: float | None = None

    def ms(self) -> str:
        """The markdown cell: median (quartiles) in milliseconds."""
        return ms_cell(1e3 * self.median, 1e3 * self.q1, 1e3 * self.q3)


def ms_cell(median: float, q1: float, q3: float) -> str:
    """A timing as the tables print it: median (quartiles), in the unit given (milliseconds)."""
    return f"{median:.2f} ({q1:.2f}–{q3:.2f})"


def nll_step(model, x: torch.Tensor, mask: torch.Tensor):
    """One training step of a music model on the batch x (next-step targets x, all steps counted): forward and
    backward of the mean NLL."""

    def step():
        model.zero_grad(set_to_none=True)
        (masked_nll_sum(model(x), x, mask) / mask.sum()).backward()

    return step


def measure_alternately(ways: dict, device: torch.device, warmup: int, repeats: int) -> dict:
    """``Timing`` of each ``ways[name]()``: on a GPU first each way once for its peak memory (Timing.peak_mib),
    then ``warmup`` + ``repeats`` passes that call every way in turn, so that a ratio of two ways is measured on
    the same machine state (a shared machine's load moves the times of one pass by tens of percent:
    docs/benchmarks.md); the GPU is synchronised around each timed call."""
    peaks = {}
    if device.type == "cuda":
        for name, fn in ways.items():
            _sync(device)
            before = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            fn()
            _sync(device)
            peaks[name] = (torch.cuda.max_memory_allocated(device) - before) / 2**20
    times = {name: [] for name in ways}
    for i in range(warmup + repeats):
        for name, fn in ways.items():
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    out = {}
    for name, t in times.items():
        q1, _, q3 = statistics.quantiles(t, n=4, method="inclusive") if len(t) > 1 else (t[0],) * 3
        out[name] = Timing(statistics.median(t), q1, q3, peaks.get(name))
    return out


def environment(device: torch.device) -> dict:
    """Where and when a figure was measured: date, the device's name, torch's version, the commit."""
    from rnnbench.runtime import git_commit  # the one reader of the commit (with $RNNBENCH_COMMIT, -dirty)

    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)")
    if device.type == "cuda":
        name += f" (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})"
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"), "device": name, "torch": torch.__version__,
            "commit": git_commit() or "unknown"}


def meta(args, device: torch.device, timing: str) -> dict:
    return {**environment(device), "shape": {k: getattr(args, k) for k in ("batch", "steps", "hidden")},
            "timing": f"median of {args.repeats} after {args.warmup} warm-up steps; {timing}"}


def write(args, stem: str, info: dict, rows: list[dict], title: str, header: list[str], cells) -> str:
    """Write <out>/<stem>.json and .md; ``cells(row)`` gives a row's markdown cells. Returns the table."""
    return write_sections(args, stem, info, [(title, header, rows, cells)])


def write_sections(args, stem: str, info: dict, sections: list[tuple], title: str | None = None) -> str:
    """Like ``write`` with several tables: sections of (title, header, rows, cells) under ``title``."""
    args.out.mkdir(parents=True, exist_ok=True)
    single = len(sections) == 1
    results = sections[0][2] if single else {t: rows for t, _, rows, _ in sections}
    (args.out / f"{stem}.json").write_text(json.dumps({**info, "results": results}, indent=2) + "\n")
    lines = [f"# {sections[0][0] if single else title} ({info['device']})", "",
             f"{info['date']}, torch {info['torch']}, commit {info['commit']}; shape {info['shape']}; {info['timing']}."]
    for name, header, rows, cells in sections:
        lines += [""] + ([] if single else [f"## {name}", ""])
        lines += ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
        lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    (args.out / f"{stem}.md").write_text(text)
    return text
