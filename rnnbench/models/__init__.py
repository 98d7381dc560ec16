"""Models: explicit recurrent cores (one file per cell), their initialisation and unrolling."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import torch

from rnnbench.config import setting, value_of
from rnnbench.errors import ConfigError
from rnnbench.models.core import RecurrentCore
from rnnbench.models.fuse import fuse_cells
from rnnbench.models.gru import GRU
from rnnbench.models.init import init_core_, init_readout_
from rnnbench.models.lstm import LSTM
from rnnbench.models.next_step import NextStepModel
from rnnbench.models.regressor import SequenceRegressor
from rnnbench.models.srnn import SRNN
from rnnbench.models.storn import RATE_SITES, STORN
from rnnbench.models.word_lm import WordLM
from rnnbench.regularisers import build_spec

CORES: dict[str, type[RecurrentCore]] = {"srnn": SRNN, "lstm": LSTM, "gru": GRU}
MUSIC_MODELS = (*CORES, "storn")


def _core(name: str, n_in: int, cfg, hidden: int, learn_h0: Optional[bool] = None) -> RecurrentCore:
    """The cell of every model (model.activation for the sRNN; ``learn_h0`` None: model.learn_h0)."""
    activation = value_of(cfg.activation)
    learn_h0 = cfg.learn_h0 if learn_h0 is None else learn_h0
    if name == "srnn":
        return SRNN(n_in, hidden, learn_h0=learn_h0, activation=activation)
    if activation != "tanh":
        raise ConfigError(f"model.activation={activation} applies to the sRNN only; {name} has fixed gate functions")
    return CORES[name](n_in, hidden, learn_h0=learn_h0)


def _fused(model, fuse: bool):
    """train.fuse, for every task: the cells' gate math compiled (rnnbench/models/fuse.py)."""
    if fuse:
        fuse_cells(model)
    return model


def _next_step(cfg, name: str, n_in: int, n_out: int, hidden: int, spec, prob_clip=None) -> NextStepModel:
    core = _core(name, n_in, cfg, hidden)
    try:
        init_core_(core, cfg.init)
    except ValueError as e:
        raise ConfigError(f"model.init: {e}") from None
    model = NextStepModel(core, n_out, spec, prob_clip)
    init_readout_(model.w_out, model.b_out, cfg.init)
    return model


def build_model(cfg, n_in: int, n_out: int, regulariser=None, fuse: bool = False) -> NextStepModel | STORN:
    """The model of ``cfg`` (a ModelConfig) with the noise of ``regulariser`` (a RegulariserConfig;
    None = plain), initialised with the global torch RNG; ``fuse``: train.fuse."""
    if cfg.name not in MUSIC_MODELS:
        raise ConfigError(f"unknown model '{cfg.name}'; valid: {', '.join(sorted(MUSIC_MODELS))}")
    if cfg.layers != 1:
        raise ConfigError(f"music models have one recurrent layer (000 §3.1), got model.layers={cfg.layers}")
    clip = setting(cfg, "prob_clip", None)
    if cfg.name == "storn":
        if clip is not None:
            raise ConfigError("model.prob_clip applies to next-step models (srnn, lstm, gru), not to storn")
        return _fused(build_storn(cfg, n_in, n_out, regulariser), fuse)
    if clip is not None and not 0 < clip < 0.5:
        raise ConfigError(f"model.prob_clip clips probabilities to [c, 1 - c] and must be in (0, 0.5), got {clip}")
    return _fused(_next_step(cfg, cfg.name, n_in, n_out, cfg.hidden, build_spec(regulariser, cfg.name), clip), fuse)


def build_storn(cfg, n_in: int, n_out: int, regulariser=None) -> STORN:
    """Generating and recognition nets of ``cfg.storn.cell``, both with the regulariser (002 §4.4)."""
    s = cfg.storn
    if s.cell not in CORES:
        raise ConfigError(f"unknown model.storn.cell '{s.cell}'; valid: {', '.join(sorted(CORES))}")
    generator_input = value_of(setting(s, "generator_input", "frame"))
    q_variance = value_of(setting(s, "q_variance", "squared"))
    learned = bool(setting(s, "learned_rates", False))
    rec_hidden = s.recognition_hidden or cfg.hidden
    spec = build_spec(regulariser, s.cell)
    moments = spec.has_noise and spec.realise == "moments"
    if q_variance == "fd" and not moments:
        raise ConfigError("model.storn.q_variance=fd takes q's variance from fast dropout's propagated read-out "
                          "variance; it needs a moment regulariser (regulariser=fd, realise=moments)")
    if q_variance == "fd" and s.var_floor <= 0:
        raise ConfigError("model.storn.q_variance=fd needs model.storn.var_floor > 0 (a read-out variance can be 0)")
    if learned and not moments:
        raise ConfigError("model.storn.learned_rates learns the recognition net's fast-dropout rates (input, recurrent "
                          "and read-out); it needs a moment regulariser (regulariser=fd, realise=moments)")
    gen_in = s.latent + (rec_hidden if generator_input == "recognition_state" else n_in)
    generator = _next_step(cfg, s.cell, gen_in, n_out, cfg.hidden, spec)
    # The recognition read-out is linear (mu, and the root of sigma^2 or, with q_variance=fd, mu alone):
    # its mean is the FD mean of a linear layer, so no sigmoid correction (fd_output) applies there.
    n_q = s.latent if q_variance == "fd" else 2 * s.latent
    rec_spec = replace(spec, fd_output=False)
    if learned:  # breze drops every site of the recognition net; the rates come from theta at each pass
        rec_spec = replace(rec_spec, sites={**spec.sites, **{n: replace(spec.site(n), noise="dropout", drop=True) for n in RATE_SITES}})
    recognition = _next_step(cfg, s.cell, 2 * n_in, n_q, rec_hidden, rec_spec)
    with torch.no_grad():  # start at q = N(0, 1) = the prior: mu-bias 0, sigma-bias 1
        recognition.b_out.zero_()
        recognition.b_out[s.latent:] = 1.0
    return STORN(generator, recognition, s.latent, s.var_floor, generator_input, q_variance, learned)


def _uniform_or_gaussian_(model, cores, cfg) -> None:
    with torch.no_grad():
        if cfg.init.uniform is not None:  # every parameter U(-a, a) (Zaremba et al.; Keras' embedding init)
            for p in model.parameters():
                if p.requires_grad:
                    p.uniform_(-cfg.init.uniform, cfg.init.uniform)
        else:
            model.embedding.normal_(0.0, cfg.init.var_in**0.5)
            for core in cores:
                init_core_(core, cfg.init)
            if model.w_out is not None:
                model.w_out.normal_(0.0, cfg.init.var_out**0.5)
        for core in cores:
            if core.state_names == ("h", "c") and cfg.init.uniform is not None:
                core.b[core.hidden_size : 2 * core.hidden_size] += cfg.init.forget_bias


def build_regressor(cfg, vocab_size: int, regulariser=None, fuse: bool = False) -> SequenceRegressor:
    """Embedding -> one core of ``cfg.name`` -> dense 1 (rnnbench/models/regressor.py)."""
    if cfg.name not in ("lstm", "gru", "srnn"):
        raise ConfigError(f"unknown model '{cfg.name}'; valid: gru, lstm, srnn")
    if cfg.layers != 1:
        raise ConfigError(f"the sentiment model has one recurrent layer (003 §5.2), got model.layers={cfg.layers}")
    spec = build_spec(regulariser, cfg.name, word_model=True)
    if spec.has_noise and spec.realise == "moments":
        raise ConfigError("moment propagation is not implemented for the sentiment model; use regulariser.realise=step or sequence")
    E = cfg.embedding or cfg.hidden
    core = _core(cfg.name, E, cfg, cfg.hidden, learn_h0=False)
    model = SequenceRegressor(core, vocab_size, E, spec)
    _uniform_or_gaussian_(model, [core], cfg)
    return _fused(model, fuse)


def build_word_lm(cfg, vocab_size: int, regulariser=None, fuse: bool = False) -> WordLM:
    """Embedding -> ``cfg.layers`` cores of ``cfg.name`` -> softmax (rnnbench/models/word_lm.py)."""
    if cfg.name not in CORES:
        raise ConfigError(f"unknown model '{cfg.name}'; valid: {', '.join(sorted(CORES))}")
    E = cfg.embedding or cfg.hidden
    if cfg.tie_weights and E != cfg.hidden:
        raise ConfigError(f"model.tie_weights needs model.embedding == model.hidden, got {E} and {cfg.hidden}")
    spec = build_spec(regulariser, cfg.name, word_model=True)
    if spec.has_noise and spec.realise == "moments":
        raise ConfigError("moment propagation through a softmax is not implemented for word models; "
                          "use regulariser.realise=step or sequence")
    # The state is carried from window to window and starts at zero on every stream (Zaremba et al.).
    layers = [_core(cfg.name, E if i == 0 else cfg.hidden, cfg, cfg.hidden, learn_h0=False) for i in range(cfg.layers)]
    model = WordLM(layers, vocab_size, E, cfg.tie_weights, spec)
    _uniform_or_gaussian_(model, layers, cfg)
    return _fused(model, fuse)
