"""Regularisers as noise processes (002 ch. 2): one description (spec.py, made by build.py), realised as a transform of the
core (realise.py): sampled per step or per sequence (sampled.py, sampling.py) or propagated as moments
(propagated.py, moments.py). One file per noise family, each with its sampling rule and, where it has one,
its moment rule: unit dropout (dropout.py), weight noise (weight_noise.py), the cell state's noise
(RNNDrop in cell_dropout.py, zoneout.py), embedding dropout (embedding.py) and norm penalties (penalty.py);
the kinds by name in registry.py. conf/regulariser/*.yaml are presets of the description.
"""
from rnnbench.regularisers.embedding import embed
from rnnbench.regularisers.penalty import penalty
from rnnbench.regularisers.realise import realise
from rnnbench.regularisers.build import build_spec
from rnnbench.regularisers.spec import NONE, NoiseSpec

__all__ = ["NONE", "NoiseSpec", "build_spec", "embed", "penalty", "realise"]
