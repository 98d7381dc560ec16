"""Building a regulariser's description (spec.py) from a RegulariserConfig: every site's kind found in the
registry and checked against the model it is meant for; a misfit is a ConfigError."""
from __future__ import annotations

from dataclasses import replace

from rnnbench.config import setting, value_of
from rnnbench.errors import ConfigError
from rnnbench.regularisers.registry import noise_kind
from rnnbench.regularisers.spec import NONE, SITES, NoiseSpec, Site


def build_spec(cfg, model_name: str, word_model: bool = False) -> NoiseSpec:
    """Validate ``cfg`` (a RegulariserConfig) for ``model_name``; a misfit is a ConfigError."""
    if cfg is None:
        return NONE
    realise = value_of(cfg.realise)
    sites = {}
    for name in SITES:
        site_cfg = cfg[name] if hasattr(cfg, "__getitem__") else getattr(cfg, name)
        where = f"regulariser.{name}"
        own = setting(site_cfg, "realise", None)
        if own is not None and (realise == "moments" or own == "moments"):
            raise ConfigError(f"{where}.realise={own}: a site may choose step or sequence, and only when "
                              f"regulariser.realise is not moments (got regulariser.realise={realise})")
        noise = value_of(site_cfg.noise)
        # the site's kind: a kind this site does not take is a ConfigError that names the ones it does
        drop = noise != "none" and noise_kind(name, Site(noise, active=True)).drop
        site = Site(noise, float(site_cfg.rate), own or realise, drop=drop)
        if site.drop and not 0.0 <= site.rate < 1.0:
            raise ConfigError(f"{where}.rate is a drop probability and must be in [0, 1), got {site.rate}")
        if site.noise == "none" and site.rate != 0:
            raise ConfigError(f"{where}.rate={site.rate} has no effect with noise=none; set {where}.noise too")
        sites[name] = site
    cell, emb = sites["cell"], sites["embedding"]
    if cell.active:  # the cell state's noise checks where it applies (registry.py: RNNDrop, zoneout)
        noise_kind("cell", cell).check("regulariser.cell", cell, model_name, realise)
    if emb.active:
        if not word_model:
            raise ConfigError(f"regulariser '{cfg.name}' drops embeddings, but this model has no embedding "
                              "(music models read piano rolls); set regulariser.embedding.noise=none")
        if emb.noise != "dropout":
            raise ConfigError(f"regulariser.embedding.noise={emb.noise}: the embedding takes noise=dropout (of word types) only")
    if realise == "moments" and setting(cfg, "output_rate", "own") == "recurrent":
        # breze's read-out drops with the hidden rate, whatever hidden->output was set to (protocols.md §1b)
        sites["output"] = replace(sites["recurrent"], realise=realise)
    penalty = value_of(cfg.penalty)
    if penalty != "none" and cfg.penalty_weight == 0:
        raise ConfigError(f"regulariser.penalty={penalty} needs regulariser.penalty_weight > 0")
    return NoiseSpec(cfg.name, realise, sites, bool(cfg.inverted), bool(cfg.tied), bool(cfg.fd_output),
                     value_of(cfg.moment_approx), penalty, float(cfg.penalty_weight),
                     setting(cfg, "fd_rec_mean", "keep"), setting(cfg, "fd_tanh", "tanh"),
                     setting(cfg, "final_layer_no", "readout"))

