"""STORN: stochastic recurrent networks trained by SGVB (002 ch. 4; Bayer & Osendorfer 2014).

What conditions on what (002 eqs. 29-31, Fig. 14), in the indexing of the data pipeline, where
step t reads frame x_{t-1} and predicts frame x_t (rnnbench/data/batches.py):

    prior        p(z_t) = N(0, I) for every t (002 §4.3.2)
    recognition  an RNN reading the pair (x_{t-1}, x_t) at step t, so its state summarises x_{1:t};
                 its linear read-out ry_t (2w units) gives q(z_t | x_{1:t}) = N(mu_t, sigma_t^2) with
                 mu_t = ry_t[:w] and sigma_t^2 = ry_t[w:]^2 (+ var_floor) (002 §4.3.2)
    generation   an RNN reading (x_{t-1}, z_t), z_t through its own block W'_in of the input
                 weights (002 eq. 29), with the Bernoulli read-out p(x_t | x_{<t}, z_{<=t})

So z_t is aligned with the frame it helps to predict and q sees that frame, not later ones (the
filtering posterior of 002 Fig. 14, "q(z_t | x_{1:t})"). With W'_in = 0 the generating net is the
deterministic RNN (002 §4.3.1). Both nets are ordinary NextStepModels (rnnbench/models/next_step.py),
so every regulariser applies to both (fast dropout in the thesis). Loss: the negative ELBO of
002 eq. 31, KL(q || p) in closed form plus the reconstruction NLL of one reparameterised sample
z_t = mu_t + sigma_t eps_t, the KL optionally scaled by a warm-up weight while training.

The authors' code as a reading (breze ``learn/sgvb.py``, ``StochasticRnn``, Nov. 2014; protocols.md
§1b), each a switch of model.storn:

    generator_input=recognition_state  the generating net reads (z_t, h^rec_{t-1}), the recognition
                 net's hidden mean one step back (zeros at the first step; breze's "shortcut"), not
                 x_{t-1}; with dataset.predict_first=true that is breze's layout exactly: step t's
                 recognition has read x_{1:t}, its state after t-1 summarises x_{<t}
    q_variance=fd  sigma_t^2 is the fast-dropout variance of the recognition read-out (w units, 002
                 §4.4; breze ``statify_latent``), not the square of a second block of w units
    learned_rates  the recognition net's input, recurrent and read-out dropout rates are parameters,
                 p = sigmoid(theta) * 0.49 + 0.01 in (0.01, 0.5), theta starting at 0 (p = 0.255) as
                 breze draws it; every one of the three sites drops, whatever the regulariser set there
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import nn

from rnnbench.metrics import frame_nll, masked
from rnnbench.models.next_step import NextStepModel

RATE_SITES = ("input", "recurrent", "output")  # the recognition net's learned rates (breze p_dropout)


def gaussian_kl(mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, var) || N(0, 1)) summed over the last axis: 1/2 sum(mu^2 + var - 1 - log var)."""
    return 0.5 * (mu * mu + var - 1.0 - torch.log(var)).sum(-1)


def gaussian_log_ratio(z: torch.Tensor, eps: torch.Tensor, var: torch.Tensor, q_var_offset: float = 0.0) -> torch.Tensor:
    """log p(z) - log q(z) summed over the last axis, for z = mu + sqrt(var) eps:
    -z^2/2 + eps^2/2 + log(var)/2 (the 2 pi terms cancel). ``q_var_offset`` evaluates q with variance
    var + offset while z was drawn with var (breze's estimate_nll: 1e-4; optimistic where var << offset):
    -z^2/2 + var eps^2 / (2 (var + offset)) + log(var + offset)/2."""
    if q_var_offset:
        q_var = var + q_var_offset
        return 0.5 * (var * eps * eps / q_var - z * z + torch.log(q_var)).sum(-1)
    return 0.5 * (eps * eps - z * z + torch.log(var)).sum(-1)


class Posterior(NamedTuple):
    mu: torch.Tensor  # (B, T, w)
    var: torch.Tensor  # (B, T, w)
    context: Optional[torch.Tensor] = None  # (B, T, H_rec): h^rec_{t-1} for generator_input=recognition_state


class STORN(nn.Module):
    def __init__(self, generator: NextStepModel, recognition: NextStepModel, n_latent: int, var_floor: float = 0.0,
                 generator_input: str = "frame", q_variance: str = "squared", learned_rates: bool = False):
        super().__init__()
        self.generator = generator
        self.recognition = recognition
        self.n_latent = n_latent
        self.var_floor = var_floor
        self.generator_input = generator_input
        self.q_variance = q_variance
        # theta of the learned rates (breze draws every parameter near 0: p starts at 0.255)
        self.rate_logits = nn.Parameter(torch.zeros(len(RATE_SITES))) if learned_rates else None
        self.kl_weight = 1.0  # the training loop's KL warm-up sets it; evaluation always uses 1

    @property
    def core(self):
        """The generating net's core (its W_rec is the one whose spectral radius is logged)."""
        return self.generator.core

    @property
    def noise(self):
        return self.generator.noise

    def recognition_rates(self) -> Optional[dict]:
        """The learned drop rates of the recognition net, sigmoid(theta) * 0.49 + 0.01 (breze), or None."""
        if self.rate_logits is None:
            return None
        rates = torch.sigmoid(self.rate_logits) * 0.49 + 0.01
        return dict(zip(RATE_SITES, rates.unbind()))

    def posterior(self, inputs: torch.Tensor, targets: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                  sample: Optional[bool] = None) -> Posterior:
        """q(z_t | x_{1:t}) for every step: the recognition net reads (x_{t-1}, x_t)."""
        rates = self.recognition_rates()  # the recognition spec drops all three sites (models.build_storn)
        noise = None if rates is None else self.recognition.noise.with_rates(rates)
        hs, out = self.recognition.hidden_and_readout(torch.cat([inputs, targets], dim=-1), step_mask, sample, noise)
        if self.q_variance == "fd":  # FD's propagated read-out variance (002 §4.4)
            mu, var = out.mean, out.var + self.var_floor
        else:
            mu, s = out.mean.split(self.n_latent, dim=-1)
            var = s * s + self.var_floor  # sigma^2 = square of an output (002 §4.3.2)
        context = None
        if self.generator_input == "recognition_state":  # h^rec_{t-1}; zeros at the first step (breze)
            context = torch.cat([torch.zeros_like(hs[:, :1]), hs[:, :-1]], dim=1)
        return Posterior(mu, var, context)

    def decode(self, inputs: torch.Tensor, z: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
               sample: Optional[bool] = None, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits (B, T, D) of p(x_t | x_{<t}, z_{<=t}): the generating net reads (x_{t-1}, z_t), or
        (z_t, h^rec_{t-1}) with generator_input=recognition_state."""
        if self.generator_input == "recognition_state":
            return self.generator(torch.cat([z, context], dim=-1), step_mask, sample)
        return self.generator(torch.cat([inputs, z], dim=-1), step_mask, sample)

    def forward(self, inputs, targets, step_mask=None, sample=None, latent_mask=None):
        """One reparameterised pass: returns (logits, posterior, z, eps). ``latent_mask`` (B, T)
        sets z to 0 at padded steps, so that padding carries no latent sample."""
        q = self.posterior(inputs, targets, step_mask, sample)
        eps = torch.randn_like(q.mu)
        z = q.mu + q.var.sqrt() * eps
        if latent_mask is not None:
            z = z * latent_mask.unsqueeze(-1).to(z.dtype)
        return self.decode(inputs, z, step_mask, sample, q.context), q, z, eps

    def frame_losses(self, inputs, targets, step_mask=None, loss_mask=None) -> torch.Tensor:
        """(B, T) negative ELBO per frame: reconstruction NLL + KL (times the warm-up weight while
        training); one sample of z."""
        logits, q, _, _ = self(inputs, targets, step_mask, latent_mask=loss_mask)
        kl_weight = self.kl_weight if self.training else 1.0
        return frame_nll(logits, targets) + kl_weight * gaussian_kl(q.mu, q.var)

    @torch.no_grad()
    def log_weights(self, inputs, targets, loss_mask, step_mask=None, samples: int = 1, latent_mask=None,
                    q_var_offset: float = 0.0) -> torch.Tensor:
        """(K, B) importance log weights log p(x, z_k) - log q(z_k | x) of each row, z_k ~ q
        (Rezende et al. 2014), in float64: log p(x | z) over the frames of ``loss_mask``, the latent
        terms over the steps of ``latent_mask`` (default: ``loss_mask``; a step whose frame is not
        counted still draws a z that later frames depend on). ``q_var_offset``: breze's log q."""
        latent_mask = loss_mask if latent_mask is None else latent_mask
        q = self.posterior(inputs, targets, step_mask)
        B = inputs.shape[0]
        rep = lambda a: None if a is None else a.repeat(samples, *([1] * (a.dim() - 1)))  # (K B, ...), sample-major
        mu, var = rep(q.mu), rep(q.var)
        eps = torch.randn_like(mu)
        keep = rep(latent_mask).unsqueeze(-1).to(mu.dtype)
        z = (mu + var.sqrt() * eps) * keep
        logits = self.decode(rep(inputs), z, rep(step_mask), context=rep(q.context))
        log_px = -masked(frame_nll(logits, rep(targets)), rep(loss_mask))  # (K B, T)
        log_ratio = masked(gaussian_log_ratio(z, eps * keep, var, q_var_offset), rep(latent_mask))
        return (log_px.double() + log_ratio.double()).sum(1).view(samples, B)
