"""Noise as a transform of the core: ``realise`` turns a regulariser's description (spec.py) into one
forward pass's realisation, which makes a noisy core of each plain one (``.core(core)``, run by the one
time loop, rnnbench/models/unroll.py) and gives the read-out (``.readout``). The model heads have one
forward path whatever the noise:

    plain     no noise, or noise whose expectation is the plain net (inverted dropout at evaluation)
    sampled   drawn per step or per sequence, or at its expectation (sampled.py)
    moments   propagated as (mean, variance), at training and test alike (propagated.py)
"""
from __future__ import annotations

import torch

from rnnbench.regularisers.plain import Plain
from rnnbench.regularisers.propagated import Moments
from rnnbench.regularisers.registry import noise_kind
from rnnbench.regularisers.sampled import Sampled
from rnnbench.regularisers.sampling import NoiseDraw
from rnnbench.regularisers.spec import NoiseSpec


PLAIN = Plain()


def mean_is_plain(spec: NoiseSpec) -> bool:
    """Is deterministic (mean) evaluation the plain net? Not under non-inverted dropping or zoneout."""
    return all(noise_kind(name, s).mean_is_plain(spec) for name, s in spec.sites.items())


def realise(spec: NoiseSpec, sample: bool, x: torch.Tensor):
    """The realisation of ``spec`` for one pass over x (B, T, D): ``sample`` draws the noise (training,
    Monte Carlo evaluation), otherwise its expectation is used; moments are deterministic either way."""
    if not spec.has_noise:
        return PLAIN
    if spec.realise == "moments":
        return Moments(spec)
    if sample or not mean_is_plain(spec):
        return Sampled(spec, NoiseDraw(spec, not sample, x.shape[1], x.device, x.dtype))
    return PLAIN
