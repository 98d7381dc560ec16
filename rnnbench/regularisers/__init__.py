"""Regularisers as noise processes (002 ch. 2): one description (spec.py), realised by sampling
per step or per sequence (sampled.py, sampling.py) or by propagating moments (moments.py), plus
norm penalties in the loss (penalty.py). conf/regulariser/*.yaml are presets of the description.
"""
from rnnbench.regularisers.moments import moment_forward
from rnnbench.regularisers.penalty import penalty
from rnnbench.regularisers.sampled import sampled_forward
from rnnbench.regularisers.spec import NONE, NoiseSpec, build_spec

__all__ = ["NONE", "NoiseSpec", "build_spec", "moment_forward", "penalty", "sampled_forward"]
