"""Figures (rnnbench/tools/report/plots.py): what is drawn, not only that a file exists."""
import json

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from rnnbench.tools.report.cli import main as report
from rnnbench.tools.report.plots import learning_curves, plot_runs, published_bars, spectral_radius
from rnnbench.tools.report.table import collect, seed_groups


def _run(root, name, reg, seed, valid, train, rho=None, dataset="jsb", metric="nll", mc=None):
    d = root / name
    d.mkdir(parents=True)
    sel, test = (f"valid_{metric}", f"test_{metric}") if metric != "rmse" else ("train_rmse", "test_rmse")
    (d / "results.json").write_text(json.dumps({
        "dataset": dataset, "model": "srnn", "regulariser": reg, "status": "ok", "selection_metric": sel,
        "test_metric": test, sel: min(valid), test: min(valid) + 0.1, "config": {"seed": seed, "regulariser": reg}}))
    if metric == "rmse" and mc:
        header, rows = "epoch,lr,train_mse,test_rmse,test_rmse_mc,epoch_s", [
            f"{i},0.001,{t},{v},{m},1" for i, (v, t, m) in enumerate(zip(valid, train, mc), 1)]
    elif metric == "rmse":
        header, rows = "epoch,lr,train_mse,test_rmse,epoch_s", [f"{i},0.001,{t},{v},1" for i, (v, t) in
                                                                  enumerate(zip(valid, train), 1)]
    else:
        header = "epoch,lr,train_nll,grad_norm,valid_nll,valid_nll_seq_mean,best_valid_nll,spectral_radius,epoch_s"
        rows = [f"{i},0.001,{t},1,{v},{v},{v},{r if r is not None else ''},1"
                for i, (v, t, r) in enumerate(zip(valid, train, rho or [None] * len(valid)), 1)]
    (d / "metrics.csv").write_text("\n".join([header, *rows]) + "\n")


@pytest.fixture
def music(tmp_path):
    root = tmp_path / "runs"
    _run(root, "fd0", "fd", 0, [11.0, 9.0, 8.6], [12.0, 9.5, 8.2], rho=[1.2, 3.0, 4.0])
    _run(root, "fd1", "fd", 1, [11.2, 9.2, 8.8], [12.2, 9.7, 8.4], rho=[1.2, 5.0, 6.0])
    _run(root, "none0", "none", 0, [11.5, 10.0], [12.5, 10.5], rho=[1.2, 9.0])
    runs, _ = collect([root])
    return runs, seed_groups(runs), tmp_path / "figs"


def test_learning_curves_pool_seeds_and_label_their_axes(music):
    runs, chosen, out = music
    fig, paths = learning_curves(chosen, runs, "jsb", "test_nll", out)
    assert [p.name for p in paths] == ["curves-jsb.png", "curves-jsb.pdf"] and all(p.stat().st_size for p in paths)
    train, valid = fig.axes
    assert (train.get_title(), valid.get_title()) == ("jsb: training", "jsb: validation")
    assert valid.get_xlabel() == "epoch" and valid.get_ylabel() == "NLL (nats per frame)"
    assert len(valid.lines) == 2  # one line per model / regulariser, seeds pooled
    fd = {line.get_label(): line for line in valid.lines}["srnn / fd (2 seeds)"]
    assert np.allclose(fd.get_xdata(), [1, 2, 3]) and np.allclose(fd.get_ydata(), [11.1, 9.1, 8.7])
    assert [t.get_text() for t in valid.get_legend().get_texts()] == ["srnn / fd (2 seeds)", "srnn / none (1 seed)"]
    assert valid.get_yscale() == "log"


def test_spectral_radius_per_epoch(music):
    runs, chosen, out = music
    fig, _ = spectral_radius(chosen, runs, "jsb", out)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "ρ(W_rec)" and ax.get_xlabel() == "epoch"
    lines = {line.get_label(): line.get_ydata() for line in ax.lines}
    assert np.allclose(lines["srnn / fd"], [1.2, 4.0, 5.0]) and np.allclose(lines["srnn / none"], [1.2, 9.0])


def test_sentiment_curves_have_the_test_rmse(tmp_path):
    root = tmp_path / "runs"
    _run(root, "v", "variational", 0, [0.20, 0.17, 0.16], [0.9, 0.6, 0.5], dataset="sentiment", metric="rmse")
    runs, _ = collect([root])
    fig, _ = learning_curves(seed_groups(runs), runs, "sentiment", "test_rmse", tmp_path / "f")
    train, test = fig.axes
    assert test.get_title() == "sentiment: test RMSE" and test.get_ylabel() == "RMSE ([0, 1] rating scale)"
    assert train.get_ylabel() == "MSE (standardised targets)" and test.get_yscale() == "linear"
    assert np.allclose(test.lines[0].get_ydata(), [0.20, 0.17, 0.16]) and len(test.lines) == 1


def test_sentiment_curves_draw_the_mc_curve_where_the_runs_logged_it(tmp_path):
    root = tmp_path / "runs"
    for seed, mc in ((0, [0.19, 0.16, 0.15]), (1, [0.21, 0.16, 0.13])):
        _run(root, f"v{seed}", "variational", seed, [0.20, 0.17, 0.16], [0.9, 0.6, 0.5], dataset="sentiment",
             metric="rmse", mc=mc)
    _run(root, "n", "none", 0, [0.20, 0.18, 0.19], [0.8, 0.4, 0.2], dataset="sentiment", metric="rmse")
    runs, _ = collect([root])
    fig, _ = learning_curves(seed_groups(runs), runs, "sentiment", "test_rmse", tmp_path / "f")
    train, test = fig.axes
    lines = {line.get_label(): line for line in test.lines}
    assert sorted(lines) == ["srnn / none (1 seed)", "srnn / variational (2 seeds)", "srnn / variational (2 seeds), MC"]
    mc, det = lines["srnn / variational (2 seeds), MC"], lines["srnn / variational (2 seeds)"]
    assert np.allclose(mc.get_ydata(), [0.20, 0.16, 0.14])  # the seeds' mean
    assert mc.get_linestyle() == ":" and mc.get_color() == det.get_color()
    assert len(train.lines) == 2  # the training panel has no MC curve


def test_published_bars_show_ours_the_paper_the_floors_and_what_failed(tmp_path):
    lines = [dict(row="fd-rnn", column="jsb", mean=8.49, std=0.04, published=8.01, other=[]),
             dict(row="fd-rnn", column="piano-midi", mean=None, std=None, published=7.39,
                  other=["diverged", "failed", "diverged"]),
             dict(row="srnn", column="jsb", mean=None, std=None, published=8.58, other=[])]
    floors = [dict(name="note frequency", column="jsb", value=11.09)]
    fig, paths = published_bars(lines, floors, "000 Table 1: presets", "test NLL (nats per frame)", tmp_path,
                                "reproduction")
    ax = fig.axes[0]
    ours = [c for c in ax.containers]  # errorbar containers: one per row with a number of ours
    assert len(ours) == 1 and ours[0].lines[0].get_ydata()[0] == pytest.approx(8.49)
    published = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections if isinstance(c, PathCollection)])
    assert sorted(published[~np.isnan(published)]) == pytest.approx([7.39, 8.01, 8.58])
    texts = [t.get_text() for t in ax.texts]
    assert "diverged ×2, failed" in texts and "not run" in texts and "note frequency" in texts  # the runs counted
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["fd-rnn", "published", "trivial floors"]  # no entry for srnn: it has no number
    assert [t.get_text() for t in ax.get_xticklabels()] == ["jsb", "piano-midi"]
    assert ax.get_ylabel() == "test NLL (nats per frame)" and paths[0].name == "reproduction.png"


def test_figures_are_fit_for_a_paper(music, tmp_path):
    """Issue 23 item 4: plain numbers on log axes, TrueType (Type 42) fonts in the PDF, a double-column width,
    every line distinct, an axis that starts near the data (116 against 114.5 shows), distinct titles."""
    from rnnbench.tools.figures import DOUBLE, SINGLE, styles

    runs, chosen, out = music
    fig, paths = learning_curves(chosen, runs, "jsb", "test_nll", out)
    assert fig.get_size_inches()[0] == pytest.approx(DOUBLE)
    fig.canvas.draw()
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert labels and all("times" not in t and "^" not in t and "×" not in t for t in labels), labels
        assert all(float(t.replace("\u2212", "-")) > 0 for t in labels)  # plain numbers
    pdf = paths[1].read_bytes()
    assert b"/Type3" not in pdf and (b"/TrueType" in pdf or b"/CIDFontType2" in pdf)
    fig, _ = spectral_radius(chosen, runs, "jsb", out)
    assert fig.get_size_inches()[0] == pytest.approx(SINGLE)
    looks = [(s["color"], s["linestyle"], s["marker"]) for s in styles(11)]
    assert len(set(looks)) == 11  # 11 lines on an 8-colour palette still differ
    lines = [dict(row="zaremba-small", column="ptb", mean=116.0, std=0.5, published=114.5, other=[])]
    fig, _ = published_bars(lines, [], "Zaremba et al. (2014) small: presets", "test perplexity", tmp_path, "z")
    low, high = fig.axes[0].get_ylim()
    assert 100 < low < 114.5 and 116.5 < high < 125  # near the data, not from 0
    a, _ = published_bars(lines, [], "000 Table 1: presets", "NLL", tmp_path, "a")
    b, _ = published_bars(lines, [], "000 Table 1: random search, best validation per seed", "NLL", tmp_path, "b")
    assert a.axes[0].get_title() != b.axes[0].get_title()


def test_report_plot_option_writes_every_figure(music, capsys):
    runs, _, out = music
    root = out.parent / "runs"

    assert report([str(root), "--plot", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["curves-jsb.pdf", "curves-jsb.png", "spectral-radius-jsb.pdf", "spectral-radius-jsb.png"]
    assert "4 figure files written" in capsys.readouterr().err


def test_a_monte_carlo_row_draws_no_second_curve(music):
    runs, _, out = music
    root = out.parent / "runs"
    r = json.loads((root / "fd0" / "results.json").read_text())
    (root / "fd0" / "results.json").write_text(json.dumps({**r, "test_nll_mc": 8.5}))  # an MC row in the table
    runs, _ = collect([root])
    chosen = seed_groups(runs)
    assert "fd (MC)" in set(chosen["regulariser"])
    fig, _ = learning_curves(chosen, runs, "jsb", "test_nll", out)
    assert sorted(line.get_label() for line in fig.axes[1].lines) == ["srnn / fd (2 seeds)", "srnn / none (1 seed)"]
    fig, _ = spectral_radius(chosen, runs, "jsb", out)
    assert len(fig.axes[0].lines) == 2


def test_a_run_that_did_not_end_ok_is_drawn_and_marked(tmp_path, capsys):
    # issue 33: the curves of every run read, a run that is not ok dashed with its status in the legend; issue 32:
    # a run without a curve is named, and a --plot that drew nothing exits 1
    run = tmp_path / "runs" / "blown"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps({"dataset": "jsb", "model": "srnn", "regulariser": "none",
                                                  "status": "diverged", "valid_nll": 30.0, "test_nll": 31.0}))
    (run / "metrics.csv").write_text("epoch,train_nll,valid_nll\n1,20.0,21.0\n2,25.0,30.0\n")
    out = tmp_path / "fig"
    assert report([str(tmp_path / "runs"), "--plot", str(out)]) == 0
    assert (out / "curves-jsb.png").is_file()
    from rnnbench.tools.report.plots import learning_curves
    from rnnbench.tools.report.table import collect, seed_groups

    runs, _ = collect([tmp_path / "runs"])
    fig, _ = learning_curves(seed_groups(runs), runs, "jsb", "test_nll", tmp_path / "again")
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["srnn / none: diverged (blown)"]
    (run / "metrics.csv").unlink()
    capsys.readouterr()
    assert report([str(tmp_path / "runs"), "--plot", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert f"no curve for {run} (no metrics.csv)" in err and "no figure drawn" in err
