"""RNNDrop (Moon et al. 2015): one dropout mask on the LSTM cell state c_t, between the cell's update and
its output (rnnbench/models/lstm.py: ``update`` then ``emit``), per sequence or per step. A wrapper
around the cell's update: the cell knows nothing of the mask."""
from __future__ import annotations

from rnnbench.errors import ConfigError


class CellDropout:
    name = "dropout"
    drop = True  # the rate is a drop probability (the mask is unit dropout's: sampling.py)

    @staticmethod
    def check(where: str, site, model_name: str, realise: str) -> None:
        if model_name != "lstm":
            raise ConfigError(f"{where}.noise=dropout drops the LSTM cell state (RNNDrop), but model={model_name} "
                              "has no cell state; use model=lstm or another regulariser")
        if realise == "moments":
            raise ConfigError(f"{where} (RNNDrop) is a sampled mask; use regulariser.realise=sequence or step")

    @staticmethod
    def mean_is_plain(spec) -> bool:
        return spec.inverted  # E[s zeta] = q s = 1 when inverted

    @staticmethod
    def draw(draw, site, core, batch: int) -> list:
        return draw.steps(draw.unit_mask(site, (batch, core.hidden_size)))  # each (1, B, H)

    @staticmethod
    def transition(core, u_t, v_t, state, mask):
        if mask is None:
            return core.transition(u_t, v_t, state)
        c, o = core.update(u_t, v_t, state)
        return core.emit(c * mask[0], o)
