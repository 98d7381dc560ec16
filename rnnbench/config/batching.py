"""Which runs population training can batch (rnnbench/tasks/music_population.py stacks them under vmap): the
rule the search's grouping (rnnbench/population/search.py), the memory check (config/checks.py) and the
settings check (config/__init__.py) share."""
from __future__ import annotations

from typing import Optional


def unbatched(cfg) -> Optional[str]:
    """Why runs of ``cfg``'s kind cannot train stacked in one population (rnnbench/tasks/music_population.py), or
    None: a search or population of them trains each member alone, as its single run (groups of one:
    rnnbench/population/search.py, groups)."""
    from rnnbench.optim.stacked import unstackable  # the optimisers with per-member rates

    if _plain(cfg.dataset.get("task", "music")) != "music":
        return f"population training batches the music task; dataset={cfg.dataset.name} is a {cfg.dataset.task} task"
    if cfg.model.name == "storn":
        return "population training batches model=srnn, lstm or gru, not storn"
    if why := unstackable(cfg.optim.name):
        return why
    if _plain(cfg.train.get("batches", "rows")) != "rows":
        return ("population training draws random rows (train.batches=rows): members stepping through climin's "
                "blocks in their own orders would need batches of different sizes at one step (add train.batches=rows "
                "to batch them)")
    return None


def _plain(value):
    return getattr(value, "value", value)  # an Enum of the schema, or its string
