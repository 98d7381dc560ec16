"""Sentiment regression on Pang & Lee's scale data (protocols.md §4; 003 §5.2 and its authors' code).

Embedding 128 -> one LSTM or GRU of 128 -> dense 1, MSE on standardised targets, Adam, batch 128.
The test RMSE is reported on the [0, 1] rating scale, deterministic and Monte Carlo (the
predictions of K stochastic passes averaged), and the test curve is logged every epoch (the
paper reports curves, not a table). The authors' protocol has no validation split, so there is
no early stopping: the model of the last epoch is reported, and ``selection_metric`` says so.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from rnnbench.data.sentiment import load_sentiment
from rnnbench.errors import ConfigError
from rnnbench.models import build_regressor
from rnnbench.loop import Divergence, epochs, results_header
from rnnbench.optim import build_optimizer
from rnnbench.regularisers import penalty
from rnnbench.results import metrics_log, save_state_atomic, write_json_atomic
from rnnbench.runtime import dtype_of, resolve_device, seed_everything

log = logging.getLogger("rnnbench")
FIELDS = ["epoch", "lr", "train_mse", "test_rmse", "epoch_s"]


@torch.no_grad()
def test_rmse(model, x: torch.Tensor, y: torch.Tensor, mean: float, std: float, batch: int, mc_samples: int = 0) -> float:
    """RMSE on the [0, 1] scale of the predictions (deterministic, or averaged over K noisy passes)."""
    was_training = model.training
    model.eval()
    preds = []
    for xb in x.split(batch):
        if mc_samples:
            preds.append(torch.stack([model(xb, sample=True) for _ in range(mc_samples)]).mean(0))
        else:
            preds.append(model(xb))
    model.train(was_training)
    pred = mean + std * torch.cat(preds).double()
    return float(((pred - y) ** 2).mean().sqrt())


def train_sentiment(cfg: DictConfig, run_dir: Path) -> dict:
    start = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ds = cfg.dataset
    if ds.batch < 1 or ds.segment < 1 or not 0 < ds.test_split < 1:
        raise ConfigError("dataset.batch and dataset.segment must be >= 1 and dataset.test_split in (0, 1)")
    device = resolve_device(cfg.device)
    dtype = dtype_of(cfg.train.precision)
    seed_everything(cfg.seed)
    data = load_sentiment(cfg.data, vocab=ds.vocab, segment=ds.segment, test_split=ds.test_split, seed=ds.split_seed)
    x_train, y_train = data.x_train.to(device), data.y_train.to(device=device, dtype=dtype)
    x_test, y_test = data.x_test.to(device), data.y_test.to(device)
    model = build_regressor(cfg.model, data.vocab_size, cfg.regulariser).to(device=device, dtype=dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(cfg.optim, params)
    metrics = metrics_log(cfg, run_dir / "metrics.csv", FIELDS)
    generator = torch.Generator().manual_seed(cfg.seed)
    # the authors' protocol has no validation split: the last epoch is reported, with its test curve.
    # What selects among runs (rnnbench-report, a Hydra sweeper) is the training RMSE, never the test's.
    results = results_header(cfg, model, device, model_label=cfg.model.name, selection="train_rmse", test="test_rmse")
    results.update(train_segments=len(x_train), test_segments=len(x_test))
    log.info("%s regression on %d train / %d test segments, %d parameters, %s", cfg.model.name, len(x_train),
             len(x_test), results["n_params"], results["device"])
    status, stop_reason, epoch, rmse = "ok", "max_epochs", 0, math.nan
    diverged = Divergence(cfg, 1.0, "train MSE")
    for epoch, lr, _ in epochs(cfg, opt, f"{cfg.model.name}/sentiment"):
        t0 = time.perf_counter()
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for index in torch.randperm(len(x_train), generator=generator).to(device).split(ds.batch):
            xb, yb = x_train[index], y_train[index]

            def closure():
                opt.zero_grad(set_to_none=True)
                mse = ((model(xb) - yb) ** 2).mean()
                (mse + penalty(model, model.noise)).backward()
                if cfg.train.clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, cfg.train.clip)
                return mse.detach() * len(index)

            total += opt.step(closure)
        train_mse = float(total) / len(x_train)
        rmse = test_rmse(model, x_test, y_test, data.mean, data.std, ds.batch)
        metrics.append(dict(epoch=epoch, lr=lr, train_mse=train_mse, test_rmse=rmse,
                            epoch_s=round(time.perf_counter() - t0, 2)))
        log.info("epoch %d  train MSE (standardised) %.4f  test RMSE %.4f", epoch, train_mse, rmse)
        # no validation split: the rule watches the training MSE of the standardised targets, whose
        # trivial floor (predicting the training mean) is 1
        reason = diverged(epoch, train_mse, rmse)
        if reason:
            status, stop_reason = "diverged", reason
            log.warning("epoch %d: diverged (%s); stopping", epoch, reason)
            break
        if cfg.train.max_seconds is not None and time.perf_counter() - start > cfg.train.max_seconds:
            stop_reason = f"time budget of {cfg.train.max_seconds}s reached"
            break
    results.update(status=status, stop_reason=stop_reason, epochs=epoch, best_epoch=epoch, test_rmse=rmse if status == "ok" else None,
                   eval_modes=["deterministic"])
    if status == "ok":
        results["train_rmse"] = test_rmse(model, x_train, data.mean + data.std * y_train.double(), data.mean,
                                          data.std, ds.batch)
        if cfg.eval.mc_samples:
            results["eval_modes"].append(f"mc{cfg.eval.mc_samples}")
            results["test_rmse_mc"] = test_rmse(model, x_test, y_test, data.mean, data.std, ds.batch, cfg.eval.mc_samples)
        if cfg.train.save_model:
            save_state_atomic(run_dir / "best.pt", model.state_dict())
    results["wall_s"] = time.perf_counter() - start
    write_json_atomic(run_dir / "results.json", results)
    log.info("%s: test RMSE %s after %d epochs; results in %s", status, results.get("test_rmse"), epoch, run_dir)
    return results
