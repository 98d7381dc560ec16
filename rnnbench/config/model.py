"""The model group (conf/model/*.yaml): rnnbench/models/."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from omegaconf import MISSING

from rnnbench.config.checks import bounded


class InitScale(Enum):
    """How var_in / var_rec / var_out are read (protocols.md §1b)."""

    variance = "variance"  # sigma^2, as 000 Table 3 and 002 Table 1 write them
    std = "std"  # standard deviations: the authors' notebook sets par_std = 0.0001, in_to_hidden_par_std = 0.01,
    #   Table 3's "sigma^2" column for JSB


class H0Init(Enum):
    """The learned initial state's starting value (protocols.md §1b)."""

    zero = "zero"
    gaussian = "gaussian"  # N(0, std) with W_rec's std (breze: every parameter drawn, h0 included)


@dataclass
class InitConfig:
    """Initialisation (rnnbench/models/init.py): 002 §1.3.3, 000 §2.3, Sutskever et al. 2013."""

    var_in: float = bounded(0.01, ge=0)  # sigma^2 of W_in entries
    var_rec: float = bounded(0.0001, ge=0)  # sigma^2 of W_rec entries (before the spectral rescale)
    var_out: float = bounded(0.0001, ge=0)  # sigma^2 of W_out entries
    sparsity: Optional[int] = bounded(15, ge=1)  # nu: random incoming non-zeros per unit; None = dense
    # which matrices get the sparse init: true = W_in, W_rec and W_out (every unit has nu incoming
    # weights, Sutskever et al. 2013); false = W_rec only (breze's separate sparsify_rec/sparsify_affine)
    sparse_io: bool = True
    scale: InitScale = InitScale.variance  # var_* read as variances (the papers) or standard deviations (breze)
    h0: H0Init = H0Init.zero  # the learned initial state starts at 0, or N(0, std of W_rec) (breze)
    rho: Optional[float] = bounded(1.2, gt=0)  # spectral radius of W_rec (each gate block for gated cells); None = keep
    bias_hidden: float = 0.0  # b_h
    bias_out: float = -0.8  # b_y (002)
    forget_bias: float = 0.0  # added to the LSTM forget-gate bias
    uniform: Optional[float] = bounded(None, gt=0)  # word models: every parameter U(-a, a) (Zaremba et al.), replacing the above


class Activation(Enum):
    """The sRNN's transfer function (rnnbench/models/srnn.py)."""

    tanh = "tanh"  # 000-002 ch. 2
    sigmoid = "sigmoid"  # STORN's nets (002 §4.4.1)


class GeneratorInput(Enum):
    """What STORN's generating net reads beside z_t (protocols.md §1b, STORN)."""

    frame = "frame"  # x_{t-1}, the previous frame (002 eq. 29 read literally)
    recognition_state = "recognition_state"  # h^rec_{t-1}, the recognition net's hidden mean one step back
    #   (breze learn/sgvb.py, StochasticRnn: the "shortcut"; zeros at the first step)


class QVariance(Enum):
    """Where q(z_t | x)'s variance comes from (protocols.md §1b, STORN)."""

    squared = "squared"  # the square of a second block of read-out units (002 §4.3.2), plus var_floor
    fd = "fd"  # the recognition net's fast-dropout output variance (002 §4.4; breze statify_latent), plus var_floor


@dataclass
class StornConfig:
    """STORN's latent variables and recognition net (rnnbench/models/storn.py, 002 ch. 4)."""

    cell: str = "srnn"  # the core of both nets: srnn | lstm | gru (the thesis: sRNNs)
    latent: int = bounded(20, ge=1, le=100_000)  # w, latent units per step (not reported in 002; rnnbench's default)
    recognition_hidden: Optional[int] = bounded(None, ge=1, le=1_000_000)  # None: model.hidden (002 §4.4.1: 300 in both nets)
    var_floor: float = bounded(1e-6, ge=0)  # added to sigma^2 = ry^2 so that log sigma^2 stays finite
    kl_warmup: int = bounded(0, ge=0)  # epochs over which the KL weight rises linearly to 1 (0: the plain ELBO, 002)
    # the authors' code as a reading (breze StochasticRnn, Nov. 2014; protocols.md §1b)
    generator_input: GeneratorInput = GeneratorInput.frame
    q_variance: QVariance = QVariance.squared  # fd needs regulariser.realise=moments
    learned_rates: bool = False  # the recognition net's dropout rates are parameters, sigma(theta) * 0.49 + 0.01


@dataclass
class ModelConfig:
    """The recurrent core (rnnbench/models/<name>.py) and its Bernoulli read-out."""

    name: str = MISSING  # srnn | lstm | gru
    hidden: int = bounded(400, ge=1, le=1_000_000)  # the memory it needs is estimated before allocating (rnnbench/runtime.py)
    learn_h0: bool = True  # the initial state is a parameter (000 §2.1: theta includes h0)
    init: InitConfig = field(default_factory=InitConfig)
    layers: int = bounded(1, ge=1, le=100)  # stacked recurrent layers (word models; music models have one)
    embedding: Optional[int] = bounded(None, ge=1, le=1_000_000)  # word models: embedding size (None: the hidden size)
    tie_weights: bool = False  # word models: the softmax reuses the embedding matrix (needs embedding == hidden)
    activation: Activation = Activation.tanh  # sRNN transfer function
    storn: StornConfig = field(default_factory=StornConfig)  # model=storn only
    # next-step models: the predicted probabilities clipped to [c, 1 - c] in the loss and the metric
    # (breze's safe sigmoid, c = 1e-7: component/varprop/transfer.py); None: exact BCE with logits
    prob_clip: Optional[float] = bounded(None, gt=0, lt=0.5)


# (schema name, dataclass) for conf/model/*.yaml: ``/model_<name>_schema@_here_``
SCHEMAS = [("model", ModelConfig)]
