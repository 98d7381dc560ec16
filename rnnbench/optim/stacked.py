"""The optimiser of a stacked population (rnnbench/models/stack.py): the members' optimiser class on the
stacked parameters, each member with its own hyper-parameters (per-member tensors of shape (P, 1, ...)),
and its repacking when members leave."""
from __future__ import annotations

import torch

from rnnbench.errors import ConfigError
from rnnbench.optim import build_optimizer
from rnnbench.optim.adadelta_nesterov import AdadeltaNesterov
from rnnbench.optim.rmsprop_nesterov import RmspropNesterov

# optimiser -> (class, hyper-parameters that may differ between members)
STACKABLE = {
    "rmsprop-nesterov": (RmspropNesterov, ("lr", "momentum", "decay", "eps", "init_mean_square")),
    "adadelta-nesterov": (AdadeltaNesterov, ("lr", "momentum", "decay", "offset")),
}


def unstackable(name: str) -> str | None:
    """Why optim=``name`` cannot train a stacked population (no per-member step rates), or None."""
    if name in STACKABLE:
        return None
    return f"population training supports optim={' or '.join(STACKABLE)} (per-member step rates), not optim={name}"


def _per_member(values: list[float], p: torch.Tensor) -> torch.Tensor:
    """(P, 1, ..., 1): one value per member, broadcasting against the stacked parameter p."""
    return torch.tensor(values, dtype=p.dtype, device=p.device).view(-1, *([1] * (p.dim() - 1)))


def stacked_optimizer(members: list, pop):
    """The members' optimiser (the same class for all) on the stacked parameters, each member
    with its own hyper-parameters; each member's config is first checked as a single run's."""
    name = members[0].optim.name
    if why := unstackable(name):
        raise ConfigError(why)
    cls, keys = STACKABLE[name]
    for cfg in members:  # the single run's checks (a ConfigError names the bad value)
        build_optimizer(cfg.optim, [torch.nn.Parameter(torch.zeros(1))])
    params = pop.parameters()
    first = {k: members[0].optim[k] for k in keys}
    opt = cls([{"params": [p]} for p in params], **first)
    for group, p in zip(opt.param_groups, params):
        for k in keys:
            group[k] = _per_member([float(cfg.optim[k]) for cfg in members], p)
    return opt


@torch.no_grad()
def repack_optimizer(opt, mapping: dict, rows: list[int], size: int) -> None:
    """The stacked optimiser after Population.select: its parameters replaced, and every per-member tensor
    (state like the parameter, hyper-parameters of shape (P, 1, ...)) cut to the members at ``rows``."""
    index = torch.tensor(rows, device=next(iter(mapping.values())).device)

    def cut(v):
        return v[index].clone() if torch.is_tensor(v) and v.dim() and v.shape[0] == size else v

    for group in opt.param_groups:
        fresh = []
        for p in group["params"]:
            q = mapping[p]
            state = opt.state.pop(p, {})
            if state:
                opt.state[q] = {k: cut(v) for k, v in state.items()}
            fresh.append(q)
        group["params"] = fresh
        for k, v in list(group.items()):
            if k != "params":
                group[k] = cut(v)
