"""rnnbench-sample: drawn rolls are binary and keep their primer; MIDI files read back to the
same notes; the command writes MIDI + PNG per sample and fails cleanly on a bad run folder."""
import io
import json

import mido
import pytest
import torch
from PIL import Image

from rnnbench.tools.export import midi_bytes, midi_to_roll, roll_to_midi, roll_to_png
from rnnbench.models import build_model
from rnnbench.tools.sample import generate
from rnnbench.train import train
from tests.conftest import REPO, compose_cfg, run_cli

D = 88


def _roundtrip(roll: torch.Tensor) -> torch.Tensor:
    return midi_to_roll(mido.MidiFile(file=io.BytesIO(midi_bytes(roll_to_midi(roll)))))


def test_midi_round_trip_keeps_every_note():
    g = torch.Generator().manual_seed(0)
    roll = (torch.rand(40, D, generator=g) < 0.05).to(torch.uint8)
    roll[5:20, 40] = 1  # a held note
    roll[:3] = 0  # silence at the start ...
    roll[-4:] = 0  # ... and at the end keeps its length
    roll[10, 0] = roll[11, 87] = 1  # the lowest and highest keys
    back = _roundtrip(roll)
    assert back.shape == roll.shape and torch.equal(back, roll)
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(roll_to_midi(roll, frame_seconds=0.25))))
    assert midi.length == pytest.approx(40 * 0.25)
    n_onsets = int(((roll[1:] == 1) & (roll[:-1] == 0)).sum() + roll[0].sum())
    assert sum(m.type == "note_on" for m in midi.tracks[0]) == n_onsets


@pytest.mark.parametrize("name", ["srnn", "storn"])
def test_generated_rolls_are_binary_and_keep_the_primer(name):
    cfg = compose_cfg(f"model={name}", "model.hidden=8", "regulariser=fd")
    torch.manual_seed(0)
    model = build_model(cfg.model, D, D, cfg.regulariser)
    primer = (torch.rand(5, D) < 0.1).float()
    rolls = generate(model, n_frames=12, n_samples=3, primer=primer)
    assert rolls.shape == (3, 17, D) and rolls.dtype == torch.uint8
    assert set(rolls.unique().tolist()) <= {0, 1}
    assert torch.equal(rolls[:, :5], primer.to(torch.uint8).expand(3, -1, -1))
    assert torch.equal(_roundtrip(rolls[1]), rolls[1])


def test_sample_command_writes_midi_and_png(quick_cfg, tmp_path):
    run = tmp_path / "run"
    train(quick_cfg("model=storn", "model.storn.latent=2", "train.max_epochs=1", "eval.is_samples=2"), run)
    out = tmp_path / "samples"
    proc = run_cli([str(run), "-n", "2", "--frames", "6", "--primer", "4", "-o", str(out)], REPO,
                   {"RNNBENCH_DATA": str(tmp_path / "data")}, module="rnnbench.tools.sample")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "samples.json").read_text())
    assert meta["primer_frames"] == 4 and [s["frames"] for s in meta["samples"]] == [10, 10]
    for i in range(2):
        roll = midi_to_roll(mido.MidiFile(out / f"sample-{i:02d}.mid"))
        assert roll.shape == (10, D)
        png = Image.open(out / f"sample-{i:02d}.png")
        assert png.size == (10 * 4, D * 4)
    assert Image.open(io.BytesIO(roll_to_png(roll, 4))).mode == "L"
    # rnnbench-eval: the importance-sampled NLL at two K, never above the bound from the same draws
    proc = run_cli([str(run), "--is-samples", "2,8"], REPO, {"RNNBENCH_DATA": str(tmp_path / "data")},
                   module="rnnbench.tools.evaluate")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["is_samples"] for r in lines] == [2, 8] and all(r["nll"] <= r["elbo"] for r in lines)


def test_sample_command_errors_are_one_line(tmp_path):
    proc = run_cli([str(tmp_path)], REPO, module="rnnbench.tools.sample")
    assert proc.returncode == 2 and "no results.json" in proc.stderr and "Traceback" not in proc.stderr
