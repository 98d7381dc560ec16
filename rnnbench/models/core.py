"""The recurrent-core interface (after haiku's RNNCore and pyro's DMM): a core is a step
``(x_t, state) -> (y_t, state)`` plus ``initial_state(B)``; unrolling is rnnbench/models/unroll.py.

Cells are explicit math on explicit weight tensors. The step is split in two so that
regularisers and fast unrolls can act between them without touching the cell:

    project(x, w)          the non-recurrent part x W_in + b, for one step or all steps at once
    recur(u_t, state, w)   the recurrent part, given the projected input u_t

``w`` is a dict of weight tensors (``weights()`` by default): a regulariser may hand in noisy or
masked weights, and a population of parameter sets can be stacked or vmapped over it.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

State = tuple[torch.Tensor, ...]
Weights = dict[str, torch.Tensor]


class RecurrentCore(nn.Module):
    """Base class: subclasses define their parameters, ``project``, ``recur`` and ``state_names``."""

    state_names: tuple[str, ...] = ("h",)

    def __init__(self, input_size: int, hidden_size: int, learn_h0: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        for name in self.state_names:
            # 000 §2.1: the initial hidden state is part of the parameters theta.
            self.register_parameter(f"{name}0", nn.Parameter(torch.zeros(hidden_size), requires_grad=learn_h0))

    def weights(self) -> Weights:
        """The tensors the step uses, by name (the core's own parameters)."""
        return dict(self.named_parameters(recurse=False))

    def initial_state(self, batch_size: int, w: Optional[Weights] = None) -> State:
        w = self.weights() if w is None else w
        return tuple(w[f"{n}0"].expand(batch_size, self.hidden_size) for n in self.state_names)

    def project(self, x: torch.Tensor, w: Weights) -> torch.Tensor:
        raise NotImplementedError

    def recur(self, u_t: torch.Tensor, state: State, w: Weights) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def step(self, x_t: torch.Tensor, state: State, w: Optional[Weights] = None) -> tuple[torch.Tensor, State]:
        """One time step: x_t (B, D) -> y_t (B, H)."""
        w = self.weights() if w is None else w
        return self.recur(self.project(x_t, w), state, w)

    def recurrent_matrix(self) -> Optional[torch.Tensor]:
        """W_rec as a square matrix where that is meaningful (the sRNN), else None."""
        return None
