"""Optimisers by config name; ``lr_at_epoch`` gives the step-decay schedule of SGD."""
from __future__ import annotations

import torch

from rnnbench.errors import ConfigError
from rnnbench.optim.adadelta_nesterov import AdadeltaNesterov
from rnnbench.optim.rmsprop_nesterov import RmspropNesterov

OPTIMISERS = ("rmsprop-nesterov", "adam", "sgd", "adadelta", "adadelta-nesterov")


def build_optimizer(cfg, params) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    try:
        if cfg.name == "rmsprop-nesterov":
            return RmspropNesterov(params, lr=cfg.lr, momentum=cfg.momentum, decay=cfg.decay, eps=cfg.eps, init_mean_square=cfg.init_mean_square)
        if cfg.name == "adam":
            return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay)
        if cfg.name == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
        if cfg.name == "adadelta":
            return torch.optim.Adadelta(params, lr=cfg.lr, rho=cfg.rho, eps=cfg.eps, weight_decay=cfg.weight_decay)
        if cfg.name == "adadelta-nesterov":
            return AdadeltaNesterov(params, lr=cfg.lr, momentum=cfg.momentum, decay=cfg.decay, offset=cfg.offset)
    except ValueError as e:
        raise ConfigError(f"optim={cfg.name}: {e}") from None
    raise ConfigError(f"unknown optimiser '{cfg.name}'; valid: {', '.join(OPTIMISERS)}")


def lr_at_epoch(cfg, epoch: int) -> float:
    """Step rate for 1-based ``epoch``: SGD divides by decay_factor each epoch after decay_after
    (Zaremba et al. 2014); the other optimisers keep a constant rate."""
    if cfg.name == "sgd":
        return cfg.lr / cfg.decay_factor ** max(0, epoch - cfg.decay_after)
    return cfg.lr
