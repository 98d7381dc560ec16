"""Structured-config schemas: every YAML file under conf/ is checked against one of these.

A misspelt key, a value of the wrong type or an unknown enum value is rejected by
OmegaConf/Hydra before any work starts, with a message naming the key and the valid
values. Each dataclass maps onto one place in the code (named in its docstring).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


def value_of(x: Any) -> Any:
    """An enum field's value (configs built without the schema, or read back from results.json,
    hold plain strings)."""
    return x.value if isinstance(x, Enum) else x


class PadMode(Enum):
    """What the recurrence sees in front padding (rnnbench/data/batches.py).

    zeros: the net reads the prepended zero frames, as in 000 §3.1 ("zeros are prepended").
    hold:  the state is held at its initial value through the padding, so a padded chunk
           gives exactly the numbers of the unpadded one.
    """

    zeros = "zeros"
    hold = "hold"


class Precision(Enum):
    float32 = "float32"
    float64 = "float64"


@dataclass
class DataConfig:
    """Where data lives (rnnbench/data/fetch.py)."""

    root: Optional[str] = None  # None: $RNNBENCH_DATA, else the per-user cache directory
    download: bool = True  # false: never touch the network
    verify: bool = True  # check SHA-256 against the table shipped in the package


@dataclass
class MusicDatasetConfig:
    """A polyphonic-music benchmark (rnnbench/data/music.py); protocol of 000 §3.1."""

    name: str = MISSING  # jsb | nottingham | musedata | piano-midi
    file: str = MISSING  # path below the data root, e.g. "music/JSB Chorales.pickle"
    chunk_len: int = 100  # train/valid sequences are cut into chunks of this many steps
    pad: PadMode = PadMode.zeros  # short chunks are padded at the front
    predict_first: bool = False  # also predict frame 1 from the initial state (000 uses T-1)


@dataclass
class SyntheticDatasetConfig(MusicDatasetConfig):
    """A small generated piano-roll set for tests and demos (rnnbench/data/synthetic.py)."""

    file: str = ""
    n_train: int = 48
    n_valid: int = 16
    n_test: int = 16
    min_len: int = 20
    max_len: int = 60
    n_voices: int = 3  # notes sounding per frame, moving by small steps
    data_seed: int = 1234  # the data are the same whatever the training seed


@dataclass
class PTBDatasetConfig:
    """Penn Treebank language modelling (rnnbench/data/ptb.py, rnnbench/lm.py); protocols.md §3."""

    name: str = "ptb"
    batch: int = 20  # parallel streams in training
    bptt: int = 35  # unrolled steps per update; the state is carried (detached) across windows
    eval_bptt: int = 35  # window of the evaluation pass: one stream, state carried, so it does not change the result


@dataclass
class SentimentDatasetConfig:
    """Pang & Lee scale v1.0 regression (rnnbench/data/sentiment.py, rnnbench/sentiment.py); protocols.md §4."""

    name: str = "sentiment"
    vocab: int = 20000  # top words kept; the rest become the out-of-vocabulary id
    segment: int = 200  # non-overlapping segments of every review, each with the review's rating
    test_split: float = 0.2  # the last 20% of the shuffled segments
    split_seed: int = 0  # NumPy legacy seed of the review shuffle (the authors': 0)
    batch: int = 128


@dataclass
class InitConfig:
    """Initialisation (rnnbench/models/init.py): 002 §1.3.3, 000 §2.3, Sutskever et al. 2013."""

    var_in: float = 0.01  # sigma^2 of W_in entries
    var_rec: float = 0.0001  # sigma^2 of W_rec entries (before the spectral rescale)
    var_out: float = 0.0001  # sigma^2 of W_out entries
    sparsity: Optional[int] = 15  # nu: random incoming non-zeros per unit; None = dense
    # which matrices get the sparse init: true = W_in, W_rec and W_out (every unit has nu incoming
    # weights, Sutskever et al. 2013); false = W_rec only (breze's separate sparsify_rec/sparsify_affine)
    sparse_io: bool = True
    rho: Optional[float] = 1.2  # spectral radius of W_rec (each gate block for gated cells); None = keep
    bias_hidden: float = 0.0  # b_h
    bias_out: float = -0.8  # b_y (002)
    forget_bias: float = 0.0  # added to the LSTM forget-gate bias
    uniform: Optional[float] = None  # word models: every parameter U(-a, a) (Zaremba et al.), replacing the above


class Activation(Enum):
    """The sRNN's transfer function (rnnbench/models/srnn.py)."""

    tanh = "tanh"  # 000-002 ch. 2
    sigmoid = "sigmoid"  # STORN's nets (002 §4.4.1)


@dataclass
class StornConfig:
    """STORN's latent variables and recognition net (rnnbench/models/storn.py, 002 ch. 4)."""

    cell: str = "srnn"  # the core of both nets: srnn | lstm | gru (the thesis: sRNNs)
    latent: int = 20  # w, latent units per step (not reported in 002; rnnbench's default)
    recognition_hidden: Optional[int] = None  # None: model.hidden (002 §4.4.1: 300 in both nets)
    var_floor: float = 1e-6  # added to sigma^2 = ry^2 so that log sigma^2 stays finite
    kl_warmup: int = 0  # epochs over which the KL weight rises linearly to 1 (0: the plain ELBO, 002)


@dataclass
class ModelConfig:
    """The recurrent core (rnnbench/models/<name>.py) and its Bernoulli read-out."""

    name: str = MISSING  # srnn | lstm | gru
    hidden: int = 400
    learn_h0: bool = True  # the initial state is a parameter (000 §2.1: theta includes h0)
    init: InitConfig = field(default_factory=InitConfig)
    layers: int = 1  # stacked recurrent layers (word models; music models have one)
    embedding: Optional[int] = None  # word models: embedding size (None: the hidden size)
    tie_weights: bool = False  # word models: the softmax reuses the embedding matrix (needs embedding == hidden)
    activation: Activation = Activation.tanh  # sRNN transfer function
    storn: StornConfig = field(default_factory=StornConfig)  # model=storn only


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


@dataclass
class EvalConfig:
    """Evaluation (rnnbench/metrics.py): deterministic always; Monte Carlo when mc_samples > 0;
    importance sampling for STORN."""

    mc_samples: int = 0  # K stochastic passes; their predictive probabilities are averaged
    is_samples: int = 100  # STORN: K importance samples of the test/valid NLL (Rezende et al. 2014)
    is_batch: int = 512  # STORN: rows (samples x sequences) per importance-sampling pass (memory ~ rows x T x H)


@dataclass
class RmspropNesterovConfig:
    """rmsprop with Nesterov momentum as in climin (rnnbench/optim/rmsprop_nesterov.py), 000 §2.3."""

    name: str = "rmsprop-nesterov"
    lr: float = 0.001  # step rate eta
    momentum: float = 0.99  # mu
    decay: float = 0.8  # d, decay of the running mean of squared gradients
    eps: float = 1e-8  # inside the square root, as in climin
    init_mean_square: float = 1.0  # climin starts the running mean of squares at 1


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = 0.001
    betas: List[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class SGDConfig:
    """SGD with the step decay of Zaremba et al. (2014): lr / factor^max(0, epoch - decay_after)."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    decay_after: int = 6  # epochs at the full rate (1-based: epochs 1..decay_after)
    decay_factor: float = 1.2  # divide the rate by this each later epoch; 1.0 disables


@dataclass
class AdadeltaConfig:
    name: str = "adadelta"
    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0


@dataclass
class AdadeltaNesterovConfig:
    """climin's Adadelta with Nesterov momentum (rnnbench/optim/adadelta_nesterov.py), STORN's
    optimiser (002 §4.4; its settings were part of the random search and are not reported)."""

    name: str = "adadelta-nesterov"
    lr: float = 1.0  # step rate eta
    momentum: float = 0.9  # mu
    decay: float = 0.9  # d, of both running means (squared gradients, squared steps)
    offset: float = 1e-4  # o, added under both square roots


@dataclass
class TrainConfig:
    """The training loop (rnnbench/train.py)."""

    max_epochs: int = 500
    patience: int = 20  # stop after this many epochs without a better validation NLL
    batch_size: int = 32  # not given in the papers (their notebook used small batches)
    eval_batch_size: int = 64
    clip: Optional[float] = 225.0  # gradient-norm clipping threshold (000 §2.3); None = off
    max_seconds: Optional[float] = None  # wall-clock budget for the training loop
    # divergence (rnnbench/loop.py: Divergence): the run stops as `diverged` once its validation metric
    # has been above the task's trivial floor and diverge_factor x its best for diverge_epochs epochs
    diverge_factor: Optional[float] = 1.1  # None: only a non-finite loss counts as divergence
    diverge_epochs: int = 3
    precision: Precision = Precision.float32
    progress: bool = True  # tqdm bar (off anyway when stderr is not a terminal)
    save_model: bool = True  # write best.pt (state dict of the best-validation model)
    fuse: bool = False  # torch.compile the cells' gate math into fused kernels (rnnbench/models/fuse.py)


@dataclass
class PopulationConfig:
    """Population training (rnnbench/population/): members with the same tensor shapes and
    regulariser structure train in one process with batched kernels."""

    size: int = 1  # > 1: this config with seeds seed .. seed+size-1, trained as one population
    max_members: int = 128  # the most members one batched group holds (larger groups are split)


@dataclass
class SearchConfig:
    """Random search (rnnbench/population/search.py, Bergstra & Bengio 2012): ``n`` configs, each a
    draw from ``space`` (a dotted config key -> a list of choices, or {low, high, log, int}),
    seeds seed .. seed+n-1, grouped into populations by shape."""

    name: str = "none"  # none | random | tpe (optuna's TPE, rnnbench/population/tpe.py)
    n: int = 32
    seed: int = 0  # of the draws (the members' training seeds are seed .. seed+n-1 of the run)
    space: Dict[str, Any] = field(default_factory=dict)
    per_round: int = 8  # tpe: configurations asked per round, trained as one population
    startup: int = 8  # tpe: trials drawn at random before TPE models the results


@dataclass
class LoggerConfig:
    """Where the per-epoch metrics go (rnnbench/results.py: metrics_log)."""

    name: str = "csv"  # csv: metrics.csv; tensorboard: metrics.csv and <run dir>/tensorboard/ (scalars, hparams)


@dataclass
class Config:
    """The whole run: `rnnbench key=value ...` overrides any field."""

    dataset: Any = MISSING
    model: ModelConfig = MISSING
    regulariser: RegulariserConfig = MISSING
    optim: Any = MISSING
    train: TrainConfig = MISSING
    eval: EvalConfig = field(default_factory=EvalConfig)
    data: DataConfig = field(default_factory=DataConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N


def check_common(cfg) -> None:
    """What the schemas cannot check, for every task (called by the CLI before any work): values that
    the types admit but that would make a run meaningless. Raises ConfigError naming the key."""
    from rnnbench.errors import ConfigError

    t = cfg.train
    rules = [
        (t.clip is None or t.clip > 0, f"train.clip must be > 0 (or null for no clipping), got {t.clip}: a negative "
                                       "threshold would turn descent into ascent"),
        (t.patience >= 1, f"train.patience must be >= 1 epoch, got {t.patience}"),
        (t.max_epochs >= 1, f"train.max_epochs must be >= 1, got {t.max_epochs}"),
        (t.max_seconds is None or t.max_seconds > 0, f"train.max_seconds must be > 0 (or null), got {t.max_seconds}"),
        (t.diverge_factor is None or t.diverge_factor > 1, f"train.diverge_factor must be > 1 (or null to keep only "
                                                           f"the non-finite rule), got {t.diverge_factor}"),
        (t.diverge_epochs >= 1, f"train.diverge_epochs must be >= 1, got {t.diverge_epochs}"),
        (cfg.population.size >= 1, f"population.size must be >= 1, got {cfg.population.size}"),
        (cfg.population.max_members >= 1, f"population.max_members must be >= 1, got {cfg.population.max_members}"),
        (cfg.eval.mc_samples >= 0, f"eval.mc_samples must be >= 0, got {cfg.eval.mc_samples}"),
    ]
    for ok, message in rules:
        if not ok:
            raise ConfigError(message)


def register_configs() -> None:
    """Register the schemas; conf/<group>/*.yaml name theirs as ``/<group>_<name>_schema@_here_``.

    They are stored at the top level, not in the groups, so that they are never offered as
    options of a group (``dataset=music`` is not a data set) nor listed by ``--help``.
    """
    cs = ConfigStore.instance()
    cs.store(name="rnnbench_schema", node=Config)
    for group, name, node in [
        ("dataset", "music", MusicDatasetConfig),
        ("dataset", "synthetic", SyntheticDatasetConfig),
        ("dataset", "ptb", PTBDatasetConfig),
        ("dataset", "sentiment", SentimentDatasetConfig),
        ("model", "model", ModelConfig),
        ("regulariser", "regulariser", RegulariserConfig),
        ("optim", "rmsprop_nesterov", RmspropNesterovConfig),
        ("optim", "adam", AdamConfig),
        ("optim", "sgd", SGDConfig),
        ("optim", "adadelta", AdadeltaConfig),
        ("optim", "adadelta_nesterov", AdadeltaNesterovConfig),
        ("train", "train", TrainConfig),
        ("search", "search", SearchConfig),
        ("logger", "logger", LoggerConfig),
    ]:
        cs.store(name=f"{group}_{name}_schema", node=node)
