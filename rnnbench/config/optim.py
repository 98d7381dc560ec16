"""The optim group (conf/optim/*.yaml): rnnbench/optim/."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List


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


# (schema name, dataclass) for conf/optim/*.yaml: ``/optim_<name>_schema@_here_``
SCHEMAS = [("rmsprop_nesterov", RmspropNesterovConfig), ("adam", AdamConfig), ("sgd", SGDConfig), ("adadelta", AdadeltaConfig),
           ("adadelta_nesterov", AdadeltaNesterovConfig)]
