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

import contextlib
import json
import logging
import math
import random
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Optional

from omegaconf import OmegaConf

from rnnbench.config import value_of
from rnnbench.config.keys import differing, operational
from rnnbench.config.checks import check_setting
from rnnbench.config.batching import unbatched
from rnnbench.config.search import flatten_space, space_range
from rnnbench.errors import ConfigError, RnnbenchError, SearchIncomplete
from rnnbench.regularisers.spec import SITES
from rnnbench.engine.results import ANOTHER_FOLDER, FINISHED, read_results, write_failed, write_json_atomic
from rnnbench.population.dispatch import Dispatch, dispatch_of, submit_groups

log = logging.getLogger("rnnbench")

# Keys a member may change without leaving its population (numbers entering the batched kernels).
MEMBER_KEYS = ("seed", "model.init", "optim.lr", "optim.momentum", "optim.decay", "optim.eps", "optim.offset",
               "optim.init_mean_square", "train.clip", "train.patience", "train.max_epochs", "regulariser.fd_output",
               "regulariser.name")


def _draw(spec, rng: random.Random, key: str):
    """One value of the search-space entry search.space.``key``: a list of choices or {low, high, log, int}."""
    if OmegaConf.is_list(spec) or isinstance(spec, list):
        if not len(spec):
            raise ConfigError(f"search.space.{key}: an empty list of choices; give at least one value")
        return rng.choice(list(spec))
    if OmegaConf.is_dict(spec) or isinstance(spec, dict):
        low, high, log_scale = space_range(spec, key)
        x = math.exp(rng.uniform(math.log(low), math.log(high))) if log_scale else rng.uniform(low, high)
        return int(round(x)) if spec.get("int", False) else x
    raise ConfigError(f"search.space.{key}: a list of choices or {{low, high, log, int}}, got {spec!r}")


def member_config(cfg, seed: int, overrides: dict):
    """An ordinary single-run config: ``cfg`` with its seed and the drawn overrides set."""
    member = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))  # a deep copy, interpolations kept
    OmegaConf.set_struct(member, True)
    member.population.size = 1
    member.search = {**OmegaConf.to_container(cfg.search), "name": "none", "space": {}}
    member.seed = seed
    for key, value in overrides.items():
        check_setting(cfg, key, value, "search.space")  # the range of the schema field the draw lands in
        try:
            OmegaConf.update(member, key, value, merge=False)
        except Exception as e:  # an unknown key
            raise ConfigError(f"search.space.{key}: cannot set {key}={value!r}: {str(e).splitlines()[0]}") from None
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
        draws = [{k: _draw(v, rng, k) for k, v in space.items()} for _ in range(cfg.search.n)]
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
    """Indices of members, grouped by group_key, split into chunks of at most ``max_members``; members that
    cannot be batched (config.batching.unbatched: another task, STORN, an optimiser without per-member
    rates) each in a group of its own, trained as its single run (population/train.py)."""
    by_key: dict[str, list[int]] = {}
    for i, m in enumerate(members):
        by_key.setdefault(group_key(m), []).append(i)
    out = []
    for idx in by_key.values():
        size = 1 if unbatched(members[idx[0]]) else max_members
        out.extend(idx[k : k + size] for k in range(0, len(idx), size))
    return out


def train_groups(members: list, dirs: list[Path], max_members: int, dispatch: Optional[Dispatch] = None,
                 study: Optional[Path] = None, record: Optional[Callable[[list, list], None]] = None) -> tuple[list, list[dict]]:
    """Train ``members`` as batched populations (grouped by group_key) into ``dirs``; a group that
    fails writes failed results for its members and the others go on; a group whose members are all
    finished is skipped and a killed one resumes from its checkpoint, so the same command continues an
    interrupted search. ``dispatch``: where the groups go (worker processes or the Hydra submitit launcher's
    jobs: rnnbench/population/dispatch.py, dispatch_of); None trains them here, one after the other.
    ``study``: a TPE search's optuna study, whose pruner stops members (rnnbench/population/tpe.py).
    ``record(results, summary)`` is called once the groups have ended, and also when the search is interrupted
    (Ctrl-C, SIGTERM: KeyboardInterrupt), with the groups it left unfinished marked interrupted, before the
    interruption goes on. Returns (results, per-group summary)."""
    plan = groups(members, max_members)
    alone = sum(len(idx) == 1 for idx in plan)  # each trains as its single run (rnnbench/population/train.py)
    log.info("%d members in %d group(s): sizes %s (%d batched, %d of one member)", len(members), len(plan),
             [len(g) for g in plan], len(plan) - alone, alone)
    why = unbatched(members[0]) if members else None
    if why:
        log.info("each member trains alone, as its single run: %s", why)
    results: list = [None] * len(members)
    summary: list = [None] * len(plan)
    pending = []
    for k, idx in enumerate(plan):
        done, finished = _group_results(idx, dirs)
        for i, r in zip(idx, done):
            check_recorded(r, members[i], dirs[i])
        if finished:  # a re-run of the search skips it
            log.info("group %d: its %d members are finished; skipped", k, len(idx))
            (dirs[idx[0]] / "checkpoint.pt").unlink(missing_ok=True)  # a kill after the results, before its removal
            for i, r in zip(idx, done):
                results[i] = r
            summary[k] = {"members": idx, "size": len(idx), "wall_s": 0.0, "skipped": True}
        else:
            pending.append(k)
    try:
        _train_pending(plan, pending, members, dirs, dispatch, study, results, summary)
    except KeyboardInterrupt:
        _interrupted(plan, dirs, results, summary)
        if record is not None:
            record(results, summary)
        raise
    if record is not None:
        record(results, summary)
    return results, summary


def _interrupted(plan: list, dirs: list[Path], results: list, summary: list) -> None:
    """After an interruption: a group the search had not recorded is finished if its members' results say so
    (it ended while the interruption stopped the others), otherwise interrupted (the same command resumes it)."""
    for k, idx in enumerate(plan):
        if summary[k] is not None:
            continue
        done, finished = _group_results(idx, dirs)
        if finished:
            for i, r in zip(idx, done):
                results[i] = r
        wall = max(((r or {}).get("wall_s") or 0.0 for r in done), default=0.0) if finished else 0.0
        summary[k] = {"members": idx, "size": len(idx), "wall_s": wall, "ended": "finished" if finished else "interrupted"}


def _group_results(idx: list[int], dirs: list[Path]) -> tuple[list, bool]:
    """The results.json of a group's members as they stand (None: none yet), and whether the group has ended."""
    done = [read_results(dirs[i] / "results.json") for i in idx]
    return done, group_finished(done, dirs[idx[0]] / "checkpoint.pt")


def _train_pending(plan: list, pending: list, members: list, dirs: list[Path], dispatch: Optional[Dispatch],
                   study: Optional[Path], results: list, summary: list) -> None:
    """train_groups' loop: each pending group trained here or sent away, its results and summary filled in."""
    from rnnbench.population.train import train_population

    sent = [(k, [members[i] for i in plan[k]], [dirs[i] for i in plan[k]]) for k in pending]
    with submit_groups(sent, dispatch, study) if dispatch is not None and pending else contextlib.nullcontext([]) as handles:
        jobs = dict(zip(pending, handles))
        for k in pending:
            idx, t0 = plan[k], time.perf_counter()
            try:
                if k in jobs:
                    out = jobs[k].result()  # waits; the group's exception is re-raised here (submitit's, the pool's)
                else:
                    out = train_population([members[i] for i in idx], [dirs[i] for i in idx], study)
            except Exception as e:
                out, ended = _group_error(e, k, [members[i] for i in idx], [dirs[i] for i in idx], len(plan) == 1)
            else:
                ended = "finished"
            for i, r in zip(idx, out):
                results[i] = r
            waited = time.perf_counter() - t0
            summary[k] = {"members": idx, "size": len(idx), "wall_s": waited, "ended": ended}
            log.info("group %d %s; %d of %d members have ended", k, ended, sum(r is not None for r in results), len(results))
            if k in jobs:  # sent away: waiting began when the earlier groups ended; the group's own time is its members'
                trained = [r["wall_s"] for r in out if isinstance((r or {}).get("wall_s"), (int, float))]
                summary[k].update(wall_s=max(trained, default=waited), waited_s=waited)
            if getattr(jobs.get(k), "job_id", None) is not None:  # a submitit job
                summary[k]["job"] = jobs[k].job_id


def check_recorded(results: Optional[dict], member, run_dir: Path) -> None:
    """Raise ConfigError if ``run_dir`` holds the results of another configuration than ``member``: a search run
    again into a folder of another reading, data set or space would otherwise skip those members and report
    them as its own. Settings of how a run is executed (OPERATIONAL: budget, device, data root, dispatch, ...)
    may differ, and a key that only one of the two holds (added to rnnbench, or removed, since) is not compared."""
    recorded = (results or {}).get("config")
    if not isinstance(recorded, dict):
        return
    # results.json holds the config resolved (a failure written for a group: as composed, interpolations kept)
    def differs(resolve: bool) -> list[str]:  # keys both hold; the seed compared, other OPERATIONAL keys not
        now = OmegaConf.to_container(member, resolve=resolve, enum_to_str=True)
        return differing(recorded, now, lambda path: operational(path, seed=False), common_only=True)

    diff = [d for d in differs(True) if d in differs(False)]
    if diff:
        raise ConfigError(f"{run_dir} holds the results of another configuration than this search's member (it differs "
                          f"in {', '.join(diff[:6])}); nothing was trained. Run the search with its own settings, or "
                          f"{ANOTHER_FOLDER}")


def group_finished(done: list, checkpoint: Path) -> bool:
    """Whether a group has ended: every member has a finished results.json, and none of them is a failure
    written beside the group's checkpoint (a job cancelled or pre-empted: it resumes from the checkpoint)."""
    if not all(r is not None and r.get("status") in FINISHED for r in done):
        return False
    return not (checkpoint.is_file() and any(r.get("status") == "failed" for r in done))


def _group_error(e: Exception, k: int, members: list, dirs: list[Path], alone: bool) -> tuple[list, str]:
    """(results, how the group ended) of a group whose training raised ``e``. A group that holds its
    checkpoint (its job was cancelled, pre-empted or killed) is interrupted, not failed: nothing is written
    and the same command resumes it. Otherwise its members are written as failed."""
    if isinstance(e, BrokenProcessPool):  # a worker process died (killed, out of memory): nothing is written
        log.error("group %d did not finish: a worker process of population.dispatch=processes ended abruptly; the same "
                  "command resumes it%s", k, " from its checkpoint" if (dirs[0] / "checkpoint.pt").is_file() else "")
        return [None] * len(members), "interrupted"
    if (dirs[0] / "checkpoint.pt").is_file():
        log.error("group %d stopped before its end (%s: %s); its checkpoint is kept, the same command resumes it", k,
                  type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        return [None] * len(members), "interrupted"
    if isinstance(e, RnnbenchError):
        if alone:
            raise e
        log.error("group %d failed: %s", k, e)
        return [write_failed(m, d, str(e)) for m, d in zip(members, dirs)], "failed"
    trace = "".join(traceback.format_exception(e))
    log.error("group %d failed (the other groups go on): %s", k, trace)
    return [write_failed(m, d, trace) for m, d in zip(members, dirs)], "failed"


def run_times(start: float) -> dict:
    """When this invocation began (wall clock) and how long it has taken, from its perf_counter start."""
    wall = time.perf_counter() - start
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - wall)), "wall_s": wall}


def write_population(run_dir: Path, record: dict, this_run: dict) -> None:
    """population.json: ``record`` (the members and the latest groups) plus every run of the command so far
    under "runs" (a re-run appends: the job ids and wall times of earlier runs stay)."""
    previous = read_results(run_dir / "population.json") or {}
    runs = list(previous.get("runs", []))
    if previous and not runs:  # written before "runs" existed: its one run
        runs = [{k: previous[k] for k in ("wall_s", "groups") if k in previous}]
    runs.append(this_run)
    write_json_atomic(run_dir / "population.json", {**record, "wall_s": sum(r.get("wall_s") or 0.0 for r in runs),
                                                    "groups": this_run["groups"], "runs": runs})


def check_groups(summary: list[dict]) -> None:
    """Raise SearchIncomplete if a group failed or was interrupted."""
    bad = [(k, g["ended"]) for k, g in enumerate(summary) if g.get("ended") in ("failed", "interrupted")]
    if bad:
        resumable = any(e == "interrupted" for _, e in bad)
        raise SearchIncomplete(f"{len(bad)} of {len(summary)} groups did not finish ("
                               + ", ".join(f"group {k} {e}" for k, e in bad) + ")"
                               + ("; run the same command to resume the interrupted ones from their checkpoints"
                                  if resumable else "; their members' results.json say why"))


def run_population(cfg, run_dir: Path) -> list[dict]:
    """Train every member of ``cfg``'s population or random search; returns their results
    (search=tpe: rnnbench/population/tpe.py)."""
    start = time.perf_counter()
    run_dir = Path(run_dir)
    members, draws = expand(cfg)
    dirs = [run_dir / "members" / f"{i:03d}" for i in range(len(members))]

    def record(results: list, summary: list) -> None:  # also for an interrupted run: its groups and time count
        write_population(run_dir, {
            "search": cfg.search.name, "n_members": len(members),
            "members": [{"dir": str(d.relative_to(run_dir)), "overrides": o, "status": (r or {}).get("status"),
                         "valid_nll": (r or {}).get("valid_nll"), "test_nll": (r or {}).get("test_nll")}
                        for d, o, r in zip(dirs, draws, results)],
        }, {**run_times(start), "groups": [{"group": k, **g} for k, g in enumerate(summary)]})

    results, summary = train_groups(members, dirs, cfg.population.max_members, dispatch_of(cfg, run_dir), record=record)
    announce_best(results, dirs, draws, cfg, time.perf_counter() - start)
    check_groups(summary)
    return results


def announce_best(results: list, dirs: list[Path], draws: list[dict], cfg, wall_s: float) -> None:
    """Print the search's best member by its validation metric (among the members that ended ok): its folder,
    metric, overrides, and the command that trains it alone."""
    ok = [(r, d, o) for r, d, o in zip(results, dirs, draws) if r and r.get("status") == "ok"
          and isinstance(r.get(r.get("selection_metric", "valid_nll")), (int, float))]
    log.info("%d/%d members ended ok (%.1fs)", len(ok), len(results), wall_s)
    if not ok:
        return
    r, d, o = min(ok, key=lambda x: x[0][x[0].get("selection_metric", "valid_nll")])
    sel, test = r.get("selection_metric", "valid_nll"), r.get("test_metric", "test_nll")
    log.info("best member: %s  %s %.4f  %s %s  overrides %s", d, sel, r[sel], test, r.get(test), o or "{}")
    log.info("train it alone: %s", retrain_command(cfg, r["seed"], o))


def retrain_command(cfg, seed: int, overrides: dict) -> str:
    """The ``rnnbench ...`` command that trains one member alone: the search's own overrides without the
    search and population settings, then the member's seed and drawn values."""
    import shlex

    from hydra.core.hydra_config import HydraConfig

    given = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    keep = [a for a in given if not a.lstrip("+~").startswith(("search", "population", "seed=", "hydra"))
            and a.lstrip("+~").split("=", 1)[0] not in overrides]  # a drawn value replaces the command's
    drawn = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in overrides.items()]
    return " ".join(shlex.quote(a) for a in ["rnnbench", *keep, "search=none", f"seed={seed}", *drawn])
