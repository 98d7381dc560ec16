"""A regulariser as one description (002 ch. 2): a noise process per site, how it is realised,
and an optional penalty, in plain Python values the forward passes read (build.py makes it from a
RegulariserConfig; registry.py knows the kinds).

Drop probabilities p give the keep probability q = 1 - p. With ``inverted`` the kept units or
weights are scaled by s = 1/q while training (Zaremba et al., Gal: deterministic evaluation is
then the plain net); without it s = 1 and the mean is q * x, the convention of 000 §2.2 and of
DropConnect (Wan et al. 2013), where deterministic evaluation scales by q.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

SITES = ("input", "recurrent", "output", "cell", "embedding")


@dataclass(frozen=True)
class Site:
    noise: str = "none"  # none | dropout | dropconnect | additive | multiplicative | zoneout (cell)
    rate: float = 0.0  # drop probability, or the standard deviation of Gaussian noise
    realise: str = "step"  # step | sequence | moments (the regulariser's unless the site overrides it)
    # noise on, and a rate > 0, unless given: a stacked population gives True for its per-member rates
    # (tensors, one per member: rnnbench/models/stack.py), since members are grouped on which sites are on
    active: Optional[bool] = None
    drop: bool = False  # the rate is a drop probability, keep q = 1 - p (its kind's: registry.py)

    def __post_init__(self):
        if self.active is None:
            object.__setattr__(self, "active", self.noise != "none" and self.rate > 0)

    @property
    def keep(self) -> float:
        return 1.0 - self.rate if self.drop else 1.0


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
        return 1.0 / site.keep if (self.inverted and site.drop) else 1.0

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


NONE = NoiseSpec("none", "step", {s: Site() for s in SITES}, True, True, True, "paper", "none", 0.0)
