"""Zoneout (Krueger et al. 2016, eq. 3): each unit of the state keeps its previous value with probability
z instead of taking the new one, s_t = d * s_{t-1} + (1 - d) * s~_t, d ~ Bernoulli(z) per unit, row and step;
deterministic evaluation uses the expectation d = z (their §3). Every tensor of the state is zoned with its
own mask and the one rate (the LSTM's h and c: Krueger et al.'s separate z_h and z_c are one rate here), and
the step's output is the zoned h. A wrapper around the cell's update, on any cell:
``regulariser.cell.noise=zoneout`` (conf/regulariser/zoneout.yaml)."""
from __future__ import annotations

import torch

from rnnbench.errors import ConfigError


class Zoneout:
    name = "zoneout"
    drop = False  # the rate is z, the probability of keeping the last value

    @staticmethod
    def check(where: str, site, model_name: str, realise: str) -> None:
        if not 0.0 <= site.rate < 1.0:
            raise ConfigError(f"{where}.rate is zoneout's probability of keeping a unit's last value and must be in "
                              f"[0, 1), got {site.rate}")
        if realise == "moments":
            raise ConfigError(f"{where}.noise=zoneout is sampled (or its expectation); use regulariser.realise=step or sequence")

    @staticmethod
    def mean_is_plain(spec) -> bool:
        return False  # z s_{t-1} + (1 - z) s~_t is not the plain step

    @staticmethod
    def draw(draw, site, core, batch: int) -> list:
        """Per step: d (S, B, H) for the S tensors of the state, or its expectation z (S, 1, 1)."""
        S = len(core.state_names)
        ones = lambda *shape: torch.ones(shape, device=draw.device, dtype=draw.dtype)
        if draw.mean:
            return [ones(S, 1, 1) * site.rate] * draw.n_steps
        return draw.steps(torch.bernoulli(ones(draw.n(site), S, batch, core.hidden_size) * site.rate))

    @staticmethod
    def transition(core, u_t, v_t, state, d):
        _, new = core.transition(u_t, v_t, state)
        zoned = tuple(d_k * old + (1 - d_k) * s for d_k, old, s in zip(d, state, new))
        return zoned[0], zoned
