"""The recurrent-core interface (after haiku's RNNCore and pyro's DMM): a core is a step
``core(x_t, state) -> (y_t, state)`` plus ``initial_state(B)``; the one time loop is
rnnbench/models/unroll.py, which calls ``prepare(x)`` once (what does not depend on the state: the
input projection of every step, a regulariser's draws) and ``step(p_t, state)`` per step. A
regulariser turns a core into a noisy one with the same two methods (rnnbench/regularisers/realise.py).

Cells are explicit math on explicit weight tensors, split in three so that regularisers and
fast unrolls act between the parts without touching the cell:

    project(x, w)                   u = x W_in + b, the input contribution (one step or all steps)
    recurrent_input(h, w)           v = h W_rec (+ b_rec), the recurrent contribution
    transition(u, v, state, ops)    the elementwise gate math, written against ``ops``

``w`` is a dict of weight tensors (``weights()`` by default): a regulariser may hand in noisy or
masked weights or masked inputs, compute the two linear parts itself (per-gate masks), or run
``transition`` on (mean, variance) pairs with moment ops; a population of parameter sets can be
stacked or vmapped over ``w``.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rnnbench.affine import affine
from rnnbench.models.ops import PLAIN

State = tuple[torch.Tensor, ...]
Weights = dict[str, torch.Tensor]


def gate_matmul(x: torch.Tensor, w: torch.Tensor, n_gates: int) -> torch.Tensor:
    """Per-gate inputs x (n_gates, ..., D) times w (D, n_gates * H): gate block k of w reads x[k]
    (per-gate, "untied" dropout masks, 003 §4). Returns (..., n_gates * H)."""
    blocks = w.view(w.shape[0], n_gates, -1)  # (D, G, H)
    out = torch.einsum("g...d,dgh->...gh", x, blocks)
    return out.reshape(*out.shape[:-2], -1)


class RecurrentCore(nn.Module):
    """Base class: subclasses define their parameters, ``project``, ``recur`` and ``state_names``."""

    state_names: tuple[str, ...] = ("h",)
    n_gates: int = 1  # blocks of width H in u and v

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

    def initial_state(self, batch_size: int) -> State:
        w = self.weights()
        return tuple(w[f"{n}0"].expand(batch_size, self.hidden_size) for n in self.state_names)

    def project(self, x: torch.Tensor, w: Weights, per_gate: bool = False) -> torch.Tensor:
        """x (..., D) -> (..., G); per_gate: x is (n_gates, ..., D) and gate block k reads x[k]."""
        return gate_matmul(x, w["w_in"], self.n_gates) + w["b"] if per_gate else affine(x, w["w_in"], w["b"])

    def recurrent_input(self, h: torch.Tensor, w: Weights, per_gate: bool = False) -> torch.Tensor:
        """h (B, H) -> (B, G); per_gate: h is (n_gates, B, H) and gate block k reads h[k]."""
        return gate_matmul(h, w["w_rec"], self.n_gates) if per_gate else h @ w["w_rec"]

    def transition(self, u_t, v_t, state: State, ops=PLAIN) -> tuple:
        """New output and state from the input and recurrent contributions u_t, v_t (B, G)."""
        raise NotImplementedError

    def prepare(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, T, D) -> the input contribution of each step, u_t (B, G): one matmul for all steps.
        unbind, not u[:, t]: autograd would back-propagate each indexing through a zero tensor of the
        whole (B, T, G) projection, which costs O(T^2); unbind's backward is one stack."""
        return self.project(x, self.weights()).unbind(1)

    def step(self, u_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step from a prepared input u_t (B, G) -> y_t (B, H) and the new state."""
        return self.transition(u_t, self.recurrent_input(state[0], self.weights()), state)

    def forward(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One time step on a raw input x_t (B, D) (haiku's ``core(x_t, state)``)."""
        return self.step(self.project(x_t, self.weights()), state)

    def recurrent_matrix(self) -> Optional[torch.Tensor]:
        """W_rec as a square matrix where that is meaningful (the sRNN), else None."""
        return None
