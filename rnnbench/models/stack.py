"""P models of one structure as one: parameters stacked along a leading member axis (P, ...),
the forward pass vmapped over them (torch.func), per-member regulariser rates as tensors.

Members share every tensor shape and the structure of the regulariser (which sites carry which
noise, how it is realised); they may differ in anything else that enters as a number: the
initialisation, the dropout rates or noise sigma of each site, "FD for final layer", and the
optimiser's step rate, momentum and decay (rnnbench/optim/stacked.py; the music task's P-member mode,
rnnbench/tasks/music_population.py). A site with rate 0 in
one member and not in another runs as an active site with keep probability 1, which computes the
same numbers as the inactive site.

Noise that is sampled (realise=step/sequence) is drawn under vmap with independent streams per
member (randomness="different"): reproducible for a population seed, but not the stream a
member would draw alone. Deterministic forwards (no noise, fast dropout, penalties) give a member
exactly the numbers of its single run.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.func import functional_call, vmap

from rnnbench.regularisers.spec import NoiseSpec


class _Member(nn.Module):
    """The model's per-frame loss with the member's rates put into its noise spec (the rates are this
    member's slice under vmap: the spec marks their sites on, rnnbench/regularisers/spec.py)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, rates: dict, fd_output, inputs, targets, step_mask, loss_mask):
        noise = self.model.noise.with_rates(rates, fd_output)
        return self.model.frame_losses(inputs, targets, step_mask, loss_mask, noise=noise)


def structure_of(spec: NoiseSpec) -> tuple:
    """What members of one population must share about their regulariser (not the rates)."""
    return (spec.realise, tuple((n, s.noise, s.realise) for n, s in sorted(spec.sites.items())), spec.inverted,
            spec.tied, spec.moment_approx, spec.penalty, spec.penalty_weight, spec.fd_rec_mean, spec.fd_tanh,
            spec.final_layer_no)


class Population:
    def __init__(self, models: list[nn.Module]):
        if not models:
            raise ValueError("a population needs at least one member")
        first = dict(models[0].named_parameters())
        for m in models[1:]:
            if {k: v.shape for k, v in m.named_parameters()} != {k: v.shape for k, v in first.items()}:
                raise ValueError("population members must have the same parameter shapes")
            if structure_of(m.noise) != structure_of(models[0].noise):
                raise ValueError("population members must share the regulariser's structure")
        self.P = len(models)
        self.template = models[0]
        self._call = _Member(self.template)
        p0 = next(iter(first.values()))
        self.params: dict[str, torch.Tensor] = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_(t.requires_grad)
            for name, t in first.items()
        }
        specs = [m.noise for m in models]
        noisy = [n for n, s in specs[0].sites.items() if s.noise != "none"]
        self.rates = {n: torch.tensor([float(s.site(n).rate) for s in specs], dtype=p0.dtype, device=p0.device) for n in noisy}
        fd = [bool(s.fd_output) for s in specs]
        self.fd_output = torch.tensor(fd, device=p0.device) if len(set(fd)) > 1 else None

    def parameters(self) -> list[torch.Tensor]:
        return [p for p in self.params.values() if p.requires_grad]

    def frame_losses(self, inputs: torch.Tensor, targets: torch.Tensor, step_mask: Optional[torch.Tensor],
                     loss_mask: torch.Tensor) -> torch.Tensor:
        """(P, B, T) per-frame losses; the data is (P, B, T, D) per member, or (B, T, D) shared by
        all members (evaluation)."""
        d = None if inputs.dim() == 3 else 0
        fd_dim = None if self.fd_output is None else 0

        def one(params, rates, fd_output, x, y, sm, lm):
            named = {f"model.{k}": v for k, v in params.items()}
            return functional_call(self._call, named, (rates, fd_output, x, y, sm, lm))

        return vmap(one, in_dims=(0, 0, fd_dim, d, d, None if step_mask is None else d, d),
                    randomness="different")(self.params, self.rates, self.fd_output, inputs, targets, step_mask, loss_mask)

    @torch.no_grad()
    def select(self, rows: list[int]) -> dict:
        """Keep the members at positions ``rows`` (in that order): the population shrinks to them, so members
        that have stopped cost nothing more. Returns {old parameter: new parameter} for the optimiser."""
        index = torch.tensor(rows, device=next(iter(self.params.values())).device)
        mapping = {}
        for name, p in self.params.items():
            q = p.detach()[index].clone().requires_grad_(p.requires_grad)
            mapping[p], self.params[name] = q, q
        self.rates = {n: r[index] for n, r in self.rates.items()}
        if self.fd_output is not None:
            self.fd_output = self.fd_output[index]
        self.P = len(rows)
        return mapping

    def member_state(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's state dict (what its single run would save)."""
        return {k: v[i].detach().clone() for k, v in self.params.items()}

    @property
    def noise(self) -> NoiseSpec:
        """The regulariser's structure every member shares (its rates are per member: ``self.rates``)."""
        return self.template.noise

    @property
    def training(self) -> bool:
        return self.template.training

    def train(self, mode: bool = True) -> "Population":
        self.template.train(mode)
        return self

    def eval(self) -> "Population":
        return self.train(False)
