"""002 Table 6's committed searches (docs/measurements/2026-12-04-002-t6/<set>/<row>-search/): every member kept there is
the draw that `rnnbench-reproduce 002-t6 --search --rows <row> --datasets <set>` makes today (the check a search
run again into its folder makes: rnnbench/population/search.py, check_recorded), and the cell docs/reproduction.md
reports is the member validation chooses (rnnbench/tools/reproduce/cells.py, selected): the test set chooses
nothing, and the report cannot drift from the members it stands on."""
import json
from pathlib import Path

import pytest

from rnnbench.population.search import check_recorded, expand
from rnnbench.tools.reproduce.cells import selected
from rnnbench.tools.reproduce.tables import TABLES
from tests.conftest import compose_cfg

ROOT = Path(__file__).resolve().parents[1]
SEARCHES = sorted((ROOT / "docs" / "measurements" / "2026-12-04-002-t6").glob("*/*-search"))
REPORT = ROOT / "docs" / "reproduction.md"


def test_the_searches_are_there():
    assert {f"{p.parent.name}/{p.name}" for p in SEARCHES} >= {
        f"{s}/{r}-search" for s in ("jsb", "piano-midi") for r in ("srnn", "lstm", "fd-rnn", "fd-lstm")}


@pytest.mark.parametrize("folder", SEARCHES, ids=[f"{p.parent.name}-{p.name}" for p in SEARCHES])
def test_a_committed_search_holds_its_rows_draws_and_the_report_its_validation_choice(folder):
    data_set, row_name = folder.parent.name, folder.name.removesuffix("-search")
    [row] = [r for r in TABLES["002-t6"].rows if r.name == row_name]
    members, _ = expand(compose_cfg(*(o.replace("{col}", data_set) for o in row.search), "seed=0"))
    assert len(members) == 64
    done = {int(p.parent.name): json.loads(p.read_text()) for p in folder.glob("members/*/results.json")}
    assert done and set(done) <= set(range(64))
    for i, results in done.items():  # raises ConfigError naming the keys where a member is not its draw
        check_recorded(results, members[i], folder / "members" / f"{i:03d}")
    if len(done) < 64:
        pytest.skip(f"{len(done)} of 64 members: the search is not finished, its cell is not reported")
    chosen = selected(folder)
    assert chosen["status"] == "ok" and chosen["valid_nll"] == min(
        r["valid_nll"] for r in done.values() if r["status"] == "ok")
    assert f"| {row_name} | {data_set} | {chosen['test_nll']:.3f} (1) |" in REPORT.read_text()
