"""A regulariser as one description (002 ch. 2): a noise process per site, how it is realised,
and an optional penalty. ``build_spec`` checks a RegulariserConfig against the model it is
meant for and turns it into plain Python values the forward passes read.

Drop probabilities p give the keep probability q = 1 - p. With ``inverted`` the kept units or
weights are scaled by s = 1/q while training (Zaremba et al., Gal: deterministic evaluation is
then the plain net); without it s = 1 and the mean is q * x, the convention of 000 §2.2 and of
DropConnect (Wan et al. 2013), where deterministic evaluation scales by q.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from typing import Optional

from rnnbench.config import setting, value_of
from rnnbench.errors import ConfigError
from rnnbench.regularisers.registry import DROPPING, noise_kind

SITES = ("input", "recurrent", "output", "cell", "embedding")


@dataclass(frozen=True)
class Site:
    noise: str = "none"  # none | dropout | dropconnect | additive | multiplicative | zoneout (cell)
    rate: float = 0.0  # drop probability, or the standard deviation of Gaussian noise
    realise: str = "step"  # step | sequence | moments (the regulariser's unless the site overrides it)
    # noise on, and a rate > 0, unless given: a stacked population gives True for its per-member rates
    # (tensors, one per member: rnnbench/models/stack.py), since members are grouped on which sites are on
    active: Optional[bool] = None

    def __post_init__(self):
        if self.active is None:
            object.__setattr__(self, "active", self.noise != "none" and self.rate > 0)

    @property
    def keep(self) -> float:
        return 1.0 - self.rate if self.noise in DROPPING else 1.0


@dataclass(frozen=True)
class NoiseSpec:
    name: str
    realise: str  # step | sequence | moments
    sites: dict
    inverted: bool
    tied: bool
    fd_output: bool
    moment_approx: str
    penalty: str
    penalty_weight: float
    # the authors' code as a reading (protocols.md §1b; rnnbench/regularisers/moments.py, propagated.py)
    fd_rec_mean: str = "keep"  # keep: E = q h W (000 §2.2) | drop: h W p (breze)
    fd_tanh: str = "tanh"  # tanh | half: the moments of breze's 2 sigma(a) - 1 = tanh(a/2)
    final_layer_no: str = "readout"  # readout | readout_and_input (Dec-2013 breze)

    def site(self, name: str) -> Site:
        return self.sites[name]

    def scale(self, site: Site) -> float:
        """s: the factor on kept units/weights while training."""
        return 1.0 / site.keep if (self.inverted and site.noise in DROPPING) else 1.0

    def mean_factor(self, site: Site) -> float:
        """E[s zeta] = q s: what a dropped unit or weight is multiplied by in deterministic evaluation."""
        return site.keep * self.scale(site)

    def with_rates(self, rates: dict, fd_output=None) -> "NoiseSpec":
        """The same spec with the rates of ``rates`` (site -> number or tensor) put in, each of those
        sites on, and ``fd_output`` (a bool tensor: per population member) if given."""
        sites = {n: replace(s, rate=rates[n], active=True) if n in rates else s for n, s in self.sites.items()}
        return replace(self, sites=sites, fd_output=self.fd_output if fd_output is None else fd_output)

    @property
    def has_noise(self) -> bool:
        return any(s.active for s in self.sites.values())

    @property
    def mean_differs_from_plain(self) -> bool:
        """Does deterministic (mean) evaluation differ from the plain net? (non-inverted dropping, zoneout)."""
        return not all(noise_kind(name, s).mean_is_plain(self) for name, s in self.sites.items())


NONE = NoiseSpec("none", "step", {s: Site() for s in SITES}, True, True, True, "paper", "none", 0.0)


def build_spec(cfg, model_name: str, word_model: bool = False) -> NoiseSpec:
    """Validate ``cfg`` (a RegulariserConfig) for ``model_name``; a misfit is a ConfigError."""
    if cfg is None:
        return NONE
    realise = value_of(cfg.realise)
    sites = {}
    for name in SITES:
        site_cfg = cfg[name] if hasattr(cfg, "__getitem__") else getattr(cfg, name)
        where = f"regulariser.{name}"
        own = setting(site_cfg, "realise", None)
        if own is not None and (realise == "moments" or own == "moments"):
            raise ConfigError(f"{where}.realise={own}: a site may choose step or sequence, and only when "
                              f"regulariser.realise is not moments (got regulariser.realise={realise})")
        site = Site(value_of(site_cfg.noise), float(site_cfg.rate), own or realise)
        if site.noise != "none":  # a kind this site does not take: a ConfigError that names the ones it does
            noise_kind(name, replace(site, active=True))
        if site.noise in DROPPING and not 0.0 <= site.rate < 1.0:
            raise ConfigError(f"{where}.rate is a drop probability and must be in [0, 1), got {site.rate}")
        if site.noise == "none" and site.rate != 0:
            raise ConfigError(f"{where}.rate={site.rate} has no effect with noise=none; set {where}.noise too")
        sites[name] = site
    cell, emb = sites["cell"], sites["embedding"]
    if cell.active:  # the cell state's noise checks where it applies (registry.py: RNNDrop, zoneout)
        noise_kind("cell", cell).check("regulariser.cell", cell, model_name, realise)
    if emb.active:
        if not word_model:
            raise ConfigError(f"regulariser '{cfg.name}' drops embeddings, but this model has no embedding "
                              "(music models read piano rolls); set regulariser.embedding.noise=none")
        if emb.noise != "dropout":
            raise ConfigError(f"regulariser.embedding supports noise=dropout (of word types) only, got {emb.noise}")
    if realise == "moments" and setting(cfg, "output_rate", "own") == "recurrent":
        # breze's read-out drops with the hidden rate, whatever hidden->output was set to (protocols.md §1b)
        sites["output"] = Site(sites["recurrent"].noise, sites["recurrent"].rate, realise)
    penalty = value_of(cfg.penalty)
    if penalty != "none" and cfg.penalty_weight == 0:
        raise ConfigError(f"regulariser.penalty={penalty} needs regulariser.penalty_weight > 0")
    return NoiseSpec(cfg.name, realise, sites, bool(cfg.inverted), bool(cfg.tied), bool(cfg.fd_output),
                     value_of(cfg.moment_approx), penalty, float(cfg.penalty_weight),
                     setting(cfg, "fd_rec_mean", "keep"), setting(cfg, "fd_tanh", "tanh"),
                     setting(cfg, "final_layer_no", "readout"))

