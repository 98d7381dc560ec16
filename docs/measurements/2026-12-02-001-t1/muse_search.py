"""MuseData's plain row by 000's search (issue 31, item 2), as single runs in two lanes instead of populations.

The draws are exactly those of the other sets' searches (``search=random search.n=32 seed=0
~search.space.regulariser``: member i trains with seed i), under both readings (breze with
``train.batches=rows``, as there). On one CPU thread a population costs about twice a single run per
member (section 7), and a MuseData population of the 18 600-unit members would not reach the rung in a
session, so the successive halving is done across single runs, in two phases whose runs are kept here
one by one (``lane.sh`` skips a kept run, so the same command continues the campaign in a later session):

1. the rung: every member trained to ``train.max_epochs=20`` (the rung of the other sets' searches,
   ``search.rung=20``), folder ``musedata-plain-search/<reading>-<member>``;
2. the best ``KEEP`` members of each reading by their best validation NLL at the rung trained again from
   the start to early stopping (1,500 s budget, as section 9's candidates; the first 20 epochs replay
   the rung run exactly: same seed, kernels and shapes), folder ``<reading>-<member>-full``.

    python muse_search.py jobs      # phase 1's job lines (name|overrides), both readings interleaved
    python muse_search.py rank      # each reading's members ranked at the rung; phase 2's job lines
    python muse_search.py table     # the markdown table of both phases

The test NLL is never read for a choice (``rank`` and the ordering use the validation NLL only).
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
KEPT = HERE / "musedata-plain-search"
RUNG = 20
KEEP = 3  # members per reading trained to early stopping after the rung
READINGS = {"paper": "protocol=paper", "breze": "protocol=breze train.batches=rows"}
SEARCH = ["dataset=musedata", "regulariser=none", "search=random", "search.n=32", "seed=0", "~search.space.regulariser"]


def draws() -> list[dict]:
    """The 32 drawn overrides of search seed 0 (rnnbench's own sampler; the reading does not change them)."""
    from rnnbench.api import compose
    from rnnbench.population.search import expand

    return expand(compose(SEARCH + ["protocol=paper"]))[1]


def overrides(i: int, draw: dict) -> str:
    value = lambda v: "null" if v is None else repr(v)  # noqa: E731
    return " ".join([f"seed={i}"] + [f"{k}={value(v)}" for k, v in draw.items()])


def results(name: str):
    p = KEPT / name / "results.json"
    return json.loads(p.read_text()) if p.is_file() else None


def ranked(reading: str) -> list[tuple[int, dict]]:
    """(member, results) of the reading's rung runs that finished, best validation NLL first."""
    out = [(i, r) for i in range(32) if (r := results(f"{reading}-{i:03d}"))]
    return sorted(out, key=lambda x: (x[1].get("valid_nll") or float("inf"), x[0]))


def cell(r: dict) -> str:
    """'7.1937 (best epoch 20)', with the status where it is not ok."""
    status = "" if r["status"] == "ok" else f", {r['status']}"
    return f"{r.get('valid_nll') or float('nan'):.4f} (best epoch {r.get('best_epoch')}{status})"


def main(cmd: str) -> None:
    ds = draws()
    if cmd == "jobs":
        print("# issue 31, MuseData plain row, phase 1 (the rung): each of search seed 0's 32 draws, both readings, "
              f"train.max_epochs={RUNG}; written by muse_search.py jobs")
        for i, d in enumerate(ds):
            for reading, flags in READINGS.items():
                print(f"{reading}-{i:03d}|dataset=musedata {flags} train.max_epochs={RUNG} {overrides(i, d)}")
    elif cmd == "rank":  # phase 2's jobs, the readings interleaved best first (a lane pair runs both readings' best)
        jobs = {}
        for reading, flags in READINGS.items():
            rows = ranked(reading)
            print(f"# {reading}: {len(rows)} of 32 members at the rung; best {KEEP} go on")
            for i, r in rows:
                print(f"#   {i:03d} {cell(r)}")
            if len(rows) == 32:
                jobs[reading] = [f"{reading}-{i:03d}-full|dataset=musedata {flags} train.max_seconds=1500 {overrides(i, ds[i])}"
                                 for i, _ in rows[:KEEP]]
        for k in range(KEEP):
            for reading in jobs:
                print(jobs[reading][k])
    elif cmd == "table":
        print("| member | hidden | lr | momentum | decay | σ² W_in | σ² W_rec | ρ | ν | paper: valid at rung | breze: valid at rung | full run (valid) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for i, d in enumerate(ds):
            cells = []
            for reading in READINGS:
                r = results(f"{reading}-{i:03d}")
                cells.append("–" if r is None else cell(r))
            full = [f"{reading} {cell(r)}" for reading in READINGS
                    if (r := results(f"{reading}-{i:03d}-full"))]
            print(f"| {i:03d} | {d['model.hidden']} | {d['optim.lr']} | {d['optim.momentum']} | {d['optim.decay']} | "
                  f"{d['model.init.var_in']} | {d['model.init.var_rec']} | {d['model.init.rho']} | "
                  f"{d['model.init.sparsity'] or 'dense'} | {cells[0]} | {cells[1]} | {', '.join(full)} |")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
