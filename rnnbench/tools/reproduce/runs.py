"""The runs of a table: the commands rnnbench-reproduce plans for its cells, each an ordinary ``rnnbench`` run
(a subprocess, its output in ``<seed folder>.out``), and the rule that reuses a finished folder only for a command
of its own overrides."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

from rnnbench.config.keys import operational
from rnnbench.engine.results import FINISHED, budget_stopped, read_results
from rnnbench.errors import RnnbenchError, Terminated
from rnnbench.tools.reproduce.cells import cell_dir, progress, selected
from rnnbench.tools.reproduce.tables import Row, Table


PROGRESS_EVERY_S = 300.0  # how often a running cell's progress is said (when it has moved)


class UsageError(RnnbenchError):
    """A choice of the command line that the table cannot run (a row without a search, a bad count)."""


def plan(table: Table, rows: list[Row], columns: list[str], seeds: int, search: bool, out: Path,
         max_seconds: Optional[float], extra: list[str], pruner: str = "none") -> list[tuple[Row, str, int, Path, list[str]]]:
    """(row, column, seed, run folder, rnnbench overrides) of every run to make. Rows that only read
    another row's runs (MC rows) make none."""
    runs = []
    for row in rows:
        if row.run is not None:
            continue
        if search and row.search is None:
            raise UsageError(f"row {row.name} of {table.name}: the paper reports no random search rnnbench can run "
                             "as a population; run it without --search")
        template = row.search if search else row.overrides
        for col in columns:
            if not search and table.column_is_dataset and col not in row.published and row.published:
                continue  # the paper has no number here (002 Table 6 on two sets only)
            if not search and row.columns is not None and col not in row.columns:
                print(f"{row.name} / {col}: no per-set preset yet (not chosen on its validation set): not run",
                      file=sys.stderr)
                continue
            for seed in range(seeds):
                folder = cell_dir(out, table, row, col, search, pruner) / f"seed-{seed}"
                args = [o.replace("{col}", col) for o in template] + [f"seed={seed}", "train.progress=false"]
                if pruner != "none":
                    args.append(f"search.pruner={pruner}")
                if max_seconds is not None:
                    args.append(f"train.max_seconds={max_seconds}")
                runs.append((row, col, seed, folder, args + list(extra)))
    return runs


def run_all(runs, dry_run: bool) -> None:
    cmd = [sys.executable, "-m", "rnnbench.cli"]
    for i, (row, col, seed, folder, args) in enumerate(runs, 1):
        head = f"[{i}/{len(runs)}] {row.name} / {col} / seed {seed}"
        if dry_run:
            print(f"{head}: rnnbench {' '.join(args)} hydra.run.dir={folder}")
            continue
        done = selected(folder)
        if done and done.get("status") in FINISHED and not continues(folder, done, args):
            other = other_overrides(folder, args)
            if other:
                print(f"{head}: finished before with other settings (its overrides differ in {', '.join(other)}), "
                      f"not run again; the table below still reads it: delete {folder} or use another --out",
                      file=sys.stderr, flush=True)
                continue
            kept = budget_stopped(done) and (folder / "checkpoint.pt").is_file()
            print(f"{head}: finished before ({done.get('status')}{'; a larger --max-seconds continues it' if kept else ''})"
                  f", {folder}", flush=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{head}: {'continuing' if done else 'running'} in {folder}", flush=True)
        t0 = time.perf_counter()
        log = folder.parent / f"{folder.name}.out"
        said = [""]

        def report() -> None:  # a line when the run has moved since the last one (the child's own log is in `log`)
            now = progress(folder)
            if now != said[0]:
                said[0] = now
                print(f"{head}: {now} ({time.perf_counter() - t0:.0f} s)", flush=True)

        with open(log, "w") as out:
            rc = _run_child(cmd + args + [f"hydra.run.dir={folder}"], out, report)
        r = selected(folder) or {}
        if rc != 0 and r.get("status") not in FINISHED:  # refused, failed or interrupted: say why, from its output
            last = [line for line in log.read_text(errors="replace").splitlines() if line.strip()][-1:] or [""]
            print(f"{head}: exit {rc}: {last[0]} ({log})", file=sys.stderr, flush=True)
            continue
        print(f"{head}: {r.get('status', f'no results (exit {rc})')}, {r.get('test_metric', '')} "
              f"{r.get(r.get('test_metric', ''), '')} ({time.perf_counter() - t0:.0f} s)", flush=True)


def continues(folder: Path, done: dict, args: list[str]) -> bool:
    """Whether the finished run in ``folder`` (its results ``done``) is one this command trains on: a single run
    stopped by its time budget, its checkpoint kept, and the command's budget larger (or none); the command differs
    from it in nothing else (the run itself checks the checkpoint: rnnbench/run_folder.py, continued)."""
    if not (budget_stopped(done) and (folder / "checkpoint.pt").is_file()):
        return False
    if other_overrides(folder, args) != ["train.max_seconds"]:
        return False
    before = ((done.get("config") or {}).get("train") or {}).get("max_seconds")
    now = _override_map(args).get("train.max_seconds", "train.max_seconds=null").split("=", 1)[1]
    return isinstance(before, (int, float)) and (now in ("null", "None") or float(now) > before)


def _run_child(cmd: list[str], out, report=None) -> int:
    """Run one rnnbench command to its end (its exit status), calling ``report()`` every PROGRESS_EVERY_S while it
    runs. An interruption of this command is passed on and waited for, so that the run stops as it would alone (its
    checkpoints kept, a search's record written): SIGTERM at once, Ctrl-C after a few seconds (a terminal's reaches
    the child too; a `kill -INT` of this process alone does not)."""
    child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        while True:
            try:
                return child.wait(timeout=PROGRESS_EVERY_S if report else None)
            except subprocess.TimeoutExpired:
                try:
                    report()
                except Exception:  # a progress line that cannot be made never stops the run it reports on
                    pass
    except KeyboardInterrupt as e:
        try:
            child.wait(timeout=0 if isinstance(e, Terminated) else 5)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
            try:
                child.wait(timeout=120)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        raise


def _override_map(overrides) -> dict[str, str]:
    """Hydra overrides by the key they set (``+k=v``, ``++k=v``, ``~k`` and ``k=v`` all name ``k``)."""
    return {str(o).lstrip("~+").split("=", 1)[0]: str(o) for o in overrides}


def other_overrides(folder: Path, args: list[str]) -> list[str]:
    """The keys in which the overrides recorded by the finished run in ``folder`` (.hydra/overrides.yaml) differ
    from this command's ``args``; none where nothing was recorded (members copied in by hand). How a run is
    executed (OPERATIONAL: data root, device, progress bar, dispatch, fuse, ...; what rnnbench-report pools across) is
    not compared, the time budget only where one of the folder's runs was stopped by it, the seed always."""
    path = folder / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        recorded = _override_map(OmegaConf.to_container(OmegaConf.load(path)))
    except Exception:  # unreadable: say so rather than reuse a run of unknown settings
        return [f"{path} (unreadable)"]
    budget = any(budget_stopped(read_results(p)) for p in [folder / "results.json", *folder.glob("members/*/results.json")])
    now = _override_map(args)
    return [k for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)
            and not (operational(k, seed=False) and (k != "train.max_seconds" or not budget))]
