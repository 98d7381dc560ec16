import json

import pytest

from rnnbench.tools.report.cli import main
from rnnbench.tools.report.table import best_runs, collect, pivot, render, seed_groups


def _fake_run(root, name, dataset, valid, test, model="srnn", reg="none", status="ok", config=None):
    d = root / name
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps({
        "dataset": dataset, "model": model, "regulariser": reg, "status": status,
        "valid_nll": valid, "test_nll": test, **({"config": config} if config else {})}))


def test_report_pools_seeds_of_one_configuration(tmp_path, capsys):
    # config A: three seeds; config B (another step rate): two seeds with a worse mean validation
    for seed, (valid, test) in enumerate([(8.7, 8.6), (8.8, 8.4), (8.9, 8.5)]):  # budgets and devices may differ
        _fake_run(tmp_path, f"a{seed}", "jsb", valid, test, config={
            "seed": seed, "optim": {"lr": 0.001}, "device": ["cpu", "cuda"][seed % 2],
            "train": {"patience": 20, "max_seconds": 600 * (seed + 1), "progress": seed == 0},
            "model": {"init": {"sparse_io": True} if seed else {}}})  # a key added later, at its default
    for seed, (valid, test) in enumerate([(8.6, 8.0), (9.4, 9.0)]):
        _fake_run(tmp_path, f"b{seed}", "jsb", valid, test, config={
            "seed": seed, "optim": {"lr": 0.01}, "train": {"patience": 20}, "model": {"init": {}}})
    _fake_run(tmp_path, "a3", "jsb", 8.0, 7.0, status="diverged", config={
        "seed": 3, "optim": {"lr": 0.001}, "train": {"patience": 20}, "model": {"init": {}}})
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.json").write_text("[1, 2]")  # a JSON list: named, not fatal
    [cell] = seed_groups(collect([tmp_path])[0]).itertuples()
    assert cell.runs == 3 and cell.test == pytest.approx(8.5) and cell.std == pytest.approx(0.1)
    assert main([str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "| srnn / none | 8.50 ± 0.10 (3) |" in captured.out  # B's single best seed (8.0) does not win
    assert "not ok: 1 diverged" in captured.out and "junk/results.json: not a JSON object" in captured.err
    assert main([str(tmp_path), "--pick", "best-valid"]) == 0
    assert "| srnn / none | 8.00 (5) |" in capsys.readouterr().out  # the papers' pick over all five runs


def test_report_picks_the_best_validation_run(tmp_path, capsys):
    _fake_run(tmp_path, "a", "jsb", valid=8.9, test=8.1)  # best test, worse validation
    _fake_run(tmp_path, "b", "jsb", valid=8.7, test=8.6)  # chosen: best validation
    _fake_run(tmp_path, "c", "jsb", valid=None, test=None, status="failed")
    assert main([str(tmp_path), "--pick", "best-valid"]) == 0
    out = capsys.readouterr().out
    assert "| srnn / none | 8.60 (2) |" in out and "8.10" not in out
    assert "3 runs read; not ok: 1 failed" in out
    assert f"runs of the cells:\n  srnn / none | jsb: {tmp_path / 'b'}\n" in out  # the run behind the cell


def test_report_formats_and_paper_rows(tmp_path, capsys):
    _fake_run(tmp_path, "a", "jsb", 8.7, 8.6)
    _fake_run(tmp_path, "b", "nottingham", 3.5, 3.4, model="lstm")
    best = best_runs(collect([tmp_path])[0])
    table = pivot(best, "test_nll", paper=True)
    assert list(table.columns) == ["piano-midi", "nottingham", "musedata", "jsb", "source"]
    rows = list(table.index)
    assert rows.index("paper: sRNN, plain") == rows.index("srnn / none") + 1  # next to ours
    assert table.loc["paper: FD-RNN", "jsb"] == (8.01, None, None)
    assert table.loc["paper: RNN-DOS (DropConnect, per sequence)", "source"] == "001 Table 1"
    csv = render(pivot(best, "test_nll", paper=False), "csv")
    assert csv.splitlines()[0] == "row,nottingham,nottingham runs,jsb,jsb runs,source"
    assert "srnn / none,,,8.6,1,rnnbench" in csv
    latex = render(pivot(best, "test_nll", paper=False), "latex")
    assert "\\begin{tabular}" in latex and "8.60 (1)" in latex


def test_report_errors(tmp_path, capsys, monkeypatch):
    from rnnbench.tools.report.cli import entry

    monkeypatch.setattr("sys.argv", ["rnnbench-report", str(tmp_path / "nope")])
    assert entry() == 2
    assert "rnnbench-report: error: no such folder" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 1
    assert "no results.json under" in capsys.readouterr().err
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "results.json").write_text("{truncated")
    _fake_run(tmp_path, "ok", "jsb", 8.7, 8.6)
    assert main([str(tmp_path)]) == 0
    assert "skipped " in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["markdown", "csv", "latex"])
def test_report_cli_formats(tmp_path, capsys, fmt):
    _fake_run(tmp_path, "a", "jsb", 8.7, 8.6)
    assert main([str(tmp_path), "--format", fmt, "--paper"]) == 0
    assert "8.58" in capsys.readouterr().out


def test_paper_rows_of_001_and_fd_sit_next_to_ours(tmp_path):
    labels = ["none", "fd", "l2", "noise-n", "noise-ns", "noise-mn", "noise-mns", "dropconnect-do", "dropconnect-dos", "noise-ff"]
    for i, reg in enumerate(labels):
        _fake_run(tmp_path, reg, "jsb", 8.9 - 0.01 * i, 8.8 - 0.01 * i, reg=reg)
    table = pivot(best_runs(collect([tmp_path])[0]), "test_nll", paper=True)
    rows = list(table.index)
    pairs = {"none": "sRNN, plain", "fd": "FD-RNN", "l2": "RNN-NBR (L1/L2)", "noise-n": "RNN-N (additive noise, per step)",
             "noise-ns": "RNN-NS (additive noise, per sequence)", "noise-mn": "RNN-MN (multiplicative, per step)",
             "noise-mns": "RNN-MNS (multiplicative, per sequence)", "dropconnect-do": "RNN-DO (DropConnect, per step)",
             "dropconnect-dos": "RNN-DOS (DropConnect, per sequence)", "noise-ff": "RNN-FF (feed-forward noise)"}
    for reg, paper_row in pairs.items():
        assert rows.index(f"paper: {paper_row}") == rows.index(f"srnn / {reg}") + 1, reg


def _fake(root, name, **fields):
    d = root / name
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps({"status": "ok", **fields}))


def test_perplexity_table_with_mc_rows_and_003_reference(tmp_path, capsys):
    for i, (valid, test, mc) in enumerate([(82.0, 79.9, 79.1), (81.0, 80.3, 79.5)]):
        _fake(tmp_path, f"v{i}", dataset="ptb", model="lstm-2x650", regulariser="variational-tied",
              selection_metric="valid_ppl", test_metric="test_ppl", valid_ppl=valid, test_ppl=test, test_ppl_mc=mc)
    _fake(tmp_path, "s", dataset="sentiment", model="lstm", regulariser="variational", selection_metric="train_rmse", train_rmse=0.1,
          test_metric="test_rmse", test_rmse=0.151)
    best = best_runs(collect([tmp_path])[0])
    ppl = pivot(best, "test_ppl", paper=True)
    rows = list(ppl.index)
    assert ppl.loc["lstm-2x650 / variational-tied", "ptb"] == (80.3, 2, None)  # the best-validation run
    assert ppl.loc["lstm-2x650 / variational-tied (MC)", "ptb"] == (79.5, 2, None)  # its MC evaluation
    assert rows.index("paper: Variational, tied (medium)") == rows.index("lstm-2x650 / variational-tied") + 1
    assert rows.index("paper: Variational, tied, MC (medium)") == rows.index("lstm-2x650 / variational-tied (MC)") + 1
    assert ppl.loc["paper: Zaremba et al. (large)", "ptb"] == (78.4, None, None)
    assert main([str(tmp_path), "--paper", "--pick", "best-valid"]) == 0
    out = capsys.readouterr().out
    assert "test_ppl (" in out and "test_rmse (" in out and "| lstm / variational | 0.15 (1)" in out


def test_runs_from_before_and_after_the_engine_pool():
    """Keys the engine added (dataset.task, train.checkpoint, train.checkpoint_every_s) and the logger
    do not split a configuration: a run from before them pools with one from after."""
    from rnnbench.tools.report.table import _config_key

    old = {"seed": 0, "dataset": {"name": "jsb", "file": "x"}, "train": {"patience": 20}, "optim": {"lr": 0.001}}
    new = {"seed": 1, "dataset": {"name": "jsb", "task": "music", "file": "x"}, "logger": {"name": "tensorboard"},
           "train": {"patience": 20, "checkpoint": True, "checkpoint_every_s": None}, "optim": {"lr": 0.001}}
    assert _config_key(old) == _config_key(new)
    assert _config_key(old) != _config_key({**new, "optim": {"lr": 0.01}})


def test_a_single_seed_is_shown_without_a_spread(tmp_path, capsys):
    """Issue 23: one run has no measured spread: 'value (1)', never '± 0.00'; the csv leaves its std empty."""
    _fake_run(tmp_path, "a", "jsb", 8.7, 8.6)
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| srnn / none | 8.60 (1) |" in out and "±" not in out.split("| srnn / none |")[1].splitlines()[0]
    assert main([str(tmp_path), "--format", "csv"]) == 0
    assert "srnn / none,8.6,1,rnnbench" in capsys.readouterr().out
