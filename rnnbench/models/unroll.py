"""Unrolling a core over time, separate from the cells (haiku's ``dynamic_unroll``)."""
from __future__ import annotations

from typing import Optional

import torch

from rnnbench.models.core import RecurrentCore, State, Weights


def unroll(
    core: RecurrentCore,
    x: torch.Tensor,
    state: State,
    w: Optional[Weights] = None,
    step_mask: Optional[torch.Tensor] = None,
) -> tuple[torch.Tensor, State]:
    """Run ``core`` over x (B, T, D); returns outputs (B, T, H) and the final state.

    The input projection is one matmul for all steps. Where ``step_mask`` (B, T) is False the
    state is held (padding with pad=hold), so a padded row gives the numbers of the unpadded one.
    """
    w = core.weights() if w is None else w
    u = core.project(x, w)  # (B, T, G)
    # unbind, not u[:, t]: autograd would back-propagate each indexing through a zero tensor of
    # the whole (B, T, G) projection, which costs O(T^2); unbind's backward is one stack.
    ys = []
    for t, u_t in enumerate(u.unbind(1)):
        y, new = core.recur(u_t, state, w)
        if step_mask is not None:
            keep = step_mask[:, t, None]  # (B, 1)
            new = tuple(torch.where(keep, n, s) for n, s in zip(new, state))
        state = new
        ys.append(y)
    return torch.stack(ys, dim=1), state
