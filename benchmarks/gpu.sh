#!/usr/bin/env bash
# The GPU figures in one call (README "Performance"; ../shared/guide/gpu.md): on a CUDA machine,
#   1. installs what the machine lacks from wheels in .whl/ (hydra-core, omegaconf,
#      antlr4-python3-runtime 4.9.3, platformdirs), with pip --target, offline;
#   2. pytest -m gpu (tests/test_gpu.py: CUDA = CPU in float64, populations, fused cells);
#   3. python -m benchmarks.engine --device cuda: every cell vs torch.nn (cuDNN) at music size
#      (1 x 400, batch 32, 100 steps) and at PTB-medium size (2 x 650, batch 20, 35 steps), the
#      variational LSTM vs cuDNN's plain LSTM, populations P = 1, 8, 32, 128 vs P sequential updates;
#   4. the fused cells (torch.compile, --fuse) of the sRNN and the LSTM, in a stage of their own;
#   5. benchmarks/launch_profile.py: kernel launches per step, eager vs a CUDA graph of the same step;
#   5b. benchmarks/affine.py: x W + b as two kernels vs one GEMM (addmm) at the presets' shapes;
#   6. timed runs: one epoch of PTB medium (variational, tied) and 10 epochs of experiment=fdrnn-jsb;
#   6b. benchmarks/search_dispatch.py: 002's one-member-group search here vs on worker processes;
#   7. benchmarks/gpu_summary.py: one JSON + markdown of it all, the targets checked;
#   opt-in, GPU_STAGES=storn-search: benchmarks/storn_search.py, STORN's Adadelta search as parallel runs.
#
#   bash benchmarks/gpu.sh [OUT]        OUT default: benchmarks/results/gpu
#   GPU_STAGES="engine ptb-medium" bash benchmarks/gpu.sh OUT    only these stages (names as in OUT/stages.txt)
#
# Carried packages: .whl/ as above, or a copied site-packages on PYTHONPATH (benchmarks/gpu_carry.sh makes .gpu/
# with it and the data; antlr4-python3-runtime 4.9.3 has no wheel to download). The 2026-12-04 lease's command:
#   PYTHONPATH=$PWD/.gpu/site RNNBENCH_DATA=$PWD/.gpu/data RNNBENCH_COMMIT=<commit> GPU_STAGE_S=130 bash benchmarks/gpu.sh /tmp/gpu
# (all stages take ~10 minutes: more than one call's limit with the machine's start; split them with GPU_STAGES,
# or give GPU_TOTAL_S, the script's budget: each stage gets at most what is left, and the summary always runs).
# Data: $RNNBENCH_DATA (JSB Chorales and PTB suffice). Each stage has its own time limit
# (GPU_STAGE_S, seconds) so that one slow stage leaves the others their figures; the log of each
# stage is OUT/<stage>.log. Where `import rnnbench.conf` fails (a bare copy of the checkout, no
# `pip install -e .`), a copy with conf/ placed as rnnbench/conf runs instead (pyproject's package-dir).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$REPO/benchmarks/results/gpu}" && cd "${1:-$REPO/benchmarks/results/gpu}" && pwd)"
STAGE_S="${GPU_STAGE_S:-150}"
TOTAL_S="${GPU_TOTAL_S:-}"           # seconds for the whole script (a lease's call): later stages are cut or skipped
DEVICE="${GPU_DEVICE:-cuda}"          # cpu: a dry run of the script on a machine without a GPU
EPOCH_SCALE="${GPU_EPOCHS:-full}"     # tiny: shortened runs for the dry run
export PYTHONUNBUFFERED=1

if [ -d "$REPO/.whl" ] && ! python3 -c "import hydra, omegaconf, platformdirs" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/rnnbench-site \
    "$REPO"/.whl/*.whl || exit 1
  export PYTHONPATH="/tmp/rnnbench-site${PYTHONPATH:+:$PYTHONPATH}"
fi
SRC="$REPO"
if ! (cd "$REPO" && python3 -c "import rnnbench.conf" 2>/dev/null); then
  SRC=/tmp/rnnbench-src
  rm -rf "$SRC" && mkdir -p "$SRC"
  cp -r "$REPO"/rnnbench "$REPO"/benchmarks "$REPO"/tests "$REPO"/pyproject.toml "$SRC"/
  cp -r "$REPO"/conf "$SRC"/rnnbench/conf
fi
cd "$SRC" || exit 1

stage() {  # stage NAME COMMAND...: run with the stage's time limit, log to OUT/NAME.log, record its status
  local name=$1; shift
  if [ -n "${GPU_STAGES:-}" ] && [[ " $GPU_STAGES " != *" $name "* ]]; then return; fi
  if [ -z "${GPU_STAGES:-}" ] && [ "$name" = storn-search ]; then return; fi  # opt-in: GPU_STAGES=storn-search
  local limit=$STAGE_S
  if [ -n "$TOTAL_S" ]; then  # the whole script's budget: a stage gets what is left, less the summary's time
    local left=$((TOTAL_S - SECONDS - 20))
    if [ "$left" -lt 30 ]; then echo "$name skipped: ${TOTAL_S} s budget spent" | tee -a "$OUT/stages.txt"; return; fi
    [ "$left" -lt "$limit" ] && limit=$left
  fi
  local t0=$SECONDS
  echo "== $name: $*"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc s=$((SECONDS - t0))" | tee -a "$OUT/stages.txt"
  tail -n 4 "$OUT/$name.log"
}

: >"$OUT/stages.txt"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 || true
  python3 -c "import torch, sys; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'python', sys.version.split()[0])"
  echo "commit ${RNNBENCH_COMMIT:-unknown}"; date -u +%FT%TZ; } >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if [ "$DEVICE" = cuda ]; then
  stage pytest-gpu python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py
fi
stage engine python3 -m benchmarks.engine --device "$DEVICE" --warmup 5 --repeats 20 --out "$OUT" --name "engine-$DEVICE" \
  $([ "$EPOCH_SCALE" = tiny ] && echo "--cells srnn --populations 1,8 --hidden 32 --steps 10 --warmup 1 --repeats 2")
stage engine-fused python3 -m benchmarks.engine --device "$DEVICE" --warmup 5 --repeats 20 --out "$OUT" --name "engine-$DEVICE-fused" \
  --fuse --cells srnn,lstm --skip population $([ "$EPOCH_SCALE" = tiny ] && echo "--cells srnn --hidden 32 --steps 10 --warmup 1 --repeats 2")
stage launch-profile python3 -m benchmarks.launch_profile --device "$DEVICE" --out "$OUT" \
  $([ "$EPOCH_SCALE" = tiny ] && echo "--hidden 32 --steps 10 --warmup 1 --repeats 2 --cases srnn_none,srnn_fd")
stage affine python3 -m benchmarks.affine --device "$DEVICE" --out "$OUT" \
  $([ "$EPOCH_SCALE" = tiny ] && echo "--warmup 1 --repeats 2")

if [ "$EPOCH_SCALE" = tiny ]; then
  PTB=(model.hidden=32 train.max_seconds=20) JSB=(train.max_epochs=2 model.hidden=32)
else
  PTB=() JSB=(train.max_epochs=10)
fi
stage ptb-medium python3 -m rnnbench experiment=variational-tied-medium device="$DEVICE" train.max_epochs=1 eval.mc_samples=0 \
  train.checkpoint=false train.save_model=false train.progress=false "hydra.run.dir=$OUT/ptb-medium" "${PTB[@]}"
stage fdrnn-jsb python3 -m rnnbench experiment=fdrnn-jsb device="$DEVICE" train.checkpoint=false train.save_model=false train.progress=false \
  "hydra.run.dir=$OUT/fdrnn-jsb" "${JSB[@]}"
# 002's open search as one-member groups, here vs on worker processes (benchmarks/search_dispatch.py)
stage search-dispatch python3 -m benchmarks.search_dispatch --device "$DEVICE" --out "$OUT" \
  $([ "$EPOCH_SCALE" = tiny ] && echo "--n 3 --epochs 1 --workers 2 search.space.model.hidden={low:8,high:16,int:true}" || echo "--n 8 --epochs 2 --workers 4,8")
# opt-in (GPU_STAGES=storn-search): STORN's Adadelta search as parallel runs, GPU_SEARCH_N of them,
# GPU_SEARCH_S seconds each (benchmarks/storn_search.py)
stage storn-search python3 -m benchmarks.storn_search --n "${GPU_SEARCH_N:-12}" --parallel "${GPU_SEARCH_N:-12}" \
  --seconds "${GPU_SEARCH_S:-240}" --is-samples 100 --device "$DEVICE" --out "$OUT/storn-search" \
  -- experiment=storn-jsb protocol=breze-storn $([ "$EPOCH_SCALE" = tiny ] && echo "model.hidden=16 model.storn.latent=2")
python3 -m benchmarks.gpu_summary "$OUT"
