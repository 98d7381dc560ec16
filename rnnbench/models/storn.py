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
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import nn

from rnnbench.metrics import frame_nll, masked
from rnnbench.models.next_step import NextStepModel


def gaussian_kl(mu: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, var) || N(0, 1)) summed over the last axis: 1/2 sum(mu^2 + var - 1 - log var)."""
    return 0.5 * (mu * mu + var - 1.0 - torch.log(var)).sum(-1)


def gaussian_log_ratio(z: torch.Tensor, eps: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """log p(z) - log q(z) summed over the last axis, for z = mu + sqrt(var) eps:
    -z^2/2 + eps^2/2 + log(var)/2 (the 2 pi terms cancel)."""
    return 0.5 * (eps * eps - z * z + torch.log(var)).sum(-1)


class Posterior(NamedTuple):
    mu: torch.Tensor  # (B, T, w)
    var: torch.Tensor  # (B, T, w)


class STORN(nn.Module):
    def __init__(self, generator: NextStepModel, recognition: NextStepModel, n_latent: int, var_floor: float = 0.0):
        super().__init__()
        self.generator = generator
        self.recognition = recognition
        self.n_latent = n_latent
        self.var_floor = var_floor
        self.kl_weight = 1.0  # the training loop's KL warm-up sets it; evaluation always uses 1

    @property
    def core(self):
        """The generating net's core (its W_rec is the one whose spectral radius is logged)."""
        return self.generator.core

    @property
    def noise(self):
        return self.generator.noise

    def posterior(self, inputs: torch.Tensor, targets: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
                  sample: Optional[bool] = None) -> Posterior:
        """q(z_t | x_{1:t}) for every step: the recognition net reads (x_{t-1}, x_t)."""
        ry = self.recognition(torch.cat([inputs, targets], dim=-1), step_mask, sample)  # (B, T, 2w)
        mu, s = ry.split(self.n_latent, dim=-1)
        return Posterior(mu, s * s + self.var_floor)  # sigma^2 = square of an output (002 §4.3.2)

    def decode(self, inputs: torch.Tensor, z: torch.Tensor, step_mask: Optional[torch.Tensor] = None,
               sample: Optional[bool] = None) -> torch.Tensor:
        """Logits (B, T, D) of p(x_t | x_{<t}, z_{<=t}): the generating net reads (x_{t-1}, z_t)."""
        return self.generator(torch.cat([inputs, z], dim=-1), step_mask, sample)

    def forward(self, inputs, targets, step_mask=None, sample=None, latent_mask=None):
        """One reparameterised pass: returns (logits, posterior, z, eps). ``latent_mask`` (B, T)
        sets z to 0 at padded steps, so that padding carries no latent sample."""
        q = self.posterior(inputs, targets, step_mask, sample)
        eps = torch.randn_like(q.mu)
        z = q.mu + q.var.sqrt() * eps
        if latent_mask is not None:
            z = z * latent_mask.unsqueeze(-1).to(z.dtype)
        return self.decode(inputs, z, step_mask, sample), q, z, eps

    def frame_losses(self, inputs, targets, step_mask=None, loss_mask=None) -> torch.Tensor:
        """(B, T) negative ELBO per frame: reconstruction NLL + KL (times the warm-up weight while
        training); one sample of z."""
        logits, q, _, _ = self(inputs, targets, step_mask, latent_mask=loss_mask)
        kl_weight = self.kl_weight if self.training else 1.0
        return frame_nll(logits, targets) + kl_weight * gaussian_kl(q.mu, q.var)

    @torch.no_grad()
    def log_weights(self, inputs, targets, loss_mask, step_mask=None, samples: int = 1) -> torch.Tensor:
        """(K, B) importance log weights log p(x, z_k) - log q(z_k | x) of each row, z_k ~ q
        (Rezende et al. 2014), summed over the frames of ``loss_mask``, in float64."""
        q = self.posterior(inputs, targets, step_mask)
        B = inputs.shape[0]
        rep = lambda a: a.repeat(samples, *([1] * (a.dim() - 1)))  # (K * B, ...), sample-major
        mu, var = rep(q.mu), rep(q.var)
        eps = torch.randn_like(mu)
        keep = rep(loss_mask).unsqueeze(-1).to(mu.dtype)
        z = (mu + var.sqrt() * eps) * keep
        logits = self.decode(rep(inputs), z, None if step_mask is None else rep(step_mask))
        mask = rep(loss_mask)
        log_px = -masked(frame_nll(logits, rep(targets)), mask)  # (K B, T)
        log_ratio = masked(gaussian_log_ratio(z, eps * keep, var), mask)
        return (log_px.double() + log_ratio.double()).sum(1).view(samples, B)

