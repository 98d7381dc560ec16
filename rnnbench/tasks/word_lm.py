"""Word-level language modelling on PTB (protocols.md §3; Zaremba et al. 2014; 003 §5.1).

Training: the token stream is cut into ``train.batch_size`` parallel streams and unrolled
``dataset.bptt`` steps at a time; the hidden state is carried across windows (detached). The
loss of an update is the cross-entropy summed over the window's steps and averaged over the
streams, as in Zaremba et al.'s code (their learning rate of 1 assumes it).

Evaluation: perplexity = exp(total NLL / total words) over the whole valid or test stream read
as ONE sequence, the state carried from its first word to its last, so the number depends on
neither the training batch size nor the evaluation window (``dataset.eval_bptt``). Monte Carlo
evaluation (003): K copies of the stream run side by side as a batch, each with its own noise
and state, and the probabilities of the next word are averaged over the K copies.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from rnnbench.data.batches import limit
from rnnbench.data.ptb import batchify, bptt_windows, load_ptb
from rnnbench.models import build_word_lm
from rnnbench.floors import unigram_perplexity
from rnnbench.engine.loop import n_params, results_header
from rnnbench.engine.task import Outcome, Task
from rnnbench.optim import build_optimizer
from rnnbench.optim.clip import update
from rnnbench.regularisers import penalty
from rnnbench.runtime import device_name, dtype_of, resolve_device, seed_everything

log = logging.getLogger("rnnbench")
FIELDS = ["epoch", "lr", "train_ppl", "valid_ppl", "best_valid_ppl", "words_per_s", "epoch_s"]


def _detach(state):
    return [tuple(s.detach() for s in layer) for layer in state]


@torch.no_grad()
def evaluate_lm(model, stream: torch.Tensor, window: int, mc_samples: int = 0) -> tuple[float, int]:
    """(perplexity, words) of ``stream`` (1-D ids) read as one sequence with the state carried."""
    was_training = model.training
    model.eval()
    copies = max(mc_samples, 1)
    data = stream.view(1, -1).expand(copies, -1)  # K identical rows for Monte Carlo
    state = model.initial_state(copies)
    total, words = 0.0, 0
    for inputs, targets in bptt_windows(data, window):
        logits, state = model(inputs, state, sample=mc_samples > 0)
        logp = F.log_softmax(logits.double(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (K, T)
        if mc_samples:
            logp = torch.logsumexp(logp, dim=0, keepdim=True) - math.log(copies)  # log of the mean probability
        total -= float(logp[0].sum())
        words += targets.shape[1]
    model.train(was_training)
    return math.exp(total / words), words


def _train_epoch(model, opt, data, cfg, params, resume: Optional[dict] = None,
                 checkpoint: Callable = lambda partial: None) -> tuple[float, int]:
    """One pass over the windows of ``data``; (train perplexity, words). ``resume``: the partial state of
    a mid-epoch checkpoint (windows done, carried state, running sums); ``checkpoint(partial)`` is
    offered one after every window."""
    model.train()
    B = data.shape[0]
    state = model.initial_state(B)
    total = torch.zeros((), dtype=torch.float64, device=data.device)
    words, done = 0, 0
    if resume is not None:
        done, words = resume["windows"], resume["words"]
        total = resume["total"].to(data.device)
        state = [tuple(s.to(data.device) for s in layer) for layer in resume["state"]]
    n_windows = math.ceil((data.shape[1] - 1) / cfg.dataset.bptt)
    start = time.perf_counter()
    for i, (inputs, targets) in enumerate(bptt_windows(data, cfg.dataset.bptt), 1):
        if i <= done:  # trained before the checkpoint this epoch resumes from
            continue
        if i % max(n_windows // 10, 1) == 0:  # progress every tenth of an epoch (an epoch can take long)
            log.info("  window %d/%d  train ppl %.2f  %.0f words/s", i, n_windows, math.exp(float(total) / max(words, 1)),
                     words / (time.perf_counter() - start))
        state = _detach(state)  # carried across windows, not back-propagated through
        carried = {}

        def loss():
            logits, carried["state"] = model(inputs, state)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
            return nll / B + penalty(params, model.noise), nll.detach()  # summed over steps, mean over streams

        value, _ = update(opt, params, cfg.train.clip, loss)  # train.clip: rnnbench/optim/clip.py
        total += value
        state = carried["state"]
        words += targets.numel()
        checkpoint(lambda: {"windows": i, "words": words, "total": total.clone(), "state": _detach(state)})
    return math.exp(float(total) / words), words


class WordLMTask(Task):
    """Train a word LM on PTB: results.json gets valid_ppl, test_ppl and words_per_s."""

    fields = FIELDS
    best_column = "best_valid_ppl"
    watched_name = "valid perplexity"

    def __init__(self, cfg: DictConfig, run_dir: Path):
        self.cfg, self.members, self.run_dirs = cfg, [cfg], [Path(run_dir)]
        self.device = resolve_device(cfg.device)
        dtype = dtype_of(cfg.train.precision)
        seed_everything(cfg.seed)
        self.vocab, streams = load_ptb(cfg.data)
        # train.limit_batches: the tokens of N training windows of batch x bptt, and of N evaluation windows
        per_batch = {"train": cfg.train.batch_size * cfg.dataset.bptt, "valid": cfg.dataset.eval_bptt, "test": cfg.dataset.eval_bptt}
        self.streams = {k: v[:limit(len(v) - 1, per_batch[k], cfg.train) + 1].to(self.device) for k, v in streams.items()}
        self.train_data = batchify(self.streams["train"], cfg.train.batch_size)  # (batch, N) on the device
        self.model = build_word_lm(cfg.model, len(self.vocab), cfg.regulariser, cfg.train.fuse).to(device=self.device,
                                                                                                   dtype=dtype)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = build_optimizer(cfg.optim, self.params)
        # the trivial floor of the divergence rule: the training unigram's validation perplexity
        self.floor = unigram_perplexity(self.streams["train"], self.streams["valid"][1:], len(self.vocab))
        self.floor_name = "the training unigram's validation perplexity"
        self.words_per_s: list[float] = []
        self.train_ppl, self.epoch_words_s = math.nan, math.nan
        log.info("%d-layer %s LM on PTB: %d parameters, %d streams of %d words, %s", cfg.model.layers, cfg.model.name,
                 n_params(self.model), *self.train_data.shape, device_name(self.device))

    def headers(self) -> list[dict]:
        # the model label carries the size, so that medium and large runs stay apart in the tables
        cfg = self.cfg
        header = results_header(cfg, self.model, self.device, model_label=f"{cfg.model.name}-{cfg.model.layers}x{cfg.model.hidden}",
                                selection="valid_ppl", test="test_ppl")
        header["vocab_size"] = len(self.vocab)
        return [header]

    def train_epoch(self, epoch, active, resume, checkpoint) -> None:
        t0 = time.perf_counter()
        self.train_ppl, words = _train_epoch(self.model, self.opt, self.train_data, self.cfg, self.params, resume, checkpoint)
        self.epoch_words_s = words / (time.perf_counter() - t0)
        self.words_per_s.append(self.epoch_words_s)

    def validate(self, epoch, active) -> list[Outcome]:
        valid_ppl, _ = evaluate_lm(self.model, self.streams["valid"], self.cfg.dataset.eval_bptt)
        row = dict(train_ppl=self.train_ppl, valid_ppl=valid_ppl, words_per_s=round(self.epoch_words_s, 1))
        return [Outcome(valid_ppl, (self.train_ppl,), row)]

    def summary(self, i: int) -> dict:
        return {"words_per_s": sum(self.words_per_s) / max(len(self.words_per_s), 1)}

    def finish(self, i: int, best_state: Optional[dict], best: float, results: dict) -> Optional[dict]:
        if best_state is None:
            results.update(valid_ppl=None, test_ppl=None)
            return None
        cfg, streams = self.cfg, self.streams
        self.model.load_state_dict(best_state)
        # the best state's validation perplexity is deterministic and already known
        results["valid_ppl"], results["valid_words"] = best, len(streams["valid"]) - 1
        results["test_ppl"], results["test_words"] = evaluate_lm(self.model, streams["test"], cfg.dataset.eval_bptt)
        results["eval_modes"] = ["deterministic"]
        if cfg.eval.mc_samples:
            results["eval_modes"].append(f"mc{cfg.eval.mc_samples}")
            for split in ("valid", "test"):
                results[f"{split}_ppl_mc"], _ = evaluate_lm(self.model, streams[split], cfg.dataset.eval_bptt, cfg.eval.mc_samples)
        return best_state

    def state_dict(self) -> dict:
        return {**super().state_dict(), "words_per_s": list(self.words_per_s)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.words_per_s = list(state["words_per_s"])
