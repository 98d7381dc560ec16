"""``rnnbench-sample RUN_DIR``: draw piano rolls from a trained music model and write them as MIDI
files and piano-roll pictures.

Generation is ancestral: every frame is drawn from the model's Bernoulli outputs given the frames
before it, the regulariser's noise at its expectation (or propagated as moments: fast dropout), as
in evaluation. Without a primer the first input is the zero frame (the front padding the models
were trained to read). A primer of the first P frames of a test sequence is read first; STORN
infers its latent path there from the recognition net, q(z_t | x_1:t), and draws z_t from the
prior N(0, I) afterwards. Both nets are causal, so each frame re-runs the net over the prefix:
exact for every realisation (moments included), O(T^2) in the number of frames.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from rnnbench.config.saved import saved_config

from rnnbench.data.load import load_rolls
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.errors import RnnbenchError, cli_entry
from rnnbench.tools.args import Parser, count, number
from rnnbench.tools.export import midi_bytes, roll_to_midi
from rnnbench.tools.figures import plt, save
from rnnbench.tools.pianoroll_figure import draw_roll
from rnnbench.models import STORN, build_model
from rnnbench.engine.results import folder_problem, write_bytes_atomic, write_json_atomic
from rnnbench.runtime import resolve_device


class SampleError(RnnbenchError):
    pass


MAX_SAMPLES, MAX_FRAMES = 256, 4096  # README "Limits": generation costs O(frames^2) net steps per sample


@torch.no_grad()
def generate(model, n_frames: int, n_samples: int = 1, primer: torch.Tensor | None = None) -> torch.Tensor:
    """(n_samples, P + n_frames, 88) uint8 rolls: the primer (P, 88) if any, then drawn frames."""
    model.eval()
    p = next(model.parameters())
    frames = torch.zeros(n_samples, 1, N_NOTES, dtype=p.dtype, device=p.device)  # the zero input frame
    if primer is not None and len(primer):
        frames = torch.cat([frames, primer.to(p).expand(n_samples, -1, -1)], dim=1)
    P = frames.shape[1] - 1
    z = None
    if isinstance(model, STORN):
        z = torch.randn(n_samples, P + n_frames, model.n_latent, dtype=p.dtype, device=p.device)  # the prior
        if P:  # the primer's latent path from q(z_t | x_1:t)
            q = model.posterior(frames[:, :-1], frames[:, 1:])
            z[:, :P] = q.mu + q.var.sqrt() * torch.randn_like(q.mu)
    for t in range(P, P + n_frames):
        inputs = frames  # x_0 = 0, x_1 .. x_t: predicts x_{t+1}
        logits = model.decode(inputs, z[:, : t + 1]) if z is not None else model(inputs)
        frames = torch.cat([frames, torch.bernoulli(torch.sigmoid(logits[:, -1:]))], dim=1)
    return frames[:, 1:].to(torch.uint8)


def load_weights(path: Path) -> dict:
    """A best.pt as a dict of tensors, read with ``torch.load(weights_only=True)``: tensors only, never
    code. A truncated, corrupt or malicious file is a SampleError naming it (torch's own message is not
    shown: it suggests ``weights_only=False``, which would run whatever the file holds)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError (foreign globals), RuntimeError/EOFError (truncated), ...
        raise SampleError(f"{path} is not a readable rnnbench checkpoint ({type(e).__name__}): it is truncated, "
                          "corrupt, or holds more than tensors, and is not loaded. Train the run again, or "
                          "restore the file") from None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SampleError(f"{path} does not hold a state dict of tensors; it is not an rnnbench checkpoint")
    return state


def load_run(run_dir: Path, device: str = "cpu", tool: str = "rnnbench-sample"):
    """(config, model with the best weights) of a finished music run; ``tool`` names the command in its errors."""
    results_path, weights = run_dir / "results.json", run_dir / "best.pt"
    if not results_path.is_file():  # also a FIFO or a folder of that name: never opened
        raise SampleError(f"{run_dir} has no results.json (a regular file): not an rnnbench run folder")
    if not weights.is_file():
        try:
            ended = json.loads(results_path.read_text())
            status, reason = ended.get("status"), ended.get("stop_reason")
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            status, reason = None, None
        why = (f"the run ended {status}" + (f" ({reason})" if status == "diverged" else "")
               if status in ("diverged", "failed", "pruned") else "train.save_model=false, or the run failed")
        raise SampleError(f"{run_dir} has no best.pt: the run saved no model ({why})")
    try:
        results = json.loads(results_path.read_text())
        cfg = saved_config(results["config"])
        # runs written before dataset.task existed: a music data set is the one cut into chunks
        task = cfg.dataset.get("task") or ("music" if "chunk_len" in cfg.dataset else cfg.dataset.name)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise SampleError(f"{results_path} is not an rnnbench results file with a 'config' ({type(e).__name__}); "
                          "point to a run folder written by rnnbench") from None
    if task != "music":
        what = "draws piano rolls" if tool == "rnnbench-sample" else "evaluates music runs again"
        raise SampleError(f"{tool} {what}; {run_dir} is a {cfg.dataset.name} run ({task} task), whose test metric is "
                          "in its results.json")
    model = build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser)
    state = load_weights(weights)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
        raise SampleError(f"{weights} does not fit the model of {results_path} ({first}); the checkpoint belongs to "
                          "another run or configuration") from None
    dtype = state[next(iter(state))].dtype
    return cfg, model.to(device=resolve_device(device), dtype=dtype)


def parse_args(argv=None):
    p = Parser(prog="rnnbench-sample", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("run_dir", type=Path, help="a run folder (results.json + best.pt)")
    p.add_argument("-n", "--samples", type=count(1, MAX_SAMPLES), default=4,
                   help=f"sequences to draw (default 4, at most {MAX_SAMPLES})")
    p.add_argument("--frames", type=count(1, MAX_FRAMES), default=128,
                   help=f"frames to draw after the primer (default 128, at most {MAX_FRAMES}: each frame re-runs the net "
                   "over the prefix)")
    p.add_argument("--primer", type=count(0, MAX_FRAMES), default=0, help="frames of a test sequence to read first (default 0)")
    p.add_argument("--primer-seq", type=count(0, 10**9), default=0, help="which test sequence gives the primer (default 0)")
    p.add_argument("--frame-seconds", type=number(gt=0, le=60), default=0.5,
                   help="duration of one frame in the MIDI file (seconds, in (0, 60])")
    p.add_argument("--seed", type=count(0, 2**63 - 1), default=0)
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    p.add_argument("--data-root", default=None, help="where the data sets are (for --primer); default: the run's")
    p.add_argument("-o", "--out", type=Path, default=None, help="output folder (default RUN_DIR/samples)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or args.run_dir / "samples"
    problem = folder_problem(out) if args.run_dir.is_dir() else None
    if problem:  # before any sampling
        raise SampleError(f"--out {out} cannot be written ({problem})")
    cfg, model = load_run(args.run_dir, args.device)
    primer = None
    if args.primer:
        if args.data_root:
            cfg.data.root = args.data_root
        test = load_rolls(cfg.dataset, cfg.data)["test"]
        if not 0 <= args.primer_seq < len(test):
            raise SampleError(f"--primer-seq must be in 0..{len(test) - 1}, got {args.primer_seq}")
        primer = test[args.primer_seq][: args.primer].float()
    torch.manual_seed(args.seed)
    rolls = generate(model, args.frames, args.samples, primer)
    out.mkdir(parents=True, exist_ok=True)
    n_primer = 0 if primer is None else len(primer)
    written = []
    truth = None if primer is None else test[args.primer_seq][n_primer:n_primer + args.frames]
    for i, roll in enumerate(rolls.cpu()):
        stem = out / f"sample-{i:02d}"
        write_bytes_atomic(stem.with_suffix(".mid"), midi_bytes(roll_to_midi(roll, args.frame_seconds)))
        title = (f"{'/'.join(args.run_dir.resolve().parts[-3:])}: {cfg.model.name} on {cfg.dataset.name}, sample {i} "
                 f"(seed {args.seed})")
        fig = draw_roll(roll, n_primer, truth, title, args.frame_seconds)
        files = save(fig, out, stem.name)
        plt.close(fig)
        written.append({"midi": stem.with_suffix(".mid").name, "png": files[0].name, "pdf": files[1].name,
                        "frames": len(roll), "notes_per_frame": round(float(roll.float().sum(1).mean()), 3)})
    write_json_atomic(out / "samples.json", {"run": str(args.run_dir), "model": cfg.model.name, "seed": args.seed,
                                             "primer_frames": n_primer, "primer_seq": args.primer_seq if n_primer else None,
                                             "frame_seconds": args.frame_seconds, "samples": written})
    print(f"rnnbench-sample: {len(written)} samples ({n_primer} primer + {args.frames} drawn frames) in {out}")
    return 0


def entry() -> int:
    return cli_entry("rnnbench-sample", main, "interrupted; the samples written so far are complete files")

if __name__ == "__main__":
    sys.exit(entry())
