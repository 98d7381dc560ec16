"""The optim group (conf/optim/*.yaml): rnnbench/optim/."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from rnnbench.config.checks import bounded


@dataclass
class RmspropNesterovConfig:
    """rmsprop with Nesterov momentum as in climin (rnnbench/optim/rmsprop_nesterov.py), 000 §2.3."""

    name: str = "rmsprop-nesterov"
    lr: float = bounded(0.001, gt=0)  # step rate eta
    momentum: float = bounded(0.99, ge=0, lt=1)  # mu
    decay: float = bounded(0.8, ge=0, lt=1)  # d, decay of the running mean of squared gradients
    eps: float = bounded(1e-8, gt=0)  # inside the square root, as in climin
    init_mean_square: float = bounded(1.0, ge=0)  # climin starts the running mean of squares at 1


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = bounded(0.001, gt=0)
    betas: List[float] = bounded([0.9, 0.999], ge=0, lt=1, length=2)  # (beta1, beta2)
    eps: float = bounded(1e-8, gt=0)
    weight_decay: float = bounded(0.0, ge=0)


@dataclass
class SGDConfig:
    """SGD with the step decay of Zaremba et al. (2014): lr / factor^max(0, epoch - decay_after)."""

    name: str = "sgd"
    lr: float = bounded(0.01, gt=0)
    momentum: float = bounded(0.0, ge=0, lt=1)
    nesterov: bool = False
    weight_decay: float = bounded(0.0, ge=0)
    decay_after: int = bounded(6, ge=0)  # epochs at the full rate (1-based: epochs 1..decay_after)
    # divide the rate by this each later epoch; 1.0 disables (below 1 the rate would grow without bound)
    decay_factor: float = bounded(1.2, ge=1, why="the step rate is divided by it every epoch after decay_after")


@dataclass
class AdadeltaConfig:
    name: str = "adadelta"
    lr: float = bounded(1.0, gt=0)
    rho: float = bounded(0.9, ge=0, lt=1)
    eps: float = bounded(1e-6, gt=0)
    weight_decay: float = bounded(0.0, ge=0)


@dataclass
class AdadeltaNesterovConfig:
    """climin's Adadelta with Nesterov momentum (rnnbench/optim/adadelta_nesterov.py), STORN's
    optimiser (002 §4.4; its settings were part of the random search and are not reported)."""

    name: str = "adadelta-nesterov"
    lr: float = bounded(1.0, gt=0)  # step rate eta
    momentum: float = bounded(0.9, ge=0, lt=1)  # mu
    decay: float = bounded(0.9, ge=0, lt=1)  # d, of both running means (squared gradients, squared steps)
    offset: float = bounded(1e-4, gt=0)  # o, added under both square roots


# (schema name, dataclass) for conf/optim/*.yaml: ``/optim_<name>_schema@_here_``
SCHEMAS = [("rmsprop_nesterov", RmspropNesterovConfig), ("adam", AdamConfig), ("sgd", SGDConfig), ("adadelta", AdadeltaConfig),
           ("adadelta_nesterov", AdadeltaNesterovConfig)]
