"""Bad input gets one clear line and exit code 2, no traceback, and nothing that exists is lost."""
import io
import json
import os
import pickle
import re

import pytest
import torch

from rnnbench.config import check_common
from rnnbench.data.fetch import data_root
from rnnbench.errors import ConfigError, DataError, RnnbenchError
from rnnbench.tools.sample import load_run
from rnnbench.train import train
from tests.conftest import compose_cfg, run_cli

QUICK = ["dataset=synthetic", "train=debug", "model.hidden=8", "device=cpu", "train.progress=false"]


@pytest.mark.parametrize("override, message", [
    ("train.clip=-1", "train.clip=-1.0 is not valid: train.clip must be a finite number > 0 (or null): a negative "
                      "threshold would turn descent into ascent"),
    ("train.patience=-3", "train.patience=-3 is not valid: train.patience must be a whole number >= 1"),
    ("train.max_epochs=0", "train.max_epochs=0 is not valid: train.max_epochs must be a whole number in [1, 1000000]"),
    ("population.size=0", "population.size=0 is not valid: population.size must be a whole number in [1, 10000]"),
    ("train.diverge_factor=0.5", "train.diverge_factor=0.5 is not valid: train.diverge_factor must be a finite number > 1"),
    ("eval.mc_samples=-2", "eval.mc_samples=-2 is not valid: eval.mc_samples must be a whole number in [0, 10000]"),
])
def test_out_of_range_settings_are_refused(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_common(compose_cfg(*QUICK, override))


@pytest.mark.slow
def test_a_finished_run_is_never_clobbered(tmp_path):
    run = tmp_path / "run"
    first = run_cli([*QUICK, f"hydra.run.dir={run}"], tmp_path)
    assert first.returncode == 0, first.stderr
    before = (run / "results.json").read_bytes()
    for extra in ([], ["train.clip=-1"]):  # the same command again; a bad override into the same folder
        again = run_cli([*QUICK, *extra, f"hydra.run.dir={run}"], tmp_path)
        assert again.returncode == 2 and "Traceback" not in again.stderr
        status = json.loads(before)["status"]
        expected = "train.clip=-1.0 is not valid" if extra else f"{run} already holds a finished run (status {status}); nothing was changed"
        assert expected in again.stderr
        assert (run / "results.json").read_bytes() == before
    bad = run_cli([*QUICK, "train.clip=-1", f"hydra.run.dir={tmp_path / 'other'}"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("rnnbench: error: train.clip=-1.0 is not valid")
    assert "Traceback" not in bad.stderr


@pytest.fixture
def run_dir(quick_cfg, tmp_path):
    d = tmp_path / "run"
    train(quick_cfg(), d)
    return d


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_broken_checkpoints_are_named_not_loaded(run_dir):
    weights = run_dir / "best.pt"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(RnnbenchError, match="best.pt is not a readable rnnbench checkpoint") as e:
        load_run(run_dir)
    assert "weights_only=False" not in str(e.value)
    weights.write_bytes(pickle.dumps(Payload()))  # a pickle that would run code
    with pytest.raises(RnnbenchError, match="is truncated, corrupt, or holds more than tensors") as e:
        load_run(run_dir)
    assert "weights_only" not in str(e.value)
    state = torch.load(io.BytesIO(good), weights_only=True)
    state["core.w_rec"] = torch.zeros(3, 3)  # the wrong shape
    torch.save(state, weights)
    with pytest.raises(RnnbenchError, match="does not fit the model of .*results.json.*core.w_rec"):
        load_run(run_dir)
    (run_dir / "results.json").write_text("[]")
    with pytest.raises(RnnbenchError, match="is not an rnnbench results file with a 'config'"):
        load_run(run_dir)


def test_eval_refuses_bad_sample_counts(run_dir, capsys, monkeypatch):
    from rnnbench.tools.evaluate import entry

    for args, message in [(["--mc-samples", "-1"], "--mc-samples must be >= 0 (0: deterministic) and <= 10000, got -1"),
                          (["--is-samples", "10,x"], "--is-samples takes comma-separated whole numbers"),
                          (["--is-samples", "0,10"], "--is-samples values must be >= 1, got 0,10")]:
        monkeypatch.setattr("sys.argv", ["rnnbench-eval", str(run_dir), *args])
        assert entry() == 2
        err = capsys.readouterr().err
        assert err.startswith(f"rnnbench-eval: error: {message}") and len(err.splitlines()) == 1


def test_a_data_root_that_is_a_file(tmp_path):
    f = tmp_path / "root.txt"
    f.write_text("not a folder")
    with pytest.raises(DataError, match="is a file, not a folder; set data.root="):
        data_root(f)


def test_an_output_folder_that_cannot_be_written(tmp_path):
    bad = run_cli([*QUICK, "hydra.run.dir=/proc/rnnbench-cannot-write"], tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == ("rnnbench: error: cannot write the output folder /proc/rnnbench-cannot-write "
                                  "(No such file or directory); run from a writable folder or point hydra.run.dir=... "
                                  "to one")
    assert run_cli(["--help"], tmp_path).returncode == 0 and not (tmp_path / "outputs").exists()


def test_the_report_names_results_without_a_status(tmp_path, capsys):
    from rnnbench.tools.report.cli import main as report

    for name, body in [("good", {"status": "ok", "dataset": "jsb", "model": "srnn", "regulariser": "none",
                                 "valid_nll": 8.7, "test_nll": 8.6}),
                       ("null", {"status": None, "dataset": "jsb", "valid_nll": 1.0, "test_nll": 1.0})]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(body))
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "results.json").write_bytes(b"\x80\x81\xff")
    assert report([str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "| srnn / none | 8.60 (1) |" in captured.out
    assert "null/results.json: no status" in captured.err and "binary/results.json" in captured.err


@pytest.mark.parametrize("split_value, message", [
    ([[[60, 64.0]]], "step 0 (sequence 0 of split 'train' in bad.pickle) holds 64.0, float: notes must be whole MIDI"),
    ([[["60"]]], "holds '60', str: notes must be whole MIDI numbers"),
    ([[[[60, 64]]]], "holds [60, 64], a list (nested one level too deep)"),
    ([[60, 64]], "step 0 (sequence 0 of split 'train' in bad.pickle) is a int, not a list of note numbers"),
    ([60], "sequence 0 of split 'train' is a int, not a list of time steps"),
])
def test_music_pickles_of_the_wrong_shape_are_named(split_value, message):
    from rnnbench.data.music import parse_music

    good = [[[60], [62, 64]]]
    with pytest.raises(DataError) as e:
        parse_music({"train": split_value, "valid": good, "test": good}, "bad.pickle")
    assert message in str(e.value)


def test_a_music_pickle_too_large_is_refused_before_allocating(monkeypatch):
    from rnnbench.data import music

    monkeypatch.setattr(music, "MAX_FRAMES", 10)
    steps = [[60]] * 11
    with pytest.raises(DataError, match="holds 11 time steps, more than the 10 rnnbench reads from one file"):
        music.parse_music({"train": [steps], "valid": [], "test": []}, "huge.pickle")


def test_ptb_files_of_garbage_or_nothing_are_named(tmp_path):
    from omegaconf import OmegaConf

    from rnnbench.data.ptb import load_ptb

    (tmp_path / "ptb").mkdir()
    for split in ("train", "valid", "test"):
        (tmp_path / "ptb" / f"ptb.{split}.txt").write_text(" the cat sat \n the dog \n")
    cfg = OmegaConf.create({"root": str(tmp_path), "download": False, "verify": False})
    assert load_ptb(cfg)[1]["valid"].numel() == 7
    (tmp_path / "ptb" / "ptb.train.txt").write_text("\n\n")  # empty: blamed on itself, not on valid
    with pytest.raises(DataError, match=r"ptb\.train\.txt holds no words"):
        load_ptb(cfg)
    (tmp_path / "ptb" / "ptb.train.txt").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(DataError, match=r"ptb\.train\.txt line 1 is not utf-8 text \(byte 0\)"):
        load_ptb(cfg)
