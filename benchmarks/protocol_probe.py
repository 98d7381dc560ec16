"""The probe behind the diagnostics of docs/reproduction.md: train a music config for a few epochs
with a choice of loss reduction and print, per epoch, the train and valid NLL, how many updates
the gradient clipping (train.clip) cut, the largest gradient norm and |W_rec|.

    python -m benchmarks.protocol_probe REDUCTION EPOCHS [rnnbench overrides ...]

REDUCTION (what the optimiser and the clip see; the NLL printed is always per frame):
  mean      NLL per predicted frame, summed over notes (breze's and rnnbench's reading)
  notemean  also divided by the 88 notes
  seqsum    summed over the frames of each row, averaged over rows
  sum       summed over the whole batch
Only `mean` is rnnbench's protocol; the others are readings that were tried and not adopted.
"""
from __future__ import annotations

import math
import os
import sys
import time

import torch
from hydra import compose, initialize_config_module

from rnnbench.config import register_configs
from rnnbench.data.load import load_rolls
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.metrics import evaluate, masked
from rnnbench.models import build_model
from rnnbench.optim import build_optimizer
from rnnbench.runtime import seed_everything
from rnnbench.tasks.music import build_splits

REDUCTIONS = {"mean": lambda s, n, b: s / n, "notemean": lambda s, n, b: s / n / N_NOTES,
              "seqsum": lambda s, n, b: s / b, "sum": lambda s, n, b: s}


def main(argv: list[str]) -> None:
    reduction, n_epochs, overrides = argv[0], int(argv[1]), argv[2:]
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    register_configs()
    with initialize_config_module("rnnbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    seed_everything(cfg.seed)
    splits = build_splits(load_rolls(cfg.dataset, cfg.data), cfg.dataset, torch.device("cpu"))
    model = build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser)
    opt = build_optimizer(cfg.optim, model.parameters())
    params = list(model.parameters())
    generator = torch.Generator().manual_seed(cfg.seed)
    t0, best = time.time(), math.inf
    for epoch in range(1, n_epochs + 1):
        split, total, frames, clipped, batches, gmax = splits["train"], 0.0, 0, 0, 0, 0.0
        for index in torch.randperm(len(split), generator=generator).split(cfg.train.batch_size):
            inputs, targets, loss_mask, _ = split.rows(index, torch.float32)
            n, info = loss_mask.sum(), {}

            def closure():
                opt.zero_grad()
                s = masked(model.frame_losses(inputs, targets, None, loss_mask), loss_mask).sum()
                REDUCTIONS[reduction](s, n, len(index)).backward()
                info["norm"] = float(torch.nn.utils.clip_grad_norm_(params, cfg.train.clip))
                return s.detach()

            total += float(opt.step(closure))
            frames, batches = frames + int(n), batches + 1
            clipped += info["norm"] > cfg.train.clip
            gmax = max(gmax, info["norm"])
        valid = evaluate(model, splits["valid"], 64, torch.float32)
        best = min(best, valid.nll)
        print(f"{reduction} {' '.join(overrides)} | ep {epoch} train {total / frames:.3f} valid {valid.nll:.3f} "
              f"best {best:.3f} clipped {clipped}/{batches} gmax {gmax:.3g} |W_rec| {model.core.w_rec.norm():.1f} "
              f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
