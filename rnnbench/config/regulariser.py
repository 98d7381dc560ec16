"""The regulariser group (conf/regulariser/*.yaml): rnnbench/regularisers/."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from rnnbench.config.checks import bounded


class Noise(Enum):
    """The noise process at one site (002 §2.3.4): what is corrupted, and how."""

    none = "none"
    dropout = "dropout"  # Bernoulli drop of units: the site's input units (rate = drop probability)
    dropconnect = "dropconnect"  # Bernoulli drop of weights (Wan et al. 2013; rate = drop probability)
    additive = "additive"  # W + eps, eps ~ N(0, rate^2) (001 §8.1.1; rate = sigma)
    multiplicative = "multiplicative"  # W + W * eps, eps ~ N(0, rate^2) (001 §8.1.2; rate = sigma)
    zoneout = "zoneout"  # the cell site only: each state unit keeps its last value (Krueger et al. 2016; rate = z)


class Realise(Enum):
    """How the noise is realised (rnnbench/regularisers/)."""

    step = "step"  # resampled at every time step (Zaremba et al.; 001 "per time step")
    sequence = "sequence"  # sampled once per sequence and held for every step (003; 001 "per sequence")
    moments = "moments"  # propagated as (mean, variance), deterministically (fast dropout, 000/002)


class MomentApprox(Enum):
    """E and V of sigma(a), tanh(a) for Gaussian a (rnnbench/regularisers/moments.py)."""

    paper = "paper"  # Wang & Manning's closed forms, as 000/002 used them
    quadrature = "quadrature"  # 16-point Gauss-Hermite quadrature: accurate, 16x the elementwise work


class FdRecurrentMean(Enum):
    """The mean of fast dropout's recurrent input (protocols.md §1b)."""

    keep = "keep"  # E[h~ W] = q h W, q = 1 - p (000 §2.2: the papers' math)
    drop = "drop"  # h W x p, p the DROP rate (breze arch/model/varprop/rnn.py, recurrent_layer); V still uses q


class FdTanh(Enum):
    """Which function fast dropout's tanh moments are those of (protocols.md §1b)."""

    tanh = "tanh"  # tanh(a) = 2 sigma(2a) - 1: sigma moments at (2m, 4v) (000 §2.2, the papers' math)
    half = "half"  # breze component/varprop/transfer.py, tanh: sigma moments at (m, v), then (2E - 1, 4V) = tanh(a/2)


class OutputRate(Enum):
    """The drop rate of fast dropout's hidden->output site (protocols.md §1b)."""

    own = "own"  # regulariser.output as configured (000 Table 3's row "p drop hidden->output")
    recurrent = "recurrent"  # breze arch/model/varprop/rnn.py, rnn(): the read-out drops with the hidden rate
    #   (p_dropouts[-1] = p_dropout_hidden; Jan-2014 learn/rnn.py ignores p_dropout_hidden_to_out)


class FinalLayerNo(Enum):
    """What "FD for final layer = no" (regulariser.fd_output=false) does (protocols.md §1b)."""

    readout = "readout"  # an ordinary read-out on the hidden means, their variance ignored (000 Table 3)
    readout_and_input = "readout_and_input"  # Dec-2013 breze: hidden_var_biases_sqrt[-1] = 1e-16, which for one
    #   layer also zeroes the variance of the input projection x W_in


class Penalty(Enum):
    none = "none"
    l1 = "l1"
    l2 = "l2"


@dataclass
class SiteConfig:
    """One site of the network; ``rate`` is a drop probability or a noise standard deviation."""

    noise: Noise = Noise.none
    rate: float = bounded(0.0, ge=0)  # a drop probability must also be < 1 (rnnbench/regularisers/spec.py)
    realise: Optional[Realise] = None  # step | sequence for this site only; None: the regulariser's


@dataclass
class RegulariserConfig:
    """A noise process on sites of the net plus an optional penalty (rnnbench/regularisers/).

    Sites: input (x -> W_in), recurrent (h_{t-1} -> W_rec), output (h_t -> W_out), cell (the
    cell's state update: RNNDrop on the LSTM cell state, zoneout on any cell) and embedding (word models). The presets in conf/regulariser/ are
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
    # the authors' code as a reading (protocols.md §1b; conf/protocol/breze.yaml sets all four)
    fd_rec_mean: FdRecurrentMean = FdRecurrentMean.keep  # moments: mean of the recurrent input x q or x p
    fd_tanh: FdTanh = FdTanh.tanh  # moments: the tanh moments of tanh(a) or of breze's tanh(a/2)
    output_rate: OutputRate = OutputRate.own  # moments: the read-out's rate, or the recurrent site's
    final_layer_no: FinalLayerNo = FinalLayerNo.readout  # moments: what fd_output=false switches off
    penalty: Penalty = Penalty.none  # L1/L2 on W_in, W_rec, W_out, added to the loss (001 RNN-NBR)
    penalty_weight: float = bounded(0.0, ge=0)  # lambda


# (schema name, dataclass) for conf/regulariser/*.yaml: ``/regulariser_<name>_schema@_here_``
SCHEMAS = [("regulariser", RegulariserConfig)]
