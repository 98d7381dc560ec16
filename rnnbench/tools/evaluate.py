"""``rnnbench-eval RUN_DIR``: evaluate a finished music run again, without training: the
deterministic NLL, Monte Carlo with ``--mc-samples K``, or, for STORN, the importance-sampled
NLL and the negative ELBO with ``--is-samples K`` (several K: ``--is-samples 10,100,1000``);
``--per-sequence`` adds the deterministic NLL of every sequence of the split (which piece a model fails
on: docs/measurements/2026-12-02-001-t1, section 5). Prints one JSON object per evaluation (and per
sequence); the run's results.json is not changed."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from rnnbench.config import EvalConfig
from rnnbench.config.checks import upper
from rnnbench.data.load import load_rolls
from rnnbench.engine.loop import work_progress
from rnnbench.errors import RnnbenchError, cli_entry
from rnnbench.metrics import evaluate, per_sequence_totals, summary
from rnnbench.models import STORN
from rnnbench.tools.args import Parser, count
from rnnbench.tools.sample import load_run
from rnnbench.tasks.music import build_splits, holds_state, storn_bounds


MAX_MC, MAX_IS = upper(EvalConfig, "mc_samples"), upper(EvalConfig, "is_samples")  # the caps of eval.* (README: Limits)


def parse_args(argv=None):
    p = Parser(prog="rnnbench-eval", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("run_dir", type=Path)
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--is-samples", default="", help=f"STORN: comma-separated K values (each at most {MAX_IS})")
    p.add_argument("--mc-samples", type=int, default=0,
                   help=f"deterministic models: Monte Carlo with K passes (at most {MAX_MC})")
    p.add_argument("--per-sequence", action="store_true",
                   help="deterministic models: also one line per sequence of the split (its index in the data file's split, frames, NLL)")
    p.add_argument("--seed", type=count(0, 2**63 - 1), default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-root", default=None)
    return p.parse_args(argv)


def _sample_counts(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise RnnbenchError(f"--is-samples takes comma-separated whole numbers, e.g. 10,100,1000; got '{text}'") from None
    if any(k < 1 for k in ks):
        raise RnnbenchError(f"--is-samples values must be >= 1, got {text}")
    if any(k > MAX_IS for k in ks):
        raise RnnbenchError(f"--is-samples values must be <= {MAX_IS} (README: Limits), got {text}")
    return ks


def main(argv=None) -> int:
    args = parse_args(argv)
    if not 0 <= args.mc_samples <= MAX_MC:
        raise RnnbenchError(f"--mc-samples must be >= 0 (0: deterministic) and <= {MAX_MC}, got {args.mc_samples}")
    ks = _sample_counts(args.is_samples)
    cfg, model = load_run(args.run_dir, args.device, tool="rnnbench-eval")
    if args.data_root:
        cfg.data.root = args.data_root
    p = next(model.parameters())
    split = build_splits(load_rolls(cfg.dataset, cfg.data), cfg.dataset, p.device)[args.split]
    hold = holds_state(cfg.dataset)
    if ks and not isinstance(model, STORN):
        raise RnnbenchError("--is-samples applies to STORN runs; use --mc-samples for the others")
    if args.per_sequence and (isinstance(model, STORN) or args.mc_samples):
        raise RnnbenchError("--per-sequence reports the deterministic NLL of each sequence; it does not apply to STORN "
                            "runs or with --mc-samples")
    torch.manual_seed(args.seed)
    out = {"run": str(args.run_dir), "split": args.split, "seed": args.seed}
    for K in ks:  # a bar on a terminal: K = 1000 takes minutes (docs/storn.md)
        with work_progress(sys.stderr.isatty(), f"K={K}", int(split.lengths.sum()), "steps") as advance:
            bounds = storn_bounds(model, split, K, cfg, p.dtype, hold, progress=advance)
        print(json.dumps({**out, "is_samples": K, **bounds}), flush=True)
    if ks:
        return 0
    if args.per_sequence:  # one pass: the split's NLL is the summary of the same per-sequence sums (metrics.py)
        model.eval()
        with torch.no_grad():
            totals, frames = per_sequence_totals(model.frame_losses, split, cfg.train.eval_batch_size, p.dtype, hold)
        nll = summary(totals, frames)
    else:
        nll = evaluate(model, split, cfg.train.eval_batch_size, p.dtype, hold, args.mc_samples)
    print(json.dumps({**out, "mc_samples": args.mc_samples, "nll": nll.nll, "nll_seq_mean": nll.nll_seq_mean}))
    if args.per_sequence:
        for i, (total, n) in enumerate(zip(totals.tolist(), frames.tolist())):
            print(json.dumps({**out, "sequence": i, "frames": int(n), "nll": total / n if n else None}))
    return 0


def entry() -> int:
    return cli_entry("rnnbench-eval", main)

if __name__ == "__main__":
    sys.exit(entry())
