"""Sentiment regression on Pang & Lee's scale data (protocols.md §4; 003 §5.2 and its authors' code).

Embedding 128 -> one LSTM or GRU of 128 -> dense 1, MSE on standardised targets, Adam, batch 128.
The test RMSE is reported on the [0, 1] rating scale, deterministic and Monte Carlo (the
predictions of K stochastic passes averaged), and the test curve is logged every epoch (the
paper reports curves, not a table); with ``eval.mc_curve`` the Monte Carlo curve too, which is
what 003 §5.2 plots ("MC dropout at test time with 10 samples"; the authors' ModelTest callback
computes both every epoch). The authors' protocol has no validation split, so there is
no early stopping: the model of the last epoch is reported, and ``selection_metric`` says so.
"""
from __future__ import annotations

import logging
import math
from typing import Optional
from pathlib import Path

import torch
from omegaconf import DictConfig

from rnnbench.data.batches import limit
from rnnbench.data.sentiment import load_sentiment
from rnnbench.models import build_regressor
from rnnbench.engine.loop import n_params, results_header
from rnnbench.engine.task import Outcome, Task
from rnnbench.optim import build_optimizer
from rnnbench.optim.clip import update
from rnnbench.regularisers import penalty
from rnnbench.runtime import device_name, dtype_of, fixed_draws, resolve_device, seed_everything

log = logging.getLogger("rnnbench")
FIELDS = ["epoch", "lr", "train_mse", "test_rmse", "epoch_s"]
MC_FIELD = "test_rmse_mc"  # with eval.mc_curve, after test_rmse


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


class RegressionTask(Task):
    """Sentiment regression (dataset.task=regression): MSE on standardised targets; the test RMSE
    curve is logged every epoch and the last epoch's model is reported (no validation split)."""

    fields = FIELDS
    # no validation split: the rule watches the training MSE of the standardised targets, whose
    # trivial floor (predicting the training mean) is 1
    watched_name = "train MSE"
    floor = 1.0
    floor_name = "the training mean for every segment"
    select_last = True

    def __init__(self, cfg: DictConfig, run_dir: Path):
        ds = cfg.dataset
        self.cfg, self.members, self.run_dirs = cfg, [cfg], [Path(run_dir)]
        self.device = resolve_device(cfg.device)
        dtype = dtype_of(cfg.train.precision)
        seed_everything(cfg.seed)
        self.data = data = load_sentiment(cfg.data, vocab=ds.vocab, segment=ds.segment, test_split=ds.test_split,
                                          seed=ds.split_seed)
        n_train, n_test = (limit(len(x), cfg.train.batch_size, cfg.train) for x in (data.x_train, data.x_test))  # train.limit_batches
        self.x_train, self.y_train = data.x_train[:n_train].to(self.device), data.y_train[:n_train].to(device=self.device, dtype=dtype)
        self.x_test, self.y_test = data.x_test[:n_test].to(self.device), data.y_test[:n_test].to(self.device)
        self.model = build_regressor(cfg.model, data.vocab_size, cfg.regulariser, cfg.train.fuse).to(device=self.device,
                                                                                                     dtype=dtype)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = build_optimizer(cfg.optim, self.params)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.train_mse = self.last_rmse = self.last_rmse_mc = math.nan
        self.mc_curve = bool(cfg.eval.get("mc_curve", False))
        if self.mc_curve:
            self.fields = FIELDS[:4] + [MC_FIELD] + FIELDS[4:]
        log.info("%s regression on %d train / %d test segments, %d parameters, %s", cfg.model.name, len(self.x_train),
                 len(self.x_test), n_params(self.model), device_name(self.device))

    def headers(self) -> list[dict]:
        # the authors' protocol has no validation split: the last epoch is reported, with its test curve.
        # What selects among runs (rnnbench-report, a Hydra sweeper) is the training RMSE, never the test's.
        header = results_header(self.cfg, self.model, self.device, model_label=self.cfg.model.name,
                                selection="train_rmse", test="test_rmse")
        header.update(train_segments=len(self.x_train), test_segments=len(self.x_test))
        return [header]

    def train_epoch(self, epoch, active, resume, checkpoint) -> None:
        model, opt, cfg = self.model, self.opt, self.cfg
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for index in torch.randperm(len(self.x_train), generator=self.generator).to(self.device).split(cfg.train.batch_size):
            xb, yb = self.x_train[index], self.y_train[index]

            def loss():
                mse = ((model(xb) - yb) ** 2).mean()
                return mse + penalty(self.params, model.noise), mse.detach() * len(index)

            value, _ = update(opt, self.params, cfg.train.clip, loss)  # train.clip: rnnbench/optim/clip.py
            total += value
        self.train_mse = float(total) / len(self.x_train)

    def validate(self, epoch, active) -> list[Outcome]:
        rmse = test_rmse(self.model, self.x_test, self.y_test, self.data.mean, self.data.std, self.cfg.train.batch_size)
        self.last_rmse = rmse
        row = dict(train_mse=self.train_mse, test_rmse=rmse)
        if self.mc_curve:
            row[MC_FIELD] = self.last_rmse_mc = self._mc_rmse()
        return [Outcome(self.train_mse, (rmse,), row)]

    def _mc_rmse(self) -> float:
        """The Monte Carlo test RMSE (eval.mc_samples passes) with the same draws every epoch (common random numbers,
        seeded from the run's seed), in a forked random state: training draws what it would draw without it."""
        with fixed_draws(self.cfg.seed + 1, self.device):
            return test_rmse(self.model, self.x_test, self.y_test, self.data.mean, self.data.std,
                             self.cfg.train.batch_size, self.cfg.eval.mc_samples)

    def finish(self, i: int, best_state: Optional[dict], best: float, results: dict) -> Optional[dict]:
        """The last epoch's model (``best_state`` with select_last), unless the run diverged (its last state is
        the one that blew up)."""
        results["eval_modes"] = ["deterministic"]
        if results["status"] == "diverged" or best_state is None:
            results["test_rmse"] = None
            return None
        data, cfg = self.data, self.cfg
        self.model.load_state_dict(best_state)
        results["test_rmse"] = self.last_rmse
        results["train_rmse"] = test_rmse(self.model, self.x_train, data.mean + data.std * self.y_train.double(),
                                          data.mean, data.std, cfg.train.batch_size)
        if cfg.eval.mc_samples:
            results["eval_modes"].append(f"mc{cfg.eval.mc_samples}")
            # with the curve: its last point, the same model and draws (as test_rmse is the deterministic curve's)
            results[MC_FIELD] = (self.last_rmse_mc if self.mc_curve else
                                 test_rmse(self.model, self.x_test, self.y_test, data.mean, data.std,
                                           cfg.train.batch_size, cfg.eval.mc_samples))
        return best_state

    def state_dict(self) -> dict:
        return {**super().state_dict(), "last_rmse": self.last_rmse, "last_rmse_mc": self.last_rmse_mc}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.last_rmse = state["last_rmse"]
        self.last_rmse_mc = state["last_rmse_mc"]
