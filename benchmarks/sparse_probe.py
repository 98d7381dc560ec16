"""The probe behind docs/measurements/probe-fd-jsb-sparse-wrec-only.log (before model.init.sparse_io existed):
    python -m benchmarks.sparse_probe recurrent 80 experiment=fdrnn-jsb
trains with W_in and W_out re-drawn dense (same sigma^2), the sparse init left on W_rec, and prints the
validation NLL every 5 epochs. `rnnbench experiment=fdrnn-jsb model.init.sparse_io=false` is the same reading."""
import sys, time, math, torch
from hydra import compose, initialize_config_module
from rnnbench.config import register_configs; register_configs()
from rnnbench.train import build_splits, train_epoch
from rnnbench.data.load import load_rolls
from rnnbench.data.pianoroll import N_NOTES
from rnnbench.models import build_model
from rnnbench.models.init import gaussian_
from rnnbench.optim import build_optimizer
from rnnbench.metrics import evaluate
from rnnbench.runtime import seed_everything
torch.set_num_threads(1)
scope, n_epochs, overrides = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with initialize_config_module("rnnbench.conf", version_base="1.3"):
    cfg = compose("config", overrides=overrides)
seed_everything(cfg.seed)
splits = build_splits(load_rolls(cfg.dataset, cfg.data), cfg.dataset, torch.device("cpu"))
model = build_model(cfg.model, N_NOTES, N_NOTES, cfg.regulariser)
if scope == "recurrent":
    with torch.no_grad():
        gaussian_(model.core.w_in, cfg.model.init.var_in)
        gaussian_(model.w_out, cfg.model.init.var_out)
opt = build_optimizer(cfg.optim, model.parameters())
g = torch.Generator().manual_seed(cfg.seed)
t0 = time.time(); best = math.inf
for e in range(1, n_epochs + 1):
    tr, gn = train_epoch(model, opt, splits["train"], cfg, torch.float32, g, False)
    v = evaluate(model, splits["valid"], 64, torch.float32); best = min(best, v.nll)
    if e % 5 == 0 or e == 1:
        print(f"{scope} ep {e} train {tr:.3f} valid {v.nll:.3f} best {best:.3f} {time.time()-t0:.0f}s", flush=True)
