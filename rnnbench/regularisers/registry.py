"""The noise kinds, by name: a plain registry. A site's noise (input, recurrent, output, embedding) masks the
units entering its matrix (``on_units``) or corrupts the matrix; the cell site's noise wraps the cell's
state update. Each kind is a class in its family's file, with its sampling rule and, where it has one,
its moment rule; sampling.py, sampled.py and propagated.py find it here. A kind the site does not take
is a ConfigError that names the ones it does."""
from __future__ import annotations

from rnnbench.errors import ConfigError
from rnnbench.regularisers.cell_dropout import CellDropout
from rnnbench.regularisers.dropout import UnitDropout
from rnnbench.regularisers.weight_noise import AdditiveNoise, DropConnect, MultiplicativeNoise
from rnnbench.regularisers.zoneout import Zoneout

SITE_NOISE = {k.name: k for k in (UnitDropout, DropConnect, AdditiveNoise, MultiplicativeNoise)}
STATE_NOISE = {k.name: k for k in (CellDropout, Zoneout)}  # regulariser.cell: the cell's state update
DROPPING = {n for table in (SITE_NOISE, STATE_NOISE) for n, k in table.items() if k.drop}  # rate = drop probability


class NoNoise:
    """An inactive site (the cell's transition as it is)."""

    name = "none"
    drop = False

    @staticmethod
    def mean_is_plain(spec) -> bool:
        return True

    @staticmethod
    def draw(draw, site, core, batch: int) -> list:
        return [None] * draw.n_steps

    @staticmethod
    def transition(core, u_t, v_t, state, noise_t):
        return core.transition(u_t, v_t, state)


def unit_or_weight_kind(site):
    """The site-noise kind of an active site (the units it masks or the matrix it corrupts); None where the
    site is off or its noise is the cell state's own (zoneout)."""
    return SITE_NOISE.get(site.noise) if site.active else None


def noise_kind(name: str, site):
    """The kind of ``site`` (regulariser.<name>): NoNoise where it is off."""
    if not site.active:
        return NoNoise
    where = f"regulariser.{name}"
    if name == "cell":
        if site.noise not in STATE_NOISE:
            raise ConfigError(f"{where}.noise={site.noise} is not a noise of the cell's state; valid: "
                              f"{', '.join(STATE_NOISE)} (dropout = RNNDrop on the LSTM cell state)")
        return STATE_NOISE[site.noise]
    if site.noise not in SITE_NOISE:
        raise ConfigError(f"{where}.noise={site.noise} acts on the cell's state (regulariser.cell) only; "
                          f"{where} takes {', '.join(SITE_NOISE)}")
    return SITE_NOISE[site.noise]
