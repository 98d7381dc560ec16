"""What a Piano-midi model does on test piece 16 (issue 31, section 10), for each run folder given:

    RNNBENCH_DATA=../shared/data python docs/measurements/2026-12-02-001-t1/piece16.py RUN [RUN ...]

per run: NLL per frame over frames 1-700 and 700-1094 of the piece, how many of the 88 notes the model
gives p > 0.5 there (the piece never holds more than 6; no training frame more than 12), the mean norm of
W_in's rows (one per note: what a note played adds to the hidden input) for the notes the training pieces
play most and least, and rho(W_rec); where the model first gives more than 12 notes p > 0.5: the notes held
just before, the piece's NLL from frame 700 with each of them taken out of the input in turn, and how often the
training and validation pieces play each. Needs best.pt (kept in the lanes' output folders, not committed)."""
import sys
from pathlib import Path

import torch

from rnnbench.data.load import load_rolls
from rnnbench.metrics import frame_nll
from rnnbench.tools.sample import load_run

for run in sys.argv[1:]:
    cfg, model = load_run(Path(run), "cpu", tool="piece16.py")
    model.eval()
    rolls = load_rolls(cfg.dataset, cfg.data)
    x = torch.as_tensor(rolls["test"][16], dtype=torch.float32)[None]
    with torch.no_grad():
        logits = model(x[:, :-1], sample=False)
        loss = frame_nll(logits, x[:, 1:])[0]
    on = (torch.sigmoid(logits[0]) > 0.5).sum(1).float()
    played, in_valid = (torch.stack([torch.as_tensor(r, dtype=torch.float32).sum(0) for r in rolls[s]]).sum(0)
                        for s in ("train", "valid"))  # frames per note, all frames of the split
    order = played.argsort()
    rows = model.core.w_in.detach().norm(dim=1)
    rho = torch.linalg.eigvals(model.core.recurrent_matrix().detach()).abs().max().item()
    print(f"{Path(run).name}: NLL/frame {loss[:700].mean():.1f} (frames 1-700), {loss[700:].mean():.1f} (700-1094); "
          f"notes with p > 0.5: {on[:700].mean():.1f} / {on[700:].mean():.1f}; |W_in row| 10 least played notes "
          f"{rows[order[:10]].mean():.2f}, 10 most played {rows[order[-10:]].mean():.2f}; rho(W_rec) {rho:.2f}")
    runaway = (on > 12).nonzero().flatten()
    if len(runaway):  # what drives it: the notes held just before, each taken out of the input in turn
        t = runaway[0].item()
        held = x[0, t - 1].nonzero().flatten().tolist()
        top = [(torch.as_tensor(r)[:, 72:] > 0).sum(1).max().item() for s in ("train", "valid") for r in rolls[s]]
        after = []
        for n in held:
            xi = x[:, :-1].clone()
            xi[..., n] = 0
            with torch.no_grad():
                after.append(frame_nll(model(xi, sample=False), x[:, 1:])[0][700:].mean().item())
        print(f"  first frame with > 12 notes at p > 0.5: {t}; notes held before it {held} "
              f"({sum(n >= 72 for n in held)} at or above note 72; no training or validation frame holds more than "
              f"{max(top)} there); NLL/frame 700-1094 with one of them taken out of the input: "
              + ", ".join(f"{n}: {v:.1f}" for n, v in zip(held, after))
              + "; note training / validation frames: " + ", ".join(f"{n}: {int(played[n])}/{int(in_valid[n])}" for n in held))
