"""rnnbench-sample: drawn rolls are binary and keep their primer; MIDI files read back to the
same notes; the command writes MIDI + PNG per sample and fails cleanly on a bad run folder."""
import io
import json

import mido
import pytest
import torch
from PIL import Image

from rnnbench.tools.export import midi_bytes, midi_to_roll, roll_to_midi
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
        assert png.size[0] >= 7 * 300 * 0.9  # a double-column figure at 300 dpi
        assert (out / f"sample-{i:02d}.pdf").read_bytes().startswith(b"%PDF")
        assert meta["samples"][i]["pdf"] == f"sample-{i:02d}.pdf"
    # rnnbench-eval: the importance-sampled NLL at two K, never above the bound from the same draws
    proc = run_cli([str(run), "--is-samples", "2,8"], REPO, {"RNNBENCH_DATA": str(tmp_path / "data")},
                   module="rnnbench.tools.evaluate")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["is_samples"] for r in lines] == [2, 8] and all(r["nll"] <= r["elbo"] for r in lines)


def test_sample_command_errors_are_one_line(tmp_path):
    proc = run_cli([str(tmp_path)], REPO, module="rnnbench.tools.sample")
    assert proc.returncode == 2 and "no results.json" in proc.stderr and "Traceback" not in proc.stderr


def test_a_piano_roll_names_its_notes_time_parts_and_run():
    """Issue 23: note names at every C with octave lines, time in seconds, primer / generated / ground truth in a
    legend, the ground truth in its own panel, a title, and TrueType (Type 42) fonts in the PDF."""
    import re

    from rnnbench.tools.figures import plt
    from rnnbench.tools.pianoroll_figure import draw_roll, note_name

    assert [note_name(m) for m in (21, 60, 61, 108)] == ["A0", "C4", "C#4", "C8"]
    roll = torch.zeros(12, D)
    roll[:, 60 - 21] = 1  # middle C held
    roll[6:, 64 - 21] = 1  # E4 from frame 6
    truth = torch.zeros(6, D)
    truth[:, 67 - 21] = 1  # G4
    fig = draw_roll(roll, 6, truth, "run-x: srnn on jsb, sample 0 (seed 0)", frame_seconds=0.5)
    top, low = fig.axes
    labels = [t.get_text() for t in top.get_yticklabels()]
    assert "C4" in labels and all(re.fullmatch(r"C\d", t) for t in labels)
    assert top.get_xlim() == (0.0, 6.0) and low.get_xlabel() == "time (s)"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["primer (6 frames of a test sequence)", "generated (6 frames)", "ground truth (the test sequence)"]
    assert fig._suptitle.get_text() == "run-x: srnn on jsb, sample 0 (seed 0)" and "ground truth" in low.get_title(loc="left")
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    pdf = buf.getvalue()
    assert b"/Type3" not in pdf and (b"/TrueType" in pdf or b"/CIDFontType2" in pdf)
    plt.close(fig)


def test_eval_per_sequence_adds_up_to_the_frame_weighted_nll(quick_cfg, tmp_path):
    # rnnbench-eval --per-sequence: each test sequence's NLL and frames; their frame-weighted mean is the split's NLL
    # (the same per-sequence sums, so equal up to float64 rounding) and, to rel 1e-6, the run's recorded test NLL
    # (rnnbench-eval rebuilds the model and the splits from best.pt and the config: measured 6e-10 apart)
    run = tmp_path / "run"
    train(quick_cfg("train.max_epochs=1", "train.precision=float64"), run)
    proc = run_cli([str(run), "--per-sequence"], REPO, {"RNNBENCH_DATA": str(tmp_path / "data")},
                   module="rnnbench.tools.evaluate")
    assert proc.returncode == 0, proc.stderr
    whole, *pieces = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [p["sequence"] for p in pieces] == list(range(16))  # the generated set's 16 test sequences, in order
    total = sum(p["nll"] * p["frames"] for p in pieces) / sum(p["frames"] for p in pieces)
    assert total == pytest.approx(whole["nll"], rel=1e-12)
    assert whole["nll"] == pytest.approx(json.loads((run / "results.json").read_text())["test_nll"], rel=1e-6)
