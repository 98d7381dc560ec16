"""Models: explicit recurrent cores (one file per cell), their initialisation and unrolling."""
from __future__ import annotations

from rnnbench.errors import ConfigError
from rnnbench.models.core import RecurrentCore
from rnnbench.models.gru import GRU
from rnnbench.models.init import init_core_, init_readout_
from rnnbench.models.lstm import LSTM
from rnnbench.models.next_step import NextStepModel
from rnnbench.models.srnn import SRNN
from rnnbench.regularisers import build_spec

CORES: dict[str, type[RecurrentCore]] = {"srnn": SRNN, "lstm": LSTM, "gru": GRU}


def build_model(cfg, n_in: int, n_out: int, regulariser=None) -> NextStepModel:
    """The model of ``cfg`` (a ModelConfig) with the noise of ``regulariser`` (a RegulariserConfig;
    None = plain), initialised with the global torch RNG."""
    if cfg.name not in CORES:
        raise ConfigError(f"unknown model '{cfg.name}'; valid: {', '.join(sorted(CORES))}")
    if cfg.hidden < 1:
        raise ConfigError(f"model.hidden must be >= 1, got {cfg.hidden}")
    core = CORES[cfg.name](n_in, cfg.hidden, learn_h0=cfg.learn_h0)
    try:
        init_core_(core, cfg.init)
    except ValueError as e:
        raise ConfigError(f"model.init: {e}") from None
    model = NextStepModel(core, n_out, build_spec(regulariser, cfg.name))
    init_readout_(model.w_out, model.b_out, cfg.init)
    return model
