"""From one config to many runs trained as populations: ``population.size=P`` (P seeds) or
``search=random search.n=N`` (N draws from ``search.space``, 000's random search).

Every member is an ordinary config (population.size=1, search=none) with its own seed, written
to ``<run dir>/members/<k>/`` with its results.json, metrics.csv and best.pt, so rnnbench-report
reads them like single runs and any member can be re-run alone. Members are grouped by what
must be shared in one batched population (tensor shapes, data, regulariser structure, batch
size, optimiser kind, precision) and each group is split into populations of at most
``population.max_members``. A group that fails writes failed results for its members; the
other groups go on.
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
import traceback
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

from rnnbench.config import value_of
from rnnbench.config.checks import check_setting
from rnnbench.config.search import flatten_space, space_range
from rnnbench.errors import ConfigError, RnnbenchError
from rnnbench.regularisers.spec import SITES
from rnnbench.engine.results import FINISHED, read_results, write_failed, write_json_atomic

log = logging.getLogger("rnnbench")

# Keys a member may change without leaving its population (numbers entering the batched kernels).
MEMBER_KEYS = ("seed", "model.init", "optim.lr", "optim.momentum", "optim.decay", "optim.eps", "optim.offset",
               "optim.init_mean_square", "train.clip", "train.patience", "train.max_epochs", "regulariser.fd_output",
               "regulariser.name")


def _draw(spec, rng: random.Random):
    """One value of a search-space entry: a list of choices or {low, high, log, int}."""
    if OmegaConf.is_list(spec) or isinstance(spec, list):
        if not len(spec):
            raise ConfigError("search.space: an empty list of choices; give at least one value")
        return rng.choice(list(spec))
    if OmegaConf.is_dict(spec) or isinstance(spec, dict):
        low, high, log_scale = space_range(spec)
        x = math.exp(rng.uniform(math.log(low), math.log(high))) if log_scale else rng.uniform(low, high)
        return int(round(x)) if spec.get("int", False) else x
    raise ConfigError(f"search.space entries are lists of choices or {{low, high, log, int}}, got {spec!r}")


def member_config(cfg, seed: int, overrides: dict):
    """An ordinary single-run config: ``cfg`` with its seed and the drawn overrides set."""
    member = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))  # a deep copy, interpolations kept
    OmegaConf.set_struct(member, True)
    member.population.size = 1
    member.search = {"name": "none", "n": cfg.search.n, "seed": cfg.search.seed, "space": {}}
    member.seed = seed
    for key, value in overrides.items():
        check_setting(cfg, key, value, "search.space")  # the range of the schema field the draw lands in
        try:
            OmegaConf.update(member, key, value, merge=False)
        except Exception as e:  # an unknown key
            raise ConfigError(f"search.space: cannot set {key}={value!r}: {e}") from None
    return member


def search_space(cfg) -> dict:
    """{dotted key: leaf} of ``search.space``, without the rates of sites the regulariser leaves
    noise-free (they would change nothing)."""
    noisy = {s for s in SITES if value_of(OmegaConf.select(cfg, f"regulariser.{s}.noise", default="none")) != "none"}
    return {k: v for k, v in flatten_space(cfg.search.space).items()
            if not (k.startswith("regulariser.") and k.endswith(".rate") and k.split(".")[1] not in noisy)}


def expand(cfg) -> tuple[list, list[dict]]:
    """(member configs, their overrides) for ``cfg``'s population or random search."""
    if cfg.search.name == "random":
        rng = random.Random(cfg.search.seed)
        space = search_space(cfg)
        draws = [{k: _draw(v, rng) for k, v in space.items()} for _ in range(cfg.search.n)]
        return [member_config(cfg, cfg.seed + i, d) for i, d in enumerate(draws)], draws
    if cfg.search.name != "none":
        raise ConfigError(f"unknown search '{cfg.search.name}'; valid: none, random, tpe")
    return [member_config(cfg, cfg.seed + i, {}) for i in range(cfg.population.size)], [{}] * cfg.population.size


def group_key(member) -> str:
    """What members of one population must share: the config without MEMBER_KEYS and the rates."""
    c = OmegaConf.to_container(member, resolve=True, enum_to_str=True)
    for key in MEMBER_KEYS:
        *path, last = key.split(".")
        node = c
        for p in path:
            node = node.get(p, {})
        node.pop(last, None)
    for site in SITES:
        c["regulariser"][site].pop("rate", None)
    return json.dumps(c, sort_keys=True, default=str)


def groups(members: list, max_members: int) -> list[list[int]]:
    """Indices of members, grouped by group_key, split into chunks of at most ``max_members``."""
    by_key: dict[str, list[int]] = {}
    for i, m in enumerate(members):
        by_key.setdefault(group_key(m), []).append(i)
    return [idx[k : k + max_members] for idx in by_key.values() for k in range(0, len(idx), max_members)]


def train_groups(members: list, dirs: list[Path], max_members: int, dispatch: Optional[Path] = None) -> tuple[list, list[dict]]:
    """Train ``members`` as batched populations (grouped by group_key) into ``dirs``; a group that
    fails writes failed results for its members and the others go on; a group whose members are all
    finished is skipped and a killed one resumes from its checkpoint, so the same command continues an
    interrupted search. ``dispatch``: the run folder of a search whose groups go to the Hydra submitit
    launcher as jobs (rnnbench/population/dispatch.py); None trains them here, one after the other.
    Returns (results, per-group summary)."""
    from rnnbench.population.train import train_population

    plan = groups(members, max_members)
    log.info("%d members in %d batched group(s): sizes %s", len(members), len(plan), [len(g) for g in plan])
    results: list = [None] * len(members)
    summary: list = [None] * len(plan)
    pending = []
    for k, idx in enumerate(plan):
        done = [read_results(dirs[i] / "results.json") for i in idx]
        if all(r is not None and r.get("status") in FINISHED for r in done):  # a re-run of the search skips it
            log.info("group %d: its %d members are finished; skipped", k, len(idx))
            (dirs[idx[0]] / "checkpoint.pt").unlink(missing_ok=True)  # a kill after the results, before its removal
            for i, r in zip(idx, done):
                results[i] = r
            summary[k] = {"members": idx, "size": len(idx), "wall_s": 0.0, "skipped": True}
        else:
            pending.append(k)
    jobs = {}
    if dispatch is not None and pending:
        from rnnbench.population.dispatch import submit_groups

        submitted = submit_groups([([members[i] for i in plan[k]], [dirs[i] for i in plan[k]]) for k in pending], dispatch)
        jobs = dict(zip(pending, submitted))
    for k in pending:
        idx, t0 = plan[k], time.perf_counter()
        try:
            if k in jobs:
                out = jobs[k].result()  # waits; the job's exception is re-raised here as submitit's error
            else:
                out = train_population([members[i] for i in idx], [dirs[i] for i in idx])
        except RnnbenchError as e:
            if len(plan) == 1:
                raise
            out = [write_failed(members[i], dirs[i], str(e)) for i in idx]
            log.error("group %d failed: %s", k, e)
        except Exception:
            out = [write_failed(members[i], dirs[i], traceback.format_exc()) for i in idx]
            log.exception("group %d failed (the other groups go on)", k)
        for i, r in zip(idx, out):
            results[i] = r
        summary[k] = {"members": idx, "size": len(idx), "wall_s": time.perf_counter() - t0}
        if k in jobs:
            summary[k]["job"] = jobs[k].job_id
    return results, summary


def dispatch_dir(cfg, run_dir: Path) -> Optional[Path]:
    """The run folder if ``population.dispatch=launcher`` sends the populations to submitit, else None."""
    if cfg.population.dispatch not in ("here", "launcher"):
        raise ConfigError(f"population.dispatch must be here or launcher, got {cfg.population.dispatch}")
    return Path(run_dir) if cfg.population.dispatch == "launcher" else None


def run_population(cfg, run_dir: Path) -> list[dict]:
    """Train every member of ``cfg``'s population or random search; returns their results
    (search=tpe: rnnbench/population/tpe.py)."""
    start = time.perf_counter()
    run_dir = Path(run_dir)
    members, draws = expand(cfg)
    dirs = [run_dir / "members" / f"{i:03d}" for i in range(len(members))]
    results, summary = train_groups(members, dirs, cfg.population.max_members, dispatch_dir(cfg, run_dir))
    write_json_atomic(run_dir / "population.json", {
        "search": cfg.search.name, "n_members": len(members), "wall_s": time.perf_counter() - start,
        "groups": [{"group": k, **g} for k, g in enumerate(summary)],
        "members": [{"dir": str(d.relative_to(run_dir)), "overrides": o, "status": (r or {}).get("status"),
                     "valid_nll": (r or {}).get("valid_nll"), "test_nll": (r or {}).get("test_nll")}
                    for d, o, r in zip(dirs, draws, results)],
    })
    ok = [r for r in results if r and r.get("valid_nll") is not None]
    if ok:
        best = min(ok, key=lambda r: r["valid_nll"])
        log.info("%d/%d members ok; best valid NLL %.4f (seed %s): test NLL %.4f; %.1fs in all", len(ok), len(members),
                 best["valid_nll"], best["seed"], best["test_nll"], time.perf_counter() - start)
    return results
