"""rnnbench-reproduce: the seed tables, the runs it makes through the ordinary runner, the
ours-vs-published table with the floors, and its errors."""
import json
import os
import signal
import sys
import threading
import time

import pytest

from rnnbench.tools.reproduce import cells, cli, runs
from rnnbench.tools.reproduce.tables import TABLES, Row, Table
from tests.conftest import ENDED, LEARNS, compose_cfg

SEED_TABLES = ["000-t1", "001-t1", "002-t6", "002-t13", "003-t1", "003-sentiment", "zaremba-small"]


def test_every_seed_table_exists_and_composes():
    assert list(TABLES) == SEED_TABLES
    for table in TABLES.values():
        for row in table.rows:
            for col in table.columns:
                if table.column_is_dataset and row.published and col not in row.published:
                    continue
                if row.columns is not None and col not in row.columns:  # no per-set preset yet: not run
                    continue
                cfg = compose_cfg(*[o.replace("{col}", col) for o in row.overrides])
                assert cfg.dataset.name == (col if table.column_is_dataset else "ptb"), (table.name, row.name, col)


def test_001_t1_runs_the_per_set_presets_that_exist(capsys, tmp_path):
    # issue 31: a row's level and reading are chosen per set (conf/experiment/<row>-<set>.yaml); a set without
    # its preset is named and not run, never run with a level nobody chose
    rows = {r.name: r for r in TABLES["001-t1"].rows}
    assert list(rows) == ["plain-rnn", "rnn-nbr", "rnn-n", "rnn-ns", "rnn-mn", "rnn-mns", "rnn-do", "rnn-dos", "rnn-ff"]
    assert "jsb" in rows["plain-rnn"].columns and rows["plain-rnn"].published["jsb"] == 8.58
    assert cli.main(["001-t1", "--dry-run", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    planned = {(line.split("] ")[1].split(" / ")[0], line.split(" / ")[1]) for line in out.splitlines()}
    assert planned == {(r.name, c) for r in rows.values() for c in r.columns}
    for r in rows.values():
        for c in set(TABLES["001-t1"].columns) - set(r.columns):
            assert f"{r.name} / {c}: no per-set preset yet" in err


def test_published_numbers_come_from_the_papers():
    t1 = {r.name: r for r in TABLES["000-t1"].rows}
    assert t1["fd-rnn"].published == {"piano-midi": 7.39, "nottingham": 3.09, "musedata": 6.75, "jsb": 8.01}
    assert t1["srnn"].published["jsb"] == 8.58
    ptb = {r.name: r for r in TABLES["003-t1"].rows}
    assert ptb["variational-untied (MC)"].published == {"medium": 78.6, "large": 73.4}
    assert ptb["variational-untied (MC)"].read == "test_ppl_mc" and ptb["variational-untied (MC)"].folder == "variational-untied"
    assert TABLES["zaremba-small"].rows[0].published == {"ptb": 114.5}
    assert TABLES["002-t13"].rows[0].published["jsb"] == 6.91


def test_dry_run_lists_the_runs(capsys, tmp_path):
    assert cli.main(["000-t1", "--dry-run", "--seeds", "2", "--datasets", "jsb", "--rows", "fd-rnn",
                     "--max-seconds", "60", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and not list(tmp_path.iterdir())  # nothing run, nothing written
    assert lines[1] == (f"[2/2] fd-rnn / jsb / seed 1: rnnbench experiment=fdrnn-jsb seed=1 train.progress=false "
                        f"train.max_seconds=60.0 hydra.run.dir={tmp_path}/000-t1/fd-rnn/jsb/seed-1")
    assert cli.main(["000-t1", "--dry-run", "--search", "--datasets", "jsb", "--rows", "fd-rnn", "--out", str(tmp_path)]) == 0
    assert "search=random search.n=32" in capsys.readouterr().out  # 000's 32-run search
    assert cli.main(["000-t1", "--dry-run", "--search", "--pruner", "sha", "--datasets", "jsb", "--rows", "fd-rnn",
                     "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out  # the authors' reading, pruned by successive halving, in a folder of its own
    assert ("rnnbench dataset=jsb regulariser=fd protocol=breze train.batches=rows search=random search.n=32 seed=0 "
            "train.progress=false "
            f"search.pruner=sha hydra.run.dir={tmp_path}/000-t1/fd-rnn-search-sha/jsb/seed-0") in out


def test_report_only_before_any_run(capsys, tmp_path):
    assert cli.main(["002-t6", "--report-only", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "002-t6/reproduction.md").read_text()
    assert "| lstm | jsb | – | 8.38 | – |" in text and "| floor:" not in text  # no runs, no data read: no floor rows


def test_report_only_reads_each_cell_from_the_last_root_that_holds_it(monkeypatch, capsys, tmp_path):
    """--from A --from B: a cell with runs in B is B's, whole (A's seeds of it are not mixed in); a cell only A holds
    is A's; the table goes under --out, never into the roots it reads."""
    tiny = Table("tiny", "a tiny table", "test_nll", ("synthetic",), (
        Row("srnn", ("dataset={col}",), {"synthetic": 30.0}, "made up"),
        Row("fd", ("dataset={col}",), {"synthetic": 25.0}, "made up")))
    monkeypatch.setitem(TABLES, "tiny", tiny)
    runs_in = {"a": {("srnn", 0): 30.0, ("srnn", 1): 31.0, ("fd", 0): 40.0, ("fd", 1): 41.0}, "b": {("fd", 0): 20.0}}
    for root, values in runs_in.items():
        for (row, seed), value in values.items():
            d = tmp_path / root / "tiny" / row / "synthetic" / f"seed-{seed}"
            d.mkdir(parents=True)
            (d / "results.json").write_text(json.dumps(dict(status="ok", test_nll=value, wall_s=10.0, device="cpu",
                                                            commit="abc", stop_reason="max_epochs")))
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    assert cli.main(["tiny", "--report-only", "--from", str(a), "--from", str(b), "--out", str(out)]) == 0
    text = (out / "tiny/reproduction.md").read_text()
    assert "| srnn | synthetic | 30.500 ± 0.707 (2) | 30.00 | +1.7% |" in text
    assert "| fd | synthetic | 20.000 (1) | 25.00 | -20.0% |" in text
    assert f"`{a}`: srnn/synthetic; `{b}`: fd/synthetic." in text
    assert not (a / "tiny/reproduction.md").exists() and not (b / "tiny/reproduction.md").exists()
    assert cli.main(["tiny", "--report-only", "--out", str(a)]) == 0  # one root, as before: A's own cells, no sources line
    text = (a / "tiny/reproduction.md").read_text()
    assert "| fd | synthetic | 40.500 ± 0.707 (2) |" in text and "Runs read from" not in text


def test_an_importance_sampled_cell_names_the_k_its_runs_used(monkeypatch, tmp_path):
    """STORN's cells say the K of eval.is_samples their runs were evaluated with (runs of one cell may differ:
    both are named); a row that reads another estimate of the same runs (breze's, its own K) adds none."""
    tiny = Table("tiny", "a tiny table", "test_nll", ("a", "b"), (
        Row("storn", ("dataset={col}",), {"a": 3.0, "b": 3.0}, "honest bound"),
        Row("storn (breze estimator)", ("dataset={col}",), {"a": 3.0, "b": 3.0}, "breze's", run="storn",
            read="test_nll_breze")))
    monkeypatch.setitem(TABLES, "tiny", tiny)
    for col, ks in (("a", (100, 1000)), ("b", (1000,))):
        for seed, k in enumerate(ks):
            d = tmp_path / "tiny" / "storn" / col / f"seed-{seed}"
            d.mkdir(parents=True)
            (d / "results.json").write_text(json.dumps(dict(status="ok", test_nll=3.0, test_nll_breze=3.1, wall_s=1.0,
                                                            is_samples=k, stop_reason="patience")))
    lines = {(ln["row"], ln["column"]): ln["source"] for ln in cells.summarise(tiny, False, [tmp_path])}
    assert lines[("storn", "a")] == "honest bound, K = 100 / 1,000"
    assert lines[("storn", "b")] == "honest bound, K = 1,000"
    assert lines[("storn (breze estimator)", "a")] == "breze's"


@pytest.mark.parametrize("args, message", [
    (["no-such-table"], "unknown table 'no-such-table'; valid: 000-t1, 001-t1"),
    (["000-t1", "--rows", "fd-rn"], "unknown row fd-rn; valid: srnn, fd-rnn"),
    (["000-t1", "--datasets", "jsb,bach"], "unknown column bach; valid: piano-midi, nottingham, musedata, jsb"),
    (["000-t1", "--seeds", "0"], "argument --seeds: must be in [1, 1000], got 0 (see rnnbench-reproduce --help)"),
    (["002-t13", "--search", "--rows", "storn-breze"], "row storn-breze of 002-t13: the paper reports no random search"),
    (["003-t1", "--search"], "no row of 003-t1 has a random search rnnbench can run; run it without --search"),
    (["000-t1", "--from", "."], "--from names folders to report from: add --report-only (runs go to --out)"),
    (["000-t1", "--report-only", "--from", ".", "--from", "/no/such"], "--from: no such folder: /no/such"),
])
def test_usage_errors_are_one_line(capsys, monkeypatch, args, message):
    monkeypatch.setattr("sys.argv", ["rnnbench-reproduce", *args, "--dry-run"])
    try:
        code = cli.entry()
    except SystemExit as e:  # argparse's own checks (Parser.error)
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnbench-reproduce: error: ") and message in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_table_runs_reports_and_resumes(monkeypatch, capsys, tmp_path):
    tiny = Table("tiny", "a tiny table", "test_nll", ("synthetic",), (
        Row("srnn", ("dataset={col}", "train=debug", *LEARNS, "device=cpu"), {"synthetic": 30.0}, "made up"),))
    monkeypatch.setitem(TABLES, "tiny", tiny)
    assert cli.main(["tiny", "--seeds", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    results = [json.loads((tmp_path / f"tiny/srnn/synthetic/seed-{s}/results.json").read_text()) for s in (0, 1)]
    assert [r["seed"] for r in results] == [0, 1] and all(r["status"] in ENDED for r in results)
    values = [r["test_nll"] for r in results]
    mean = sum(values) / 2
    std = abs(values[0] - values[1]) / 2 ** 0.5
    report = (tmp_path / "tiny/reproduction.md").read_text()
    assert f"| srnn | synthetic | {mean:.3f} ± {std:.3f} (2) | 30.00 | {100 * (mean - 30) / 30:+.1f}% |" in report
    assert "| floor: note frequency | synthetic |" in report and "| floor: copy previous | synthetic |" in report
    assert report in out
    assert cli.main(["tiny", "--seeds", "2", "--out", str(tmp_path)]) == 0  # again: nothing is run twice
    assert capsys.readouterr().out.count("finished before (ok)") == 2
    assert cli.main(["tiny", "--seeds", "1", "--out", str(tmp_path), "model.hidden=9"]) == 0  # other settings
    captured = capsys.readouterr()
    assert "finished before (ok)" not in captured.out and "running" not in captured.out
    assert "finished before with other settings (its overrides differ in model.hidden)" in captured.err


@pytest.mark.slow
def test_a_cell_stopped_by_its_budget_is_continued_by_a_larger_one(monkeypatch, capsys, tmp_path):
    """The same command says that a larger --max-seconds continues a seed its budget stopped; that command continues
    it from its checkpoint (rnnbench/run_folder.py: continued) and the first results are set aside."""
    tiny = Table("tiny", "a tiny table", "test_nll", ("synthetic",), (
        Row("srnn", ("dataset={col}", "train=debug", *LEARNS, "device=cpu"), {"synthetic": 30.0}, "made up"),))
    monkeypatch.setitem(TABLES, "tiny", tiny)
    run = tmp_path / "tiny/srnn/synthetic/seed-0"
    assert cli.main(["tiny", "--max-seconds", "1e-6", "--out", str(tmp_path)]) == 0  # one epoch
    assert json.loads((run / "results.json").read_text())["epochs"] == 1
    capsys.readouterr()
    assert cli.main(["tiny", "--max-seconds", "1e-6", "--out", str(tmp_path)]) == 0
    assert "; a larger --max-seconds continues it), " in capsys.readouterr().out  # (one epoch: above the floor)
    assert cli.main(["tiny", "--max-seconds", "600", "--out", str(tmp_path)]) == 0
    assert "seed 0: continuing in" in capsys.readouterr().out
    results = json.loads((run / "results.json").read_text())
    assert results["epochs"] > 1 and results["resumed"]["budget_before"] == 1e-6
    assert json.loads((run / "results.budget-1e-06s.json").read_text())["epochs"] == 1


def test_a_finished_folder_is_reused_only_by_a_command_of_its_overrides(tmp_path):
    """rnnbench-reproduce's skip of a finished folder compares the overrides the run recorded with the command's:
    how it runs (OPERATIONAL: data root, progress bar, dispatch, fuse) may differ, the time budget only if no run was
    stopped by it."""
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra/overrides.yaml").write_text("- dataset=jsb\n- '~search.space.model.init.rho'\n- seed=0\n"
                                                    "- train.progress=false\n- train.max_seconds=100\n")
    (tmp_path / "results.json").write_text(json.dumps({"status": "ok", "stop_reason": "no improvement for 20 epochs"}))
    same = ["dataset=jsb", "~search.space.model.init.rho", "seed=0", "train.progress=false"]
    assert runs.other_overrides(tmp_path, same + ["train.max_seconds=100"]) == []
    assert runs.other_overrides(tmp_path, same + ["data.root=/d", "population.dispatch=processes", "train.fuse=true"]) == []
    assert runs.other_overrides(tmp_path, same + ["train.max_seconds=900"]) == []  # ended by patience: same run
    assert runs.other_overrides(tmp_path, ["dataset=jsb", "seed=1", "train.progress=false", "protocol=breze"]) == [
        "protocol", "search.space.model.init.rho", "seed"]
    (tmp_path / "results.json").write_text(json.dumps({"status": "ok", "stop_reason": "time budget (100 s)"}))
    assert runs.other_overrides(tmp_path, same + ["train.max_seconds=900"]) == ["train.max_seconds"]
    (tmp_path / ".hydra/overrides.yaml").unlink()  # members copied in by hand: nothing recorded to compare
    assert runs.other_overrides(tmp_path, ["protocol=breze"]) == []


def test_a_run_stopped_by_its_budget_is_continued_by_a_command_with_a_larger_one(tmp_path):
    """rnnbench-reproduce runs a finished folder again where the run goes on (rnnbench/run_folder.py, continued): it
    was stopped by its time budget, kept its checkpoint, and the command differs from it only in a larger budget
    (or none)."""
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra/overrides.yaml").write_text("- dataset=jsb\n- seed=0\n- train.max_seconds=100\n")
    done = {"status": "ok", "stop_reason": "time budget of 100.0s reached", "config": {"train": {"max_seconds": 100.0}}}
    (tmp_path / "results.json").write_text(json.dumps(done))
    same = ["dataset=jsb", "seed=0"]
    assert not runs.continues(tmp_path, done, same + ["train.max_seconds=900"])  # no checkpoint: nothing to go on from
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    assert runs.continues(tmp_path, done, same + ["train.max_seconds=900"])
    assert runs.continues(tmp_path, done, same)  # no budget: to early stopping
    assert not runs.continues(tmp_path, done, same + ["train.max_seconds=100"])  # the same command: finished
    assert not runs.continues(tmp_path, done, same + ["train.max_seconds=50"])
    assert not runs.continues(tmp_path, done, ["dataset=jsb", "seed=1", "train.max_seconds=900"])  # another run
    patience = {**done, "stop_reason": "no improvement for 20 epochs"}
    assert not runs.continues(tmp_path, patience, same + ["train.max_seconds=900"])


def test_cells_not_below_the_strongest_floor_are_marked():
    """A seed whose test NLL is not below the column's lowest trivial floor is named beside the cell, and so is a
    mean that is not (issue 31 item 5: such a cell has not learned the music); other columns' floors do not count."""
    floors = [dict(name="note frequency", column="piano-midi", value=11.052), dict(name="copy previous", column="piano-midi", value=8.272),
              dict(name="copy previous", column="jsb", value=10.49)]
    line = lambda col, values: dict(row="rnn", column=col, values=values, mean=sum(values.values()) / len(values), other=[])
    lines = [line("piano-midi", {"seed-0": 12.42, "seed-1": 7.678, "seed-2": 7.766}),
             line("piano-midi", {"seed-0": 7.7, "seed-1": 8.272}), line("jsb", {"seed-0": 8.7}),
             dict(row="rnn", column="piano-midi", values={}, mean=None, other=["diverged"])]
    cells.flag_floors(lines, floors)
    assert lines[0]["other"] == ["seed-0 ≥ copy previous floor 8.272", "mean ≥ copy previous floor 8.272"]
    assert lines[1]["other"] == ["seed-1 ≥ copy previous floor 8.272"]  # equal is not below; the mean 7.986 is
    assert lines[2]["other"] == [] and lines[3]["other"] == ["diverged"]


def test_test_curves_are_tabulated_per_epoch(tmp_path):
    table = TABLES["003-sentiment"]
    for name, values in [("lstm-none", [0.20, 0.18, 0.19]), ("gru-variational", [0.21, 0.17])]:
        d = tmp_path / "003-sentiment" / name / "sentiment" / "seed-0"
        d.mkdir(parents=True)
        rows = ["epoch,lr,train_mse,test_rmse,epoch_s"] + [f"{i},0.001,0.5,{v},1.0" for i, v in enumerate(values, 1)]
        (d / "metrics.csv").write_text("\n".join(rows) + "\n")
    text = cells.curves(table, False, [tmp_path])
    assert "| epoch | lstm-none / seed-0 | gru-variational / seed-0 |" in text
    assert "| 2 | 0.1800 | 0.1700 |" in text and "| 3 | 0.1900 |  |" in text
    later = tmp_path / "later" / "003-sentiment" / "lstm-none" / "sentiment" / "seed-0"  # the cell measured again
    later.mkdir(parents=True)
    (later / "metrics.csv").write_text("epoch,lr,train_mse,test_rmse,epoch_s\n1,0.001,0.5,0.3,1.0\n")
    text = cells.curves(table, False, [tmp_path, tmp_path / "later"])  # lstm-none from the later root, whole
    assert "| 1 | 0.3000 | 0.2100 |" in text and "| 2 |  | 0.1700 |" in text and "0.1800" not in text
    mc = tmp_path / "mc" / "003-sentiment" / "gru-variational" / "sentiment" / "seed-0"  # eval.mc_curve: both curves
    mc.mkdir(parents=True)
    (mc / "metrics.csv").write_text("epoch,lr,train_mse,test_rmse,test_rmse_mc,epoch_s\n1,0.001,0.5,0.22,0.2,1.0\n")
    text = cells.curves(table, False, [tmp_path / "mc"])
    assert "| epoch | gru-variational / seed-0 | gru-variational / seed-0 (MC) |" in text and "| 1 | 0.2200 | 0.2000 |" in text


@pytest.mark.slow
def test_search_rows_run_as_populations_and_select_by_validation(monkeypatch, capsys, tmp_path):
    tiny = Table("tiny", "a tiny search", "test_nll", ("synthetic",), (
        Row("fd", ("dataset={col}",), {"synthetic": 30.0}, "made up",
            search=("dataset={col}", "regulariser=fd", "train=debug", *LEARNS, "device=cpu", "search=random",
                    "search.n=3", "search.space.model.hidden=[32]", "search.space.optim.lr=[0.01]",
                    "search.space.model.init.var_in=[0.3]", "search.space.model.init.sparsity=[null]")),))
    monkeypatch.setitem(TABLES, "tiny", tiny)
    monkeypatch.setattr(runs, "PROGRESS_EVERY_S", 0.05)
    assert cli.main(["tiny", "--search", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out  # while it runs: a line whenever the search has moved, validation only
    said = [line for line in out.splitlines() if "members finished" in line]
    assert said and all(line.startswith("[1/1] fd / synthetic / seed 0: ") and "test" not in line for line in said)
    counts = [int(line.split(": ")[1].split(" of ")[0]) for line in said]
    assert counts == sorted(counts) and len(set(said)) == len(said)  # said when it has moved, never twice
    folder = tmp_path / "tiny/fd-search/synthetic/seed-0"
    members = [json.loads(p.read_text()) for p in sorted(folder.glob("members/*/results.json"))]
    assert len(members) == 3 and all(m["status"] in ENDED for m in members)
    best = min((m for m in members if m["status"] == "ok"), key=lambda m: m["valid_nll"])
    report = (tmp_path / "tiny/reproduction-search.md").read_text()
    assert "Random search (best validation per seed)" in report
    assert f"| fd | synthetic | {best['test_nll']:.3f} (1) |" in report  # the best-validation member
    wall = json.loads((folder / "population.json").read_text())["wall_s"]
    assert f"| {wall:.0f} |" in report  # the whole search's time
    assert cli.main(["tiny", "--search", "--out", str(tmp_path)]) == 0  # again: the search is not run twice
    assert "finished before (ok)" in capsys.readouterr().out


def test_a_search_counts_only_when_its_command_finished(tmp_path):
    """A search folder's cell: the best-validation member once the search's command ended (population.json, no
    group interrupted), with the search's wall time; before that (killed: no population.json; interrupted: a
    group recorded so) it is running, no number is reported, and its time is the members' training so far."""
    folder = tmp_path / "seed-0"
    (folder / "members" / "000").mkdir(parents=True)  # its first group trains
    assert cells.ended_by(cells.selected(folder)) == "running (0 of ? members)"
    for k, (status, valid, wall) in enumerate([("ok", 8.2, 100.0), ("ok", 8.1, 200.0), ("diverged", None, 50.0)]):
        (folder / "members" / f"{k:03d}").mkdir(parents=True, exist_ok=True)
        (folder / "members" / f"{k:03d}" / "results.json").write_text(json.dumps(
            {"status": status, "valid_nll": valid, "test_nll": valid and valid + 0.5, "wall_s": wall}))
    killed = cells.selected(folder)
    assert killed["status"] == "running" and killed["wall_s"] == 350.0 and killed["test_nll"] == 8.6
    assert cells.ended_by(killed) == "running (3 of ? members)"  # members copied in: search.n not recorded
    (folder / "population.json").write_text(json.dumps({"n_members": 5, "wall_s": 90.0, "groups": [{"ended": "interrupted"}]}))
    assert cells.ended_by(cells.selected(folder)) == "running (3 of 5 members)"  # an earlier invocation's record
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "config.yaml").write_text("search:\n  name: random\n  n: 4\n")
    assert cells.ended_by(cells.selected(folder)) == "running (3 of 4 members)"
    groups = [{"ended": "finished"}, {"ended": "interrupted"}]
    (folder / "population.json").write_text(json.dumps({"wall_s": 180.0, "groups": groups}))
    assert cells.selected(folder)["status"] == "running" and cells.selected(folder)["wall_s"] == 350.0
    (folder / "population.json").write_text(json.dumps({"wall_s": 240.0, "groups": [{"ended": "finished"}] * 2}))
    finished = cells.selected(folder)
    assert finished["status"] == "ok" and finished["wall_s"] == 240.0 and finished["search_members"] == 3


def test_002_table_6_search_is_the_open_uniform_space():
    from rnnbench.population.search import expand

    rows = {r.name: r for r in TABLES["002-t6"].rows}
    cfg = compose_cfg(*[o.replace("{col}", "jsb") for o in rows["fd-lstm"].search], "search.n=20")
    members, draws = expand(cfg)
    assert len(members) == 20 and all(m.model.name == "lstm" and m.regulariser.name == "fd" for m in members)
    assert all(100 <= d["model.hidden"] <= 300 and "model.init.rho" not in d for d in draws)
    assert all(m.model.init.rho is None for m in members)
    assert all(1e-4 <= d["optim.lr"] <= 0.1 and 0.1 <= d["optim.decay"] <= 0.99 for d in draws)
    assert all(0.01 <= d["regulariser.recurrent.rate"] <= 0.5 for d in draws)
    srnn = compose_cfg(*[o.replace("{col}", "jsb") for o in rows["srnn"].search])
    _, draws = expand(srnn)
    assert srnn.search.n == 64 and all(200 <= d["model.hidden"] <= 600 and 0.8 <= d["model.init.rho"] <= 4 for d in draws)
    assert not any(k.startswith("regulariser.") and k.endswith(".rate") for k in draws[0])  # no noise, no rates
    # the FD-RNN row under the authors' reading: the paper-reading row's draws, trained under protocol=breze
    paper, breze = (compose_cfg(*[o.replace("{col}", "jsb") for o in rows[r].search], "search.n=8")
                    for r in ("fd-rnn", "fd-rnn-breze"))
    (_, paper_draws), (members, breze_draws) = expand(paper), expand(breze)
    assert breze_draws == paper_draws
    assert all(m.protocol == "breze" and m.train.batches.name == "rows" and m.regulariser.name == "fd" for m in members)


def test_002_table_13_search_draws_128_storns_around_the_preset_each_trained_alone():
    """002 ch. 4 searched STORN with 128 runs per set (space not reported): 002 Table 1's ranges around each set's
    preset, 300 units in both nets (§4.4.1), W_out's variance drawn with W_rec's; every member a group of one."""
    from rnnbench.population.search import expand, groups

    [row] = [r for r in TABLES["002-t13"].rows if r.name == "storn"]
    cfg = compose_cfg(*[o.replace("{col}", "nottingham") for o in row.search])
    members, draws = expand(cfg)
    assert len(members) == 128 and all(m.model.name == "storn" and m.dataset.name == "nottingham" for m in members)
    assert all(m.model.hidden == 300 and m.model.storn.recognition_hidden == 300 for m in members)
    assert all(m.model.init.var_out == d["model.init.var_rec"] for m, d in zip(members, draws))
    assert len({d["optim.lr"] for d in draws}) > 1 and len({d["regulariser.recurrent.rate"] for d in draws}) > 1
    assert groups(members, max_members=128) == [[i] for i in range(128)]
    assert [r.name for r in TABLES["002-t13"].rows if r.search] == ["storn"]


def test_overrides_may_follow_the_options():
    from rnnbench.tools.reproduce.cli import parse_args

    args = parse_args(["000-t1", "--rows", "fd-rnn", "model.init.sparse_io=false", "--seeds", "3", "device=cpu"])
    assert args.table == "000-t1" and args.rows == "fd-rnn" and args.seeds == 3
    assert args.overrides == ["model.init.sparse_io=false", "device=cpu"]


def test_a_preset_run_ends_next_to_its_published_number():
    # issue 33: the last line of a preset's run says what the paper published for its cell
    from rnnbench.cli import published_text
    from rnnbench.tools.reproduce.tables import published_cell

    ok = {"status": "ok", "test_metric": "test_nll", "test_nll": 8.0503}
    assert published_text("fdrnn-jsb", "jsb", ok) == "test NLL 8.050 | published 8.01 (000 Table 1 / Table 3) | +0.5%"
    assert published_cell("srnn-jsb", "jsb")[0] == 8.58 and published_cell("zaremba-medium", "ptb")[0] == 82.7
    assert published_text("fdrnn-jsb", "jsb", {**ok, "status": "diverged"}) is None  # only an ok run is compared
    assert published_text("rnn-do", "jsb", ok) is None and published_text(None, "jsb", ok) is None  # no such cell


@pytest.mark.slow
def test_sigterm_to_rnnbench_reproduce_stops_its_run_as_the_run_would_stop_alone(tmp_path):
    """SIGTERM to rnnbench-reproduce (a `kill`, a scheduler) is passed on to the rnnbench it runs, which stops as it
    would alone: one line saying so and that the same command resumes, its group's checkpoint kept, the search's
    record written with the group interrupted; then rnnbench-reproduce stops too (Terminated: exit 143)."""
    from rnnbench.errors import Terminated, stop_on_sigterm

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "rnnbench.cli", "dataset=synthetic", "model.hidden=8", "device=cpu", "train.progress=false",
           "search=random", "search.n=2", "search.space.model.hidden=[8]", "train.max_epochs=100000",
           "train.patience=100000", "train.diverge_factor=null", f"data.root={tmp_path / 'data'}", f"hydra.run.dir={run}"]

    def terminate_once_checkpointed():
        deadline = time.time() + 120
        while time.time() < deadline and not (run / "members" / "000" / "checkpoint.pt").exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    stop_on_sigterm()
    threading.Thread(target=terminate_once_checkpointed, daemon=True).start()
    try:
        with open(tmp_path / "out.log", "w") as out, pytest.raises(Terminated):
            runs._run_child(cmd, out)
    finally:
        signal.signal(signal.SIGTERM, previous)
    log = (tmp_path / "out.log").read_text()
    assert "Traceback" not in log
    assert (f"rnnbench: stopped by SIGTERM; {run}/members hold the checkpoints of its unfinished groups: run the same "
            "command (same hydra.run.dir) to resume them") in log
    record = json.loads((run / "population.json").read_text())
    assert [g["ended"] for g in record["groups"]] == ["interrupted"] and (run / "members" / "000" / "checkpoint.pt").is_file()
