"""The regulariser group (conf/regulariser/*.yaml): rnnbench/regularisers/."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional


class Noise(Enum):
    """The noise process at one site (002 §2.3.4): what is corrupted, and how."""

    none = "none"
    dropout = "dropout"  # Bernoulli drop of units: the site's input units (rate = drop probability)
    dropconnect = "dropconnect"  # Bernoulli drop of weights (Wan et al. 2013; rate = drop probability)
    additive = "additive"  # W + eps, eps ~ N(0, rate^2) (001 §8.1.1; rate = sigma)
    multiplicative = "multiplicative"  # W + W * eps, eps ~ N(0, rate^2) (001 §8.1.2; rate = sigma)


class Realise(Enum):
    """How the noise is realised (rnnbench/regularisers/)."""

    step = "step"  # resampled at every time step (Zaremba et al.; 001 "per time step")
    sequence = "sequence"  # sampled once per sequence and held for every step (003; 001 "per sequence")
    moments = "moments"  # propagated as (mean, variance), deterministically (fast dropout, 000/002)


class MomentApprox(Enum):
    """E and V of sigma(a), tanh(a) for Gaussian a (rnnbench/regularisers/moments.py)."""

    paper = "paper"  # Wang & Manning's closed forms, as 000/002 used them
    quadrature = "quadrature"  # 16-point Gauss-Hermite quadrature: accurate, 16x the elementwise work


class Penalty(Enum):
    none = "none"
    l1 = "l1"
    l2 = "l2"


@dataclass
class SiteConfig:
    """One site of the network; ``rate`` is a drop probability or a noise standard deviation."""

    noise: Noise = Noise.none
    rate: float = 0.0
    realise: Optional[Realise] = None  # step | sequence for this site only; None: the regulariser's


@dataclass
class RegulariserConfig:
    """A noise process on sites of the net plus an optional penalty (rnnbench/regularisers/).

    Sites: input (x -> W_in), recurrent (h_{t-1} -> W_rec), output (h_t -> W_out), cell (the
    LSTM cell state, RNNDrop) and embedding (word models). The presets in conf/regulariser/ are
    settings of this one description.
    """

    name: str = "none"  # the label in results and tables
    realise: Realise = Realise.step
    input: SiteConfig = field(default_factory=SiteConfig)
    recurrent: SiteConfig = field(default_factory=SiteConfig)
    output: SiteConfig = field(default_factory=SiteConfig)
    cell: SiteConfig = field(default_factory=SiteConfig)
    embedding: SiteConfig = field(default_factory=SiteConfig)
    inverted: bool = True  # scale kept units/weights by 1/keep while training (false: 000's E = q mu)
    tied: bool = True  # one mask for all gates of a site; false: a mask per gate (003 "untied")
    fd_output: bool = True  # moments: propagate the variance into the output layer (000 "FD for final layer")
    moment_approx: MomentApprox = MomentApprox.paper  # moments: how sigma/tanh moments are computed
    penalty: Penalty = Penalty.none  # L1/L2 on W_in, W_rec, W_out, added to the loss (001 RNN-NBR)
    penalty_weight: float = 0.0  # lambda


# (schema name, dataclass) for conf/regulariser/*.yaml: ``/regulariser_<name>_schema@_here_``
SCHEMAS = [("regulariser", RegulariserConfig)]
