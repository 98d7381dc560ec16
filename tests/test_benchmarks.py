"""The benchmark helpers: the commit a figure names, and the GPU summary's reading of its stages."""
import json

import pytest

from benchmarks import gpu_summary
from rnnbench import runtime


def test_commit_named_by_the_environment_wins(monkeypatch):
    # a copy of the checkout without .git (benchmarks/gpu.sh on a GPU machine) names its commit so
    runtime.git_commit.cache_clear()
    monkeypatch.setenv("RNNBENCH_COMMIT", "abc123def456")
    try:
        assert runtime.git_commit() == "abc123def456"
    finally:
        runtime.git_commit.cache_clear()


def _engine(out, ptb_ratio, fd_plain, speedup):
    results = {
        "Training step per cell and regulariser vs torch.nn": [
            {"cell": "srnn", "variant": "rnnbench none", "vs_plain": 1.0},
            {"cell": "srnn", "variant": "rnnbench fd", "vs_plain": fd_plain}],
        "PTB-medium shape (2 x 650, batch 20, 35 steps, 10k words)": [
            {"cell": "lstm", "variant": "rnnbench variational-untied-medium", "vs_torch": ptb_ratio}],
        "Population of JSB sRNNs: one update of P members vs P sequential updates": [
            {"members": 8, "speedup": 5.0}, {"members": 32, "speedup": speedup}]}
    (out / "engine-cuda.json").write_text(json.dumps({"results": results}))


def test_gpu_summary_checks_each_target_and_reports_missing_figures(tmp_path):
    _engine(tmp_path, ptb_ratio=0.9, fd_plain=0.5, speedup=12.0)   # FD step 2x plain: met
    (tmp_path / "stages.txt").write_text("engine rc=0 s=40\nptb-medium rc=124 s=110\n")
    summary = gpu_summary.measure(tmp_path)
    met = {t["what"]: (t["measured"], t["met"]) for t in summary["targets"]}
    assert met["variational LSTM / cuDNN plain LSTM throughput (PTB medium shape)"] == (0.9, True)
    assert met["FD-sRNN step time / plain sRNN step time (music shape)"] == (pytest.approx(2.0), True)
    assert met["population of 32 vs 32 sequential updates (speed-up)"] == (12.0, True)
    # the PTB stage timed out: its figure is missing, not guessed
    assert met["PTB medium words/s over one training epoch (variational, tied)"] == (None, None)
    assert summary["stages"]["ptb-medium"] == "rc=124 s=110"
    assert "missing" in gpu_summary.markdown(summary)


def test_gpu_summary_marks_a_missed_target(tmp_path):
    _engine(tmp_path, ptb_ratio=0.5, fd_plain=0.25, speedup=3.0)
    targets = {t["what"]: t["met"] for t in gpu_summary.measure(tmp_path)["targets"]}
    assert targets["variational LSTM / cuDNN plain LSTM throughput (PTB medium shape)"] is False
    assert targets["FD-sRNN step time / plain sRNN step time (music shape)"] is False
    assert targets["population of 32 vs 32 sequential updates (speed-up)"] is False


@pytest.mark.slow
def test_regulariser_step_with_fuse_times_both_sides_into_its_own_files(tmp_path, monkeypatch):
    from benchmarks import regulariser_step

    monkeypatch.setattr("sys.argv", ["regulariser_step", "--device", "cpu", "--cells", "srnn", "--regularisers",
                                     "none,fd", "--batch", "2", "--steps", "3", "--hidden", "4", "--warmup", "1",
                                     "--repeats", "1", "--fuse", "--out", str(tmp_path)])
    regulariser_step.main()
    rows = json.loads((tmp_path / "regulariser_step-fuse-cpu.json").read_text())["results"]
    assert [(r["cell"], r["regulariser"]) for r in rows] == [("srnn", "none"), ("srnn", "fd")]
    assert all(r["ms"] > 0 and r["fused_ms"] > 0 and r["fused_speedup"] == pytest.approx(r["ms"] / r["fused_ms"])
               for r in rows)
    assert "| srnn | fd |" in (tmp_path / "regulariser_step-fuse-cpu.md").read_text()
    assert not (tmp_path / "regulariser_step-cpu.json").exists()  # the eager table is not overwritten


def test_time_alternately_calls_the_ways_in_turn_and_times_only_after_warmup(monkeypatch):
    from benchmarks import common
    import torch

    calls, clock = [], iter(range(1000))
    monkeypatch.setattr(common.time, "perf_counter", lambda: float(next(clock)))
    ways = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    medians = common.time_alternately(ways, torch.device("cpu"), warmup=2, repeats=3)
    assert calls == ["a", "b"] * 5  # every pass calls each way once, in turn
    assert list(medians) == ["a", "b"]
    assert medians == {"a": 1.0, "b": 1.0}  # each timed call reads the clock twice, one tick apart


def test_measure_alternately_gives_median_and_quartiles_of_each_ways_timed_calls(monkeypatch):
    from benchmarks import common
    import torch

    # each call moves a fake clock on: way "a" by 100 on its warm-up pass, then 1, 2, 3, 4, 5; "b" always by 10
    clock = {"now": 0.0}
    steps = {"a": iter([100, 1, 2, 3, 4, 5]), "b": iter([10] * 6)}

    def way(name):
        return lambda: clock.__setitem__("now", clock["now"] + next(steps[name]))

    monkeypatch.setattr(common.time, "perf_counter", lambda: clock["now"])
    t = common.measure_alternately({"a": way("a"), "b": way("b")}, torch.device("cpu"), warmup=1, repeats=5)
    assert (t["a"].median, t["a"].q1, t["a"].q3) == (3.0, 2.0, 4.0)  # the warm-up's 100 is not among them
    assert (t["b"].median, t["b"].q1, t["b"].q3) == (10.0, 10.0, 10.0)
    assert t["a"].peak_mib is None  # peak memory is measured on a GPU only
    assert t["a"].ms() == "3000.00 (2000.00–4000.00)"


def test_engine_benchmark_writes_each_rows_ratio_from_the_same_passes(tmp_path, monkeypatch):
    from benchmarks import engine

    monkeypatch.setattr("sys.argv", ["engine", "--device", "cpu", "--cells", "srnn", "--skip", "ptb", "--populations",
                                     "1,2", "--batch", "2", "--steps", "3", "--hidden", "4", "--warmup", "0",
                                     "--repeats", "3", "--out", str(tmp_path)])
    engine.main()
    results = json.loads((tmp_path / "engine-cpu.json").read_text())["results"]
    cells = results["Training step per cell and regulariser vs torch.nn"]
    assert [r["variant"] for r in cells] == ["torch.nn.RNN"] + [f"rnnbench {r}" for r in engine.REGULARISERS]
    none = cells[1]
    for r in cells:
        assert r["ms_q1"] <= r["ms"] <= r["ms_q3"]
        assert r["vs_torch"] == pytest.approx(cells[0]["ms"] / r["ms"])
        assert r["vs_plain"] == (None if r is cells[0] else pytest.approx(none["ms"] / r["ms"]))
    population = results["Population of JSB sRNNs: one update of P members vs P sequential updates"]
    assert [r["members"] for r in population] == [1, 2]
    for r in population:
        assert r["speedup"] == pytest.approx(r["ms_sequential"] / r["ms_population"])
    text = (tmp_path / "engine-cpu.md").read_text()
    assert "timed alternately" in text and f"| srnn | rnnbench none | {none['ms']:.2f} ({none['ms_q1']:.2f}–" in text
