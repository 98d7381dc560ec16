"""The music task: next-frame prediction of piano rolls (dataset.task=music).

Protocol (protocols.md §1, 000 §3.1): minibatches of 100-step chunks of the training
sequences; validation NLL on the chunked validation set after every epoch (dataset.valid_whole:
on the whole validation sequences, a documented switch for selection); early stopping
with patience; the test NLL is that of the best-validation model on the full test sequences.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Optional

import torch
from omegaconf import DictConfig

from rnnbench.config import PadMode, setting, value_of
from rnnbench.data.batches import Split, epoch_batches, limit, make_split
from rnnbench.data.load import load_rolls
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.errors import ConfigError
from rnnbench.metrics import batch_loss, breze_importance_nll, evaluate, importance_nll, masked
from rnnbench.models import STORN, build_model
from rnnbench.models.init import spectral_radius
from rnnbench.floors import copy_previous_nll, note_frequency_nll
from rnnbench.engine.loop import n_params, results_header, shows_bars, work_progress
from rnnbench.engine.task import Outcome, Task
from rnnbench.optim import build_optimizer
from rnnbench.optim.clip import update
from rnnbench.regularisers import penalty
from rnnbench.runtime import device_name, dtype_of, fixed_draws, resolve_device, seed_everything

log = logging.getLogger("rnnbench")

METRIC_FIELDS = ["epoch", "lr", "train_nll", "grad_norm", "valid_nll", "valid_nll_seq_mean", "best_valid_nll", "spectral_radius", "epoch_s"]


def holds_state(dataset_cfg) -> bool:
    """pad=hold: the state is held through front padding (the step mask goes into the net)."""
    return value_of(dataset_cfg.pad) == PadMode.hold.value


def build_splits(rolls: dict[str, list], dataset_cfg, device: torch.device, train_cfg=None) -> dict[str, Split]:
    """Train/valid cut into chunks (front-padded), test on full sequences (000 §3.1); with
    dataset.valid_whole, valid on full sequences too (chunks cannot show a state that grows over
    thousands of steps: issue 31, Piano-midi); with ``train_cfg``, each cut to its first
    train.limit_batches batches (a fast dev run)."""
    def split(rows: list, chunked: bool) -> Split:
        return make_split(rows, predict_first=dataset_cfg.predict_first, device=device,
                          chunk_len=dataset_cfg.chunk_len if chunked else None)

    splits = {"train": split(rolls["train"], True),
              "valid": split(rolls["valid"], not setting(dataset_cfg, "valid_whole", False)),
              "test": split(rolls["test"], False)}
    if train_cfg is None:
        return splits
    return {k: s.head(limit(len(s), train_cfg.batch_size if k == "train" else train_cfg.eval_batch_size, train_cfg))
            for k, s in splits.items()}


def train_epoch(net, opt, split: Split, batches: list[torch.Tensor], cfg, dtype, hold: bool, clip,
                lead: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over the training rows ``batches`` (each (b,), or (P, b) for a stacked population of P
    members, each its own rows); returns the frame-weighted train NLL over the real frames and the mean
    grad norm, each () or (P,). ``net`` is the model or the stacked population (``lead`` = 1)."""
    net.train(True)
    device = split.inputs.device
    params = [p for p in net.parameters() if p.requires_grad]
    padded = setting(cfg.train, "loss", "masked") == "padded"
    total = norms = frames = torch.zeros((), dtype=torch.float64, device=device)
    for index in batches:
        inputs, targets, loss_mask, step_mask = (t.view(*index.shape, *t.shape[1:])
                                                 for t in split.rows(index.flatten().to(device), dtype, padded=padded))

        def loss():
            losses = net.frame_losses(inputs, targets, step_mask if hold else None, loss_mask)  # (..., b, T)
            # mean NLL (STORN: negative ELBO) per predicted frame of the batch, or (train.loss=padded,
            # breze) per position of the padded chunk batch, plus an L1/L2 penalty (001 §7) if any; a
            # population's members each their own
            objective = batch_loss(losses, loss_mask, padded) + penalty(params, net.noise, lead)
            return objective, masked(losses, loss_mask).sum(dim=(-2, -1)).detach()

        value, grad_norm = update(opt, params, clip, loss)  # train.clip: rnnbench/optim/clip.py
        total = total + value.double()
        norms = norms + grad_norm.detach().double()
        frames = frames + loss_mask.sum(dim=(-2, -1)).double()
    return total / frames.clamp_min(1), norms / max(len(batches), 1)


def storn_bounds(model, split: Split, K: int, cfg, dtype, hold: bool, prefix: str = "", progress=None) -> dict:
    """STORN's numbers on one split: ``nll`` = the honest importance-sampled bound (log q at the
    variance z is drawn with, T - 1 frames: with dataset.predict_first the first frame is left
    out), its Monte Carlo standard error ``nll_se``, the negative ELBO ``elbo`` from the same K draws,
    and with eval.breze_samples > 0 breze's estimate ``nll_breze`` beside them (metrics.py). ``progress``: as
    metrics.importance_nll's (the K-sample pass; breze's K is small)."""
    bound = importance_nll(model, split, K, dtype, hold, cfg.eval.is_batch, skip_first=cfg.dataset.predict_first,
                           progress=progress)
    out = {"nll": bound.nll.nll, "nll_seq_mean": bound.nll.nll_seq_mean, "frames": bound.nll.frames,
           "nll_se": bound.se, "elbo": bound.elbo.nll, "elbo_seq_mean": bound.elbo.nll_seq_mean}
    breze_k = setting(cfg.eval, "breze_samples", 0)
    if breze_k:
        out["nll_breze"] = breze_importance_nll(model, split, breze_k, dtype, hold, cfg.eval.is_batch)
    return {f"{prefix}{k}": v for k, v in out.items()}


def _storn_results(model, splits: dict[str, Split], cfg, dtype, hold: bool, results: dict) -> None:
    """STORN: the importance-sampled NLL (``*_nll``, Rezende et al. 2014), its standard error and the
    negative ELBO (``*_elbo``) of valid and test from eval.is_samples draws (and breze's estimate,
    ``*_nll_breze``, with eval.breze_samples); train gets the one-sample bound."""
    K = cfg.eval.is_samples
    torch.manual_seed(cfg.seed + 2)
    train = evaluate(model, splits["train"], cfg.train.eval_batch_size, dtype, hold)
    results.update(train_nll=None, train_elbo=train.nll, train_frames=train.frames)
    for split in ("valid", "test"):
        log.info("importance sampling the %s NLL with K=%d", split, K)
        with work_progress(shows_bars(cfg), f"importance sampling the {split} NLL", int(splits[split].lengths.sum()),
                           "steps") as advance:
            results.update(storn_bounds(model, splits[split], K, cfg, dtype, hold, prefix=f"{split}_", progress=advance))
    breze_k = setting(cfg.eval, "breze_samples", 0)
    results["eval_modes"] = [f"is{K}"] + ([f"breze-is{breze_k}"] if breze_k else [])
    results["is_samples"] = K
    if isinstance(model, STORN) and model.rate_logits is not None:
        results["recognition_rates"] = {k: float(v.detach()) for k, v in model.recognition_rates().items()}


def check_run_config(cfg) -> None:
    """What the schemas' ranges cannot check about a music run (those are checked by config.check_common,
    called by train() and the population trainer): settings that do not fit together."""
    if cfg.model.name == "storn" and cfg.eval.mc_samples:
        raise ConfigError("eval.mc_samples does not apply to model=storn; its test NLL is importance-sampled "
                          "(eval.is_samples)")
    if setting(cfg.eval, "breze_samples", 0) and cfg.model.name != "storn":
        raise ConfigError("eval.breze_samples is breze's estimate of STORN's NLL; it applies to model=storn only")
    if setting(cfg.train, "loss", "masked") == "padded" and cfg.dataset.predict_first:
        raise ConfigError("train.loss=padded is breze's loss on chunks that do not predict their first frame; "
                          "it needs dataset.predict_first=false")


def epoch_row(train_nll: float, grad_norm: float, valid, w_rec) -> dict:
    """The task's columns of metrics.csv (the spectral radius of W_rec: 000 Fig. 2)."""
    return dict(train_nll=train_nll, grad_norm=grad_norm, valid_nll=valid.nll, valid_nll_seq_mean=valid.nll_seq_mean,
                spectral_radius=spectral_radius(w_rec) if w_rec is not None else "")


def evaluate_best(model, best_state: Optional[dict], splits: dict[str, Split], cfg, dtype, hold: bool,
                  results: dict, test_floor: Optional[tuple[float, str]] = None) -> Optional[dict]:
    """Evaluate the best-validation state on every split into ``results``; the state to save. A test NLL
    not below ``test_floor`` (value, what it predicts) is recorded and warned about, never acted on: the
    status stays the validation's (issue 31 item 5; a status set by the test would choose on it)."""
    if best_state is None:
        results.update(train_nll=None, valid_nll=None, test_nll=None)
        return None
    model.load_state_dict(best_state)
    if isinstance(model, STORN):
        _storn_results(model, splits, cfg, dtype, hold, results)
    else:
        for split in ("train", "valid", "test"):
            nll = evaluate(model, splits[split], cfg.train.eval_batch_size, dtype, hold)
            results.update({f"{split}_nll": nll.nll, f"{split}_nll_seq_mean": nll.nll_seq_mean, f"{split}_frames": nll.frames})
        results["eval_modes"] = ["deterministic"]
        if test_floor is not None and not results["test_nll"] < test_floor[0]:
            results["test_not_below_floor"] = {"floor": test_floor[0], "name": test_floor[1]}
            log.warning("test NLL %.4g is not below the trivial floor on the test split, %.4g (%s): this model has not "
                        "learnt the test music (the status is set on validation and stays)", results["test_nll"], *test_floor)
    if cfg.eval.mc_samples:  # Monte Carlo evaluation beside the deterministic one (003 §5)
        results["eval_modes"].append(f"mc{cfg.eval.mc_samples}")
        for split in ("valid", "test"):
            nll = evaluate(model, splits[split], cfg.train.eval_batch_size, dtype, hold, cfg.eval.mc_samples)
            results.update({f"{split}_nll_mc": nll.nll, f"{split}_nll_mc_seq_mean": nll.nll_seq_mean})
    return best_state


class MusicTask(Task):
    """One run on a music data set (protocols.md §1): the loss is the mean NLL per predicted frame
    (STORN: the negative ELBO), selection by the validation NLL (STORN: its bound)."""

    fields = METRIC_FIELDS
    best_column = "best_valid_nll"

    def __init__(self, cfg: DictConfig, run_dir: Path):
        check_run_config(cfg)
        self.cfg, self.members, self.run_dirs = cfg, [cfg], [Path(run_dir)]
        seed_everything(cfg.seed)
        self._load(cfg)
        self.model = build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser, cfg.train.fuse).to(device=self.device,
                                                                                                    dtype=self.dtype)
        self.opt = build_optimizer(cfg.optim, self.model.parameters())
        self.generator = torch.Generator().manual_seed(cfg.seed)  # batch order, independent of the init
        self.storn = isinstance(self.model, STORN)
        self.watched_name = "valid bound" if self.storn else "valid NLL"
        self.train_nll = self.grad_norm = math.nan
        log.info("%s on %s: %d train chunks, %d valid %s, %d test sequences, %d parameters, %s", cfg.model.name,
                 cfg.dataset.name, len(self.splits["train"]), len(self.splits["valid"]),
                 "sequences" if setting(cfg.dataset, "valid_whole", False) else "chunks", len(self.splits["test"]),
                 n_params(self.model), device_name(self.device))

    def _load(self, cfg) -> None:
        """Device, precision, the splits, pad=hold and the divergence rule's floor of ``cfg``'s data set (a
        population's members share them)."""
        self.device = resolve_device(cfg.device)
        self.dtype = dtype_of(cfg.train.precision)
        rolls = load_rolls(cfg.dataset, cfg.data)
        self.splits = build_splits(rolls, cfg.dataset, self.device, cfg.train)
        # the trivial floor of the divergence rule: each note's training frequency, on the valid set
        self.floor = note_frequency_nll(rolls["train"], rolls["valid"], cfg.dataset.predict_first)
        self.floor_name = "each note at its training frequency, on the validation set"
        # the status floor's twin on the test split: reported beside the test NLL when that is not below it (evaluate_best)
        if value_of(setting(cfg.dataset, "floor", "copy_previous")) == "copy_previous":  # the status floor (issue 31): the strongest trivial one
            self.status_floor = copy_previous_nll(rolls["train"], rolls["valid"], cfg.dataset.predict_first)
            self.status_floor_name = "copy the previous frame: each note's on/off transition probabilities, on the validation set"
            self.test_floor = (copy_previous_nll(rolls["train"], rolls["test"], cfg.dataset.predict_first), "copy the previous frame")
        else:
            self.test_floor = (note_frequency_nll(rolls["train"], rolls["test"], cfg.dataset.predict_first),
                               "each note at its training frequency")
        self.hold = holds_state(cfg.dataset)

    def headers(self) -> list[dict]:
        return [results_header(self.cfg, self.model, self.device, model_label=self.cfg.model.name,
                               selection="valid_elbo" if self.storn else "valid_nll", test="test_nll")]

    def begin_epoch(self, epoch: int) -> list[float]:
        lrs = super().begin_epoch(epoch)
        if self.storn:  # KL warm-up: the weight rises linearly to 1 over kl_warmup epochs
            warmup = self.cfg.model.storn.kl_warmup
            self.model.kl_weight = min(1.0, epoch / warmup) if warmup else 1.0
        return lrs

    def train_epoch(self, epoch, active, resume, checkpoint) -> None:
        batches = epoch_batches(len(self.splits["train"]), self.cfg.train.batch_size,
                                setting(self.cfg.train, "batches", "rows"), self.generator)
        nll, norm = train_epoch(self.model, self.opt, self.splits["train"], batches, self.cfg, self.dtype, self.hold,
                                self.cfg.train.clip)
        self.train_nll, self.grad_norm = float(nll), float(norm)

    def validate(self, epoch, active) -> list[Outcome]:
        with fixed_draws(self.cfg.seed + 1, self.device):  # STORN's bound is stochastic: the same draws of z every epoch
            valid = evaluate(self.model, self.splits["valid"], self.cfg.train.eval_batch_size, self.dtype, self.hold)
        row = epoch_row(self.train_nll, self.grad_norm, valid, self.model.core.recurrent_matrix())
        return [Outcome(valid.nll, (self.train_nll,), row)]

    def finish(self, i: int, best_state: Optional[dict], best: float, results: dict) -> Optional[dict]:
        return evaluate_best(self.model, best_state, self.splits, self.cfg, self.dtype, self.hold, results, self.test_floor)

