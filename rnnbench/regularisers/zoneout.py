"""Zoneout (Krueger et al. 2016, eq. 3): each unit of the state keeps its previous value with probability
z instead of taking the new one, s_t = d * s_{t-1} + (1 - d) * s~_t, d ~ Bernoulli(z) per unit, row and step;
deterministic evaluation uses the expectation d = z. Every tensor of the state is zoned with the one rate
(the LSTM's h and c: Krueger et al.'s separate z_c and z_h are one rate here), and the step's output is
the zoned h. A wrapper around the cell's update, on any cell: ``regulariser.cell.noise=zoneout``."""
from __future__ import annotations

import torch

from rnnbench.errors import ConfigError


class Zoneout:
    name = "zoneout"

    @staticmethod
    def check(where: str, model_name: str, realise: str) -> None:
        if realise == "moments":
            raise ConfigError(f"{where}.noise=zoneout is sampled (or its expectation); use realise=step or sequence")

    @staticmethod
    def mean_is_plain(spec) -> bool:
        return False  # z s_{t-1} + (1 - z) s~_t is not the plain step

    @staticmethod
    def draw(draw, site, core, batch: int) -> list:
        if draw.mean:
            return [site.rate] * draw.n_steps
        shape = (draw.n(site), batch, core.hidden_size)
        return draw.steps(torch.bernoulli(torch.ones(shape, device=draw.device, dtype=draw.dtype) * site.rate))

    @staticmethod
    def transition(core, u_t, v_t, state, d):
        _, new = core.transition(u_t, v_t, state)
        zoned = tuple(d * old + (1 - d) * s for old, s in zip(state, new))
        return zoned[0], zoned
