"""The one time loop (haiku's ``dynamic_unroll``): every model, plain or noisy, unrolls through it.

A core is anything with ``initial_state(B)``, ``prepare(x)`` (x -> the list of per-step inputs: what
does not depend on the state, computed once) and ``step(p_t, state) -> (y_t, state)``: the cells of
rnnbench/models/ and the noisy cores a regulariser makes of them (rnnbench/regularisers/realise.py).
A state and an output may be tensors or (mean, variance) pairs (fast dropout): the padding hold and
the stacking of the outputs act on every tensor of them alike.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch.utils._pytree import tree_map

State = tuple


def hold(keep: torch.Tensor, new: State, old: State) -> State:
    """The new state where ``keep`` (B, 1) is True, the old one elsewhere (padding with pad=hold)."""
    return tree_map(lambda n, o: torch.where(keep, n, o), new, old)


def unroll(core, x, state: Optional[State] = None, step_mask: Optional[torch.Tensor] = None):
    """Run ``core`` over x (B, T, ...) from ``state`` (default: the core's initial state); returns the
    outputs stacked along time (B, T, H) and the final state. Where ``step_mask`` (B, T) is False the
    state is held, so a front-padded row gives the numbers of the unpadded one."""
    inputs = core.prepare(x)
    if state is None:
        state = core.initial_state(x.shape[0])
    ys = []
    for t, x_t in enumerate(inputs):
        y, new = core.step(x_t, state)
        state = new if step_mask is None else hold(step_mask[:, t, None], new, state)
        ys.append(y)
    return tree_map(lambda *steps: torch.stack(steps, dim=1), *ys), state
