"""``search=tpe``: model search with optuna's TPE sampler (Bergstra et al. 2011) through its ask/tell
API, trained as populations.

Each round asks optuna for ``search.per_round`` configurations from ``search.space`` (the same space
as ``search=random``: a list of choices is a categorical, ``{low, high, log, int}`` a float or an int),
trains them as batched populations (rnnbench/population/search.py: train_groups) and tells optuna each
member's validation NLL; a member that diverges or fails is told FAIL. Rounds go on until
``search.n`` trials have completed or been pruned. With ``search.pruner`` (sha, hyperband, median) optuna's
own pruner of that name stops members while they train (StudyPruner): after every epoch each active
member reports its best validation NLL so far as its trial's intermediate value (step = epoch) and asks
``should_prune``; a pruned member is frozen at its best state, written ``pruned`` and told PRUNED.
The study is stored in ``<run dir>/optuna.db`` (SQLite), so the same command on the same run folder
continues an interrupted search: finished trials are kept, and the round the interruption left running is
trained again with its drawn values, resuming its population from its checkpoint (rnnbench/engine/checkpoint.py). Trial k trains in
``members/<k>/`` with seed ``seed + k``, like a member of a random search.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Callable, Optional

from rnnbench.engine.results import FLOOR_STATUS, PRUNED
from rnnbench.population.study import open_study, optuna_pruner

log = logging.getLogger("rnnbench")


def suggest(trial, key: str, spec):
    """One value of a search-space leaf, asked of an optuna trial."""
    if isinstance(spec, (list, tuple)):
        return trial.suggest_categorical(key, list(spec))
    low, high = spec["low"], spec["high"]
    log_scale = bool(spec.get("log", False))
    if spec.get("int", False):
        return trial.suggest_int(key, int(low), int(high), log=log_scale)
    return trial.suggest_float(key, float(low), float(high), log=log_scale)


def _plain(space: dict) -> dict:
    from omegaconf import OmegaConf

    return {k: OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for k, v in space.items()}


def tpe_search(study, space: dict, n: int, per_round: int, evaluate: Callable[[list[int], list[dict]], list[Optional[float]]]) -> None:
    """Ask/tell rounds until ``n`` trials of ``study`` are complete or pruned. ``evaluate(numbers, draws)``
    trains the round's trials and returns each one's validation metric (None: failed or diverged;
    ``"pruned"``: stopped by the study's pruner, told PRUNED with its last reported value)."""
    from optuna.trial import TrialState

    # the round an interrupted search left running: the same trials again (their populations resume)
    running = [t for t in study.get_trials(states=(TrialState.RUNNING,)) if set(t.params) == set(space)]
    for t in study.get_trials(states=(TrialState.RUNNING,)):
        if t not in running:  # interrupted before all its values were drawn
            study.tell(t.number, state=TrialState.FAIL)
    while True:
        done = len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))
        if done >= n and not running:
            return
        if len(study.trials) >= 2 * n and not running:  # as many failed as asked for: the space does not train
            log.warning("tpe: %d trials, only %d completed; the search stops (every failed trial is in population.json)",
                        len(study.trials), done)
            return
        if running:
            numbers, draws, running = [t.number for t in running], [dict(t.params) for t in running], []
        else:
            trials = [study.ask() for _ in range(min(per_round, n - done))]
            for t in trials:  # each trial names the folder of its member
                t.set_user_attr("member", f"members/{t.number:03d}")
            numbers, draws = [t.number for t in trials], [{k: suggest(t, k, spec) for k, spec in space.items()} for t in trials]
        for t, value in zip(numbers, evaluate(numbers, draws)):
            if value == PRUNED:
                study.tell(t, state=TrialState.PRUNED)
            elif value is None or not math.isfinite(value):
                study.tell(t, state=TrialState.FAIL)
            else:
                study.tell(t, value)


def run_tpe(cfg, run_dir: Path) -> list[dict]:
    """search=tpe for the music task: every completed trial's results."""
    from rnnbench.population.dispatch import dispatch_of
    from rnnbench.population.search import (announce_best, check_groups, member_config, run_times, search_space,
                                            train_groups, write_population)

    start = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    space = _plain(search_space(cfg))
    study = open_study(run_dir / "optuna.db", cfg.search.seed, cfg.search.startup,
                       optuna_pruner(cfg.search, int(cfg.train.max_epochs)))
    prune_with = run_dir / "optuna.db" if cfg.search.get("pruner", "none") != "none" else None
    results: dict[int, dict] = {}
    rounds: list[dict] = []

    def evaluate(numbers: list[int], draws: list[dict]) -> list[Optional[float]]:
        members = [member_config(cfg, cfg.seed + k, d) for k, d in zip(numbers, draws)]
        dirs = [run_dir / "members" / f"{k:03d}" for k in numbers]

        def record(_, summary: list) -> None:  # also for a round that was interrupted: the finally below writes it
            rounds.extend({"trials": [numbers[i] for i in g["members"]], **{k: v for k, v in g.items() if k != "members"}}
                          for g in summary)

        out, summary = train_groups(members, dirs, cfg.population.max_members, dispatch_of(cfg, run_dir), prune_with,
                                    record)
        if any(g.get("ended") == "interrupted" for g in summary):  # told nothing: the trials stay RUNNING and the
            check_groups(summary)  # same command resumes them from their groups' checkpoints
        values = []
        for k, r in zip(numbers, out):
            results[k] = r or {}
            # a run no better than the floor is a real (bad) measurement: optuna is told its value
            ok = r and r.get("status") in ("ok", FLOOR_STATUS) and isinstance(r.get("valid_nll"), (int, float))
            values.append(PRUNED if r and r.get("status") == PRUNED else r["valid_nll"] if ok else None)
        log.info("tpe round: trials %s -> %s", numbers, [v if v is None or v == PRUNED else round(v, 4) for v in values])
        return values

    try:
        tpe_search(study, space, cfg.search.n, cfg.search.per_round, evaluate)
    finally:  # also when a group was interrupted: this run's rounds are recorded
        trials = study.get_trials()
        write_population(run_dir, {
            "search": "tpe", "n_members": len(trials), "study": "optuna.db",
            "members": [{"dir": f"members/{t.number:03d}", "overrides": t.params, "state": t.state.name,
                         "valid_nll": t.value} for t in trials],
        }, {**run_times(start), "groups": rounds})
    done = [t for t in trials if t.number in results]
    announce_best([results[t.number] for t in done], [run_dir / "members" / f"{t.number:03d}" for t in done],
                  [t.params for t in done], cfg, time.perf_counter() - start)
    check_groups(rounds)
    return [results[t.number] for t in done]
