"""The value checks of the config schemas, in one place: a schema field declares its valid range with
``bounded(...)`` (rnnbench/config/<group>.py) and ``check_values(cfg)`` walks a composed config against
its schemas before any work starts.

Every number is checked for finiteness (NaN fails every comparison, so a check written ``x <= 0``
lets it through; here NaN and infinity are refused first), then for its range; lists for their
length and elements. Counts that would make a run grow without bound (samples, search sizes,
generated lengths) have caps, documented in README.md ("Limits"). A refused value raises ConfigError
with one line naming the key, the value and the valid range.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from rnnbench.config.batching import unbatched
from rnnbench.errors import ConfigError

SEED_MAX = 2**32 - 1  # NumPy's legacy seeds are 32-bit (rnnbench/runtime.py: seed_everything)


@dataclass(frozen=True)
class Range:
    """[ge or gt, le or lt]; ``length``: a list's number of elements, its elements in the range."""

    ge: Optional[float] = None
    gt: Optional[float] = None
    le: Optional[float] = None
    lt: Optional[float] = None
    length: Optional[int] = None
    why: str = ""  # appended to the message: what the limit protects

    def admits(self, x: float) -> bool:
        return (math.isfinite(x) and (self.ge is None or x >= self.ge) and (self.gt is None or x > self.gt)
                and (self.le is None or x <= self.le) and (self.lt is None or x < self.lt))

    def describe(self, integer: bool) -> str:
        kind = "a whole number" if integer else "a finite number"
        lo = f">= {_fmt(self.ge)}" if self.ge is not None else f"> {_fmt(self.gt)}" if self.gt is not None else ""
        hi = f"<= {_fmt(self.le)}" if self.le is not None else f"< {_fmt(self.lt)}" if self.lt is not None else ""
        if lo and hi:
            return f"{kind} in {'[' if self.ge is not None else '('}{_fmt(self.ge if self.ge is not None else self.gt)}, " \
                   f"{_fmt(self.le if self.le is not None else self.lt)}{']' if self.le is not None else ')'}"
        return " ".join(p for p in (kind, lo or hi) if p)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def bounded(default: Any, *, ge=None, gt=None, le=None, lt=None, length=None, why: str = ""):
    """A schema field with its valid range (and, for a list, its length); ``default`` may be a list."""
    meta = {"range": Range(ge, gt, le, lt, length, why)}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def upper(schema: type, name: str) -> int:
    """The cap of a schema field (its ``le``): the tools' options share the config's limits."""
    return int(_range(_field(schema, name)).le)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_number(key: str, value: Any, rng: Optional[Range], optional: bool = False, integer: Optional[bool] = None) -> None:
    """One value against its range; ``optional``: null is allowed (the message says so); ``integer``:
    the field holds whole numbers (None: judged from the value)."""
    if value is None or not _is_number(value):
        return  # null where the schema allows it, a string or an enum: the types were checked by OmegaConf
    if rng is None:
        rng = Range()
    if not rng.admits(float(value)):
        valid = rng.describe(isinstance(value, int) if integer is None else integer)
        extra = " (or null)" if optional else ""
        why = f": {rng.why}" if rng.why and math.isfinite(float(value)) else ""  # a reason about the bounds
        raise ConfigError(f"{key}={_show(value)} is not valid: {key} must be {valid}{extra}{why}")


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, float) and math.isfinite(value) else str(value)


def _schema_of(node) -> Optional[type]:
    from omegaconf import OmegaConf

    t = OmegaConf.get_type(node) if OmegaConf.is_config(node) else type(node)
    return t if dataclasses.is_dataclass(t) else None


def check_values(cfg, schema: Optional[type] = None, prefix: str = "") -> None:
    """Every number of ``cfg`` finite and in its schema's range, every bounded list of its length.
    ``schema``: the dataclass of ``cfg`` (default: the type OmegaConf recorded). Nodes without a
    schema (a config read back from results.json, search.space) are checked for finiteness only."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    schema = schema or _schema_of(cfg)
    fields = {f.name: f for f in dataclasses.fields(schema)} if schema else {}
    for key in cfg.keys() if isinstance(cfg, DictConfig) else ():
        if key == "space" and prefix == "search.":
            continue  # a search space's ranges are checked by rnnbench/population/search.py, member by member
        path = f"{prefix}{key}"
        if OmegaConf.is_missing(cfg, key):
            continue
        value, f = cfg[key], fields.get(key)
        if isinstance(value, DictConfig):
            check_values(value, _schema_of(value), path + ".")
            continue
        rng = _range(f)
        if isinstance(value, ListConfig) and rng is not None and rng.length is not None and len(value) != rng.length:
            raise ConfigError(f"{path}={_show_list(list(value))} is not valid: {path} must be a list of "
                              f"{rng.length} numbers, each {rng.describe(False)[2:]}")
        _check_field(path, value, f)


def check_setting(cfg, key: str, value: Any, where: str) -> None:
    """One value set into ``cfg`` at dotted ``key`` by a program (a search space's draw), against the
    range of the schema field it lands in; the message names the full key, ``where``.``key``."""
    *path, last = key.split(".")
    node = cfg
    for part in path:
        node = node.get(part) if hasattr(node, "get") else None
    _check_field(f"{where}.{key}", value, _field(_schema_of(node) if node is not None else None, last))


def _field(schema: Optional[type], name: str) -> Optional[dataclasses.Field]:
    return next((f for f in dataclasses.fields(schema) if f.name == name), None) if schema else None


def _range(f: Optional[dataclasses.Field]) -> Optional[Range]:
    return f.metadata.get("range") if f is not None else None


def _check_field(path: str, value: Any, f: Optional[dataclasses.Field]) -> None:
    """A value of schema field ``f`` (None: a key without a schema): a list's numbers one by one, a number
    against the field's range (null allowed where the field is Optional)."""
    from omegaconf import ListConfig

    if isinstance(value, (list, tuple, ListConfig)):
        for i, item in enumerate(value):
            check_number(f"{path}[{i}]", item, _range(f))
    elif _is_number(value):
        check_number(path, value, _range(f), f is not None and _allows_none(f), _integer(f))


def _show_list(items: list) -> str:
    return "[" + ", ".join(_show(x) for x in items) + "]"


def _integer(f: Optional[dataclasses.Field]) -> Optional[bool]:
    return None if f is None else re.search(r"\bint\b", str(f.type)) is not None


def _allows_none(f: dataclasses.Field) -> bool:
    return "Optional" in str(f.type) or f.default is None


GATES = {"srnn": 1, "gru": 3, "lstm": 4}


def memory_estimate(cfg) -> int:
    """Bytes a run needs at least, from its config alone (before any allocation): parameters with
    their gradients and two optimiser states, plus the activations of one training batch (fast
    dropout's moments doubled), times the members trained in one population. An estimate from
    below: a run it refuses cannot fit; one it admits may still not."""
    model, ds, train = cfg.model, cfg.dataset, cfg.train
    width = 8 if str(getattr(train.precision, "value", train.precision)) == "float64" else 4
    H, L = int(model.hidden), int(model.layers)
    task = ds.get("task")
    if task == "word-lm":
        vocab, E = 10_000, int(model.embedding or H)  # PTB's vocabulary (protocols.md §3)
        core_in, out, rows, steps, extra = E, vocab, int(train.batch_size), int(ds.bptt), vocab * E
    elif task == "regression":
        vocab, E = int(ds.vocab), int(model.embedding or H)
        core_in, out, rows, steps, extra = E, 1, int(train.batch_size), int(ds.segment), vocab * E
    else:  # music: 88 notes in, 88 out
        core_in, out, rows, steps, extra = 88, 88, int(train.batch_size), int(ds.chunk_len), 0
    cells = [(model.name, H)]
    if model.name == "storn":  # the generating and the recognition net (rnnbench/models/storn.py)
        s = model.storn
        latent, rec = int(s.latent), int(s.recognition_hidden or H)
        cells = [(s.cell, H), (s.cell, rec)]
        core_in += latent
        out += 2 * latent
    params, acts = extra, 0
    for name, width_h in cells:
        g = GATES.get(name, 4)
        params += L * g * width_h * (core_in + width_h + 1) + width_h * (out + 1)
        acts += L * g * width_h * rows * steps * 2  # pre-activations and states, kept for backprop
    acts += rows * steps * out
    moments = 2 if str(getattr(cfg.regulariser.realise, "value", cfg.regulariser.realise)) == "moments" else 1
    members = 1
    if (int(cfg.population.size) > 1 or cfg.search.name != "none") and not unbatched(cfg):  # else: one at a time
        n = int(cfg.population.size) if cfg.search.name == "none" else int(cfg.search.n)
        if cfg.search.name == "tpe":
            n = min(n, int(cfg.search.per_round))
        members = min(n, int(cfg.population.max_members))
    return members * width * (4 * params + moments * acts)


def available_memory(device: str) -> tuple[int, str]:
    """(bytes free, where) on the run's device: the GPU's free memory for CUDA, else MemAvailable."""
    if device.startswith("cuda") or device == "auto":
        try:
            import torch

            if torch.cuda.is_available():
                index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
                return torch.cuda.mem_get_info(index)[0], f"cuda:{index}"
        except Exception:  # no usable GPU: the device check names the problem
            pass
    free, where = None, "the CPU's memory"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    if free is None:
        import os

        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    left = cgroup_memory_left()
    if left is not None and left < free:  # a container or job limit below the machine's free memory
        return left, "the memory left under this process's cgroup limit"
    return free, where


# cgroup v2, then v1: (limit, usage) files; "max" or a huge v1 number means no limit
CGROUP_FILES = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))


def cgroup_memory_left(files=CGROUP_FILES) -> Optional[int]:
    """Bytes left under the memory limit of this process's cgroup (a container, a SLURM job), or None where no
    limit is set or readable."""
    for limit_file, usage_file in files:
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 2**60:
            return None
        return max(0, int(limit) - usage)
    return None


def check_memory(cfg) -> None:
    """Refuse a model that cannot fit, before anything is allocated."""
    need = memory_estimate(cfg)
    free, where = available_memory(str(cfg.device))
    if need > free:
        raise ConfigError(f"model.hidden={cfg.model.hidden} needs at least {need / 2**30:.1f} GiB (parameters, gradients, "
                          f"optimiser state and one batch's activations), more than the {free / 2**30:.1f} GiB free in "
                          f"{where}; choose a smaller model.hidden (or train.batch_size, population.max_members)")
