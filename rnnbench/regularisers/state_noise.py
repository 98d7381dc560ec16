"""The noise a regulariser can put on a cell's state update (the ``cell`` site), by name: a plain
registry. Each entry checks where it applies, draws per step (or per sequence) and wraps the cell's
transition (rnnbench/regularisers/sampled.py calls it); the cells know nothing of it."""
from __future__ import annotations

from rnnbench.errors import ConfigError
from rnnbench.regularisers.cell_dropout import CellDropout
from rnnbench.regularisers.zoneout import Zoneout


class NoStateNoise:
    name = "none"

    @staticmethod
    def mean_is_plain(spec) -> bool:
        return True

    @staticmethod
    def draw(draw, site, core, batch: int) -> list:
        return [None] * draw.n_steps

    @staticmethod
    def transition(core, u_t, v_t, state, noise_t):
        return core.transition(u_t, v_t, state)


STATE_NOISE = {"dropout": CellDropout, "zoneout": Zoneout}


def state_noise(site, where: str = "regulariser.cell"):
    """The entry of an active cell site (NoStateNoise for an inactive one); a ConfigError names the valid ones."""
    if not site.active:
        return NoStateNoise
    if site.noise not in STATE_NOISE:
        raise ConfigError(f"{where}.noise={site.noise} is not a noise of the cell's state; valid: "
                          f"{', '.join(STATE_NOISE)} (dropout = RNNDrop on the LSTM cell state)")
    return STATE_NOISE[site.noise]
