"""A config read back from a run's results.json, completed with today's defaults for the keys added
to the schemas since the run was made (rnnbench-eval, rnnbench-sample): a key the run did not have
takes the default that reproduces the runs made before it (the rule every added key follows)."""
from __future__ import annotations

from importlib import resources

from omegaconf import DictConfig, OmegaConf

GROUPS = ("dataset", "model", "optim")  # the groups whose option the saved config names


def _option(group: str, name) -> bool:
    return isinstance(name, str) and (resources.files("rnnbench.conf") / group / f"{name}.yaml").is_file()


def defaults_for(config: dict) -> dict:
    """Today's composed config for the options ``config`` names (its data set, model, optimiser)."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from rnnbench.config import register_configs

    register_configs()
    overrides = [f"{g}={config[g]['name']}" for g in GROUPS
                 if isinstance(config.get(g), dict) and _option(g, config[g].get("name"))]
    if GlobalHydra.instance().is_initialized():
        base = compose(config_name="config", overrides=overrides)
    else:
        with initialize_config_module(config_module="rnnbench.conf", version_base="1.3"):
            base = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_container(base, resolve=False, enum_to_str=True)


def saved_config(config: dict) -> DictConfig:
    """``config`` (results.json's "config") over today's defaults: every key the code reads exists."""
    try:
        base = defaults_for(config)
    except Exception:  # a data set or option this version does not know: the saved config alone
        return OmegaConf.create(config)
    return OmegaConf.merge(OmegaConf.create(base), OmegaConf.create(config))
