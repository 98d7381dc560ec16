"""Structured-config schemas: every YAML file under conf/ is checked against one of these; each
group's schemas sit in the module of its name (rnnbench/config/<group>.py), the whole run's here.

A misspelt key, a value of the wrong type or an unknown enum value is rejected by
OmegaConf/Hydra before any work starts, with a message naming the key and the valid
values. Each dataclass maps onto one place in the code (named in its docstring).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from rnnbench.config import dataset, logger, model, optim, regulariser, search, train
from rnnbench.config.checks import SEED_MAX, bounded, check_memory, check_values
from rnnbench.config.keys import OPERATIONAL, RESUMABLE_KEYS  # noqa: F401
from rnnbench.config.batching import unbatched
from rnnbench.config.search import DISPATCH, PRUNERS
from rnnbench.config.dataset import MusicDatasetConfig, PadMode, PTBDatasetConfig, SentimentDatasetConfig, SyntheticDatasetConfig  # noqa: F401
from rnnbench.config.logger import LoggerConfig
from rnnbench.config.model import Activation, InitConfig, ModelConfig, StornConfig  # noqa: F401
from rnnbench.config.optim import AdadeltaConfig, AdadeltaNesterovConfig, AdamConfig, RmspropNesterovConfig, SGDConfig  # noqa: F401
from rnnbench.config.regulariser import MomentApprox, Noise, Penalty, Realise, RegulariserConfig, SiteConfig  # noqa: F401
from rnnbench.config.search import PopulationConfig, SearchConfig
from rnnbench.config.train import Precision, TrainConfig  # noqa: F401

def value_of(x: Any) -> Any:
    """An enum field's value (configs built without the schema, or read back from results.json,
    hold plain strings)."""
    return x.value if isinstance(x, Enum) else x


def setting(cfg: Any, key: str, default: Any) -> Any:
    """``cfg.key`` as a plain value, or ``default`` where the config lacks the key (configs saved in
    results.json before the key existed; dataclass or DictConfig alike)."""
    return value_of(cfg.get(key, default) if hasattr(cfg, "get") else getattr(cfg, key, default))


@dataclass
class DataConfig:
    """Where data lives (rnnbench/data/fetch.py)."""

    root: Optional[str] = None  # None: $RNNBENCH_DATA, else the per-user cache directory
    download: bool = True  # false: never touch the network
    verify: bool = True  # check SHA-256 against the table shipped in the package


@dataclass
class EvalConfig:
    """Evaluation (rnnbench/metrics.py): deterministic always; Monte Carlo when mc_samples > 0;
    importance sampling for STORN."""

    mc_samples: int = bounded(0, ge=0, le=10_000)  # K stochastic passes; their predictive probabilities are averaged
    # the Monte Carlo test metric also every epoch, beside the deterministic one (sentiment: 003 §5.2 plots MC
    # dropout with K = 10, the authors' ModelTest callback computes both every epoch); the same draws each epoch
    mc_curve: bool = False
    is_samples: int = bounded(100, ge=1, le=100_000)  # STORN: K importance samples of the test/valid NLL (Rezende et al. 2014)
    # STORN: rows (samples x sequences) per importance-sampling pass, for rows of up to 128 steps; longer rows
    # are fewer per pass, rows x T <= is_batch x 128 (memory ~ rows x T x H; rnnbench/metrics.py: ROW_STEPS)
    is_batch: int = bounded(512, ge=1, le=1_000_000)
    # STORN: > 0 also reports breze's estimate_nll with this K (10 in breze) as *_nll_breze, beside the honest
    # bound: every frame incl. the first, log-weights summed over all sequences before the log-sum-exp,
    # log q at var + 1e-4 (rnnbench/metrics.py: breze_importance_nll; protocols.md §1b)
    breze_samples: int = bounded(0, ge=0, le=10_000)


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
    seed: int = bounded(0, ge=0, le=SEED_MAX)  # a member k of a population or search trains with seed + k
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    protocol: str = "paper"  # the reading the run's protocol group chose (conf/protocol/: paper | breze | breze-storn)


def check_common(cfg) -> None:
    """Every value of ``cfg`` against the schemas' ranges (rnnbench/config/checks.py), then what one
    value's range cannot say: settings that disagree, a reading applied to the wrong model, a model too
    large for the device's memory. Called by the CLI before anything is written or allocated; raises
    ConfigError naming the key."""
    from rnnbench.errors import ConfigError

    check_values(cfg, Config)
    ds, size = cfg.dataset, max(cfg.population.size, cfg.search.n if cfg.search.name != "none" else 1)
    rules = [
        (cfg.seed + size - 1 <= SEED_MAX, f"seed={cfg.seed} with {size} members would train seeds up to "
                                          f"{cfg.seed + size - 1}, past {SEED_MAX}; choose a smaller seed"),
        (cfg.population.size == 1 or cfg.search.name == "none",
         f"population.size={cfg.population.size} has no effect with search={cfg.search.name}: a search trains its "
         f"search.n={cfg.search.n} members as populations; drop population.size, or search=none for "
         f"{cfg.population.size} seeds of one config"),
        (cfg.population.get("dispatch", "here") in DISPATCH,
         f"population.dispatch={cfg.population.get('dispatch')} is not a way to dispatch groups; valid: {', '.join(DISPATCH)}"),
        (cfg.search.get("pruner", "none") in PRUNERS,
         f"search.pruner={cfg.search.get('pruner')} is not a pruner; valid: {', '.join(PRUNERS)}"),
        (cfg.search.get("pruner", "none") == "none" or cfg.search.name != "none" or cfg.population.size == 1,
         "search.pruner prunes the members of a search (search=random, open or tpe); population.size=N trains "
         "seeds of one config, which it does not prune"),
        (cfg.search.name != "tpe" or ds.get("task", "music") == "music",  # optuna is told each trial's valid_nll
         f"search=tpe searches the music task; dataset={ds.name} is a {ds.get('task')} task (search=random trains any "
         f"task)"),
        (cfg.search.name != "tpe" or cfg.search.get("pruner", "none") == "none" or not unbatched(cfg),
         f"search=tpe with search.pruner={cfg.search.get('pruner')} prunes trials inside batched populations, and "
         f"{unbatched(cfg)}; use search.pruner=none (each trial then trains alone)"),
        (cfg.search.name != "tpe" or 2 * cfg.search.get("startup", 0) <= cfg.search.n,
         f"search.startup={cfg.search.get('startup')} random trials would leave TPE less than half of search.n="
         f"{cfg.search.n}; set search.startup <= {cfg.search.n // 2}"),
        ("min_len" not in ds or ds.min_len <= ds.max_len,
         f"dataset.min_len={ds.get('min_len')} is above dataset.max_len={ds.get('max_len')}"),
        (cfg.get("protocol", "paper") == "paper" or cfg.dataset.task == "music",
         f"protocol={cfg.get('protocol')} is a reading of the music papers' code (protocols.md §1b); "
         f"dataset={cfg.dataset.name} is a {cfg.dataset.task} task, which has its own protocol: use protocol=paper"),
        (cfg.get("protocol", "paper") != "breze-storn" or cfg.model.name == "storn",
         f"protocol=breze-storn is the authors' STORN code (breze StochasticRnn) as a reading; it applies to "
         f"model=storn, not model={cfg.model.name} (the FD-RNN's reading is protocol=breze)"),
        (not cfg.eval.get("mc_curve", False) or ds.get("task", "music") == "regression",
         f"eval.mc_curve=true logs the Monte Carlo test RMSE every epoch, which the sentiment task does (the test "
         f"curve of 003 §5.2); dataset={ds.name} is a {ds.get('task', 'music')} task: its Monte Carlo numbers come at "
         f"the end with eval.mc_samples"),
        (not cfg.eval.get("mc_curve", False) or cfg.eval.mc_samples > 0,
         "eval.mc_curve=true needs eval.mc_samples > 0, the number of stochastic passes it averages (003 §5.2: 10)"),
        (cfg.get("protocol", "paper") != "breze" or cfg.model.name != "storn",
         "protocol=breze is the FD-RNN code's reading (probabilities clipped, padded loss); STORN's is "
         "protocol=breze-storn"),
    ]
    for ok, message in rules:
        if not ok:
            raise ConfigError(message)
    if cfg.search.name != "none":
        search.check_space(cfg)
    check_memory(cfg)


def register_configs() -> None:
    """Register the schemas; conf/<group>/*.yaml name theirs as ``/<group>_<name>_schema@_here_``.

    They are stored at the top level, not in the groups, so that they are never offered as
    options of a group (``dataset=music`` is not a data set) nor listed by ``--help``.
    """
    cs = ConfigStore.instance()
    cs.store(name="rnnbench_schema", node=Config)
    for group in (dataset, model, regulariser, optim, train, search, logger):
        for name, node in group.SCHEMAS:
            cs.store(name=f"{group.__name__.rsplit('.', 1)[1]}_{name}_schema", node=node)
