"""Word-level language modelling on PTB (protocols.md §3; Zaremba et al. 2014; 003 §5.1).

Training: the token stream is cut into ``dataset.batch`` parallel streams and unrolled
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

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from rnnbench.data.ptb import batchify, bptt_windows, load_ptb
from rnnbench.errors import ConfigError
from rnnbench.models import build_word_lm
from rnnbench.floors import unigram_perplexity
from rnnbench.loop import Divergence, epochs, results_header, stop_reason as stop_reason_after
from rnnbench.optim import build_optimizer
from rnnbench.regularisers.penalty import penalty
from rnnbench.results import metrics_log, save_state_atomic, write_json_atomic
from rnnbench.runtime import dtype_of, resolve_device, seed_everything

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


def _train_epoch(model, opt, data, cfg, params) -> tuple[float, int]:
    model.train()
    B = data.shape[0]
    state = model.initial_state(B)
    total = torch.zeros((), dtype=torch.float64, device=data.device)
    words = 0
    n_windows = math.ceil((data.shape[1] - 1) / cfg.dataset.bptt)
    start = time.perf_counter()
    for i, (inputs, targets) in enumerate(bptt_windows(data, cfg.dataset.bptt), 1):
        if i % max(n_windows // 10, 1) == 0:  # progress every tenth of an epoch (an epoch can take long)
            log.info("  window %d/%d  train ppl %.2f  %.0f words/s", i, n_windows, math.exp(float(total) / max(words, 1)),
                     words / (time.perf_counter() - start))
        state = _detach(state)  # carried across windows, not back-propagated through
        carried = {}

        def closure():
            opt.zero_grad(set_to_none=True)
            logits, carried["state"] = model(inputs, state)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
            (nll / B + penalty(model, model.noise)).backward()  # summed over steps, mean over streams
            if cfg.train.clip is not None:
                torch.nn.utils.clip_grad_norm_(params, cfg.train.clip)
            return nll.detach()

        total += opt.step(closure)
        state = carried["state"]
        words += targets.numel()
    return math.exp(float(total) / words), words


def train_lm(cfg: DictConfig, run_dir: Path) -> dict:
    """Train a word LM on PTB; write results.json (valid_ppl, test_ppl, words_per_s), metrics.csv, best.pt."""
    start = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if cfg.dataset.batch < 1 or cfg.dataset.bptt < 1 or cfg.dataset.eval_bptt < 1:
        raise ConfigError("dataset.batch, dataset.bptt and dataset.eval_bptt must be >= 1")
    device = resolve_device(cfg.device)
    dtype = dtype_of(cfg.train.precision)
    seed_everything(cfg.seed)
    vocab, streams = load_ptb(cfg.data)
    streams = {k: v.to(device) for k, v in streams.items()}
    train_data = batchify(streams["train"], cfg.dataset.batch)  # (batch, N) on the device
    model = build_word_lm(cfg.model, len(vocab), cfg.regulariser).to(device=device, dtype=dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(cfg.optim, params)
    metrics = metrics_log(cfg, run_dir / "metrics.csv", FIELDS)
    # the model label carries the size, so that medium and large runs stay apart in the tables
    results = results_header(cfg, model, device, model_label=f"{cfg.model.name}-{cfg.model.layers}x{cfg.model.hidden}",
                             selection="valid_ppl", test="test_ppl")
    results["vocab_size"] = len(vocab)
    log.info("%d-layer %s LM on PTB: %d parameters, %d streams of %d words, %s", cfg.model.layers, cfg.model.name,
             results["n_params"], *train_data.shape, results["device"])
    best, best_epoch, best_state, status, stop_reason, epoch = math.inf, 0, None, "ok", "max_epochs", 0
    train_words_s = []
    # the trivial floor of the divergence rule: the training unigram's validation perplexity
    diverged = Divergence(cfg, unigram_perplexity(streams["train"], streams["valid"][1:], len(vocab)), "valid perplexity")
    for epoch, lr, _ in epochs(cfg, opt, f"{cfg.model.name}/ptb"):
        t0 = time.perf_counter()
        train_ppl, words = _train_epoch(model, opt, train_data, cfg, params)
        words_per_s = words / (time.perf_counter() - t0)
        train_words_s.append(words_per_s)
        valid_ppl, _ = evaluate_lm(model, streams["valid"], cfg.dataset.eval_bptt)
        if valid_ppl < best:
            best, best_epoch = valid_ppl, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        metrics.append(dict(epoch=epoch, lr=lr, train_ppl=train_ppl, valid_ppl=valid_ppl, best_valid_ppl=best,
                            words_per_s=round(words_per_s, 1), epoch_s=round(time.perf_counter() - t0, 2)))
        log.info("epoch %d  lr %.4g  train ppl %.2f  valid ppl %.2f  (best %.2f, epoch %d)  %.0f words/s",
                 epoch, lr, train_ppl, valid_ppl, best, best_epoch, words_per_s)
        reason = diverged(epoch, valid_ppl, train_ppl)
        if reason:
            status, stop_reason = "diverged", reason
            log.warning("epoch %d: diverged (%s); stopping (the best model so far is kept)", epoch, reason)
            break
        reason = stop_reason_after(cfg, epoch, best_epoch, start)
        if reason:
            stop_reason = reason
            break
    results.update(status=status, stop_reason=stop_reason, epochs=epoch, best_epoch=best_epoch,
                   words_per_s=sum(train_words_s) / max(len(train_words_s), 1))
    if best_state is not None:
        model.load_state_dict(best_state)
        # the best state's validation perplexity is deterministic and already known
        results["valid_ppl"], results["valid_words"] = best, len(streams["valid"]) - 1
        results["test_ppl"], results["test_words"] = evaluate_lm(model, streams["test"], cfg.dataset.eval_bptt)
        results["eval_modes"] = ["deterministic"]
        if cfg.eval.mc_samples:
            results["eval_modes"].append(f"mc{cfg.eval.mc_samples}")
            for split in ("valid", "test"):
                results[f"{split}_ppl_mc"], _ = evaluate_lm(model, streams[split], cfg.dataset.eval_bptt, cfg.eval.mc_samples)
        if cfg.train.save_model:
            save_state_atomic(run_dir / "best.pt", best_state)
    else:
        results.update(valid_ppl=None, test_ppl=None)
    results["wall_s"] = time.perf_counter() - start
    write_json_atomic(run_dir / "results.json", results)
    log.info("%s: test perplexity %s (best epoch %d of %d; %s); results in %s", status, results.get("test_ppl"),
             best_epoch, epoch, stop_reason, run_dir)
    return results
