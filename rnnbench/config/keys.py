"""Which settings of a run say *how* it is executed rather than *what* is trained, and the one comparison
of two configs (plain dicts, as saved in results.json or a checkpoint) that the checkpoint loader, a
search run again into its folder and rnnbench-report's pooling all make."""
from __future__ import annotations

from typing import Callable

# Settings of how a run is executed, not of what is trained (rnnbench-report pools runs that differ
# only in these and the seed). The divergence rule only decides about runs that diverge, and those
# are never pooled. dataset.task follows from the data set. A name mapped to None: the whole subtree.
OPERATIONAL = {"seed": None, "device": None, "data": None, "logger": None, "dataset": ("task",),
               "population": ("dispatch", "workers"),
               "train": ("max_seconds", "progress", "save_model", "eval_batch_size", "fuse", "diverge_factor",
                         "diverge_epochs", "checkpoint", "checkpoint_every_s")}
# What may change between a killed run and its resumption (rnnbench/engine/checkpoint.py): the time
# budget, the progress bar, where the data and logs are, how often checkpoints are written, how a search's
# groups are dispatched (a group's numbers do not depend on it).
RESUMABLE_KEYS = {"train.max_seconds", "train.progress", "train.checkpoint_every_s", "data", "logger",
                  "population.dispatch", "population.workers"}


def operational(path: str, seed: bool = True) -> bool:
    """Whether the dotted key ``path`` is (inside) a setting of OPERATIONAL; ``seed=False``: the seed is not."""
    top, _, rest = path.partition(".")
    if top not in OPERATIONAL or (top == "seed" and not seed):
        return False
    return OPERATIONAL[top] is None or rest.partition(".")[0] in OPERATIONAL[top]


def resumable(path: str) -> bool:
    """Whether the dotted key ``path`` is (inside) one of RESUMABLE_KEYS."""
    return any(path == k or path.startswith(k + ".") for k in RESUMABLE_KEYS)


def differing(a, b, skip: Callable[[str], bool], common_only: bool = False, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between the nested dicts ``a`` and ``b``, but for those ``skip``
    accepts; ``common_only``: only keys both hold (a key added to rnnbench, or removed, since one was saved)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) & set(b) if common_only else set(a) | set(b)
        return [d for key in sorted(keys) if not skip(f"{prefix}{key}")
                for d in differing(a.get(key), b.get(key), skip, common_only, f"{prefix}{key}.")]
    return [] if a == b else [prefix.rstrip(".")]


def without(config, skip: Callable[[str], bool], prefix: str = ""):
    """A copy of the nested dict ``config`` without the keys ``skip`` accepts."""
    if not isinstance(config, dict):
        return config
    return {k: without(v, skip, f"{prefix}{k}.") for k, v in config.items() if not skip(f"{prefix}{k}")}
