#!/usr/bin/env bash
# What a lent GPU machine lacks, in the git-ignored folder .gpu/ of the checkout, to be carried to it
# (benchmarks/gpu.sh; ../shared/guide/gpu.md): the pure-Python packages its image does not hold, copied from
# this checkout's virtualenv (hydra-core, omegaconf, antlr4-python3-runtime 4.9.3 - which has no wheel to
# download - and platformdirs), and the data the GPU stages read (JSB Chorales, PTB).
#
#   bash benchmarks/gpu_carry.sh [DATA_ROOT]        DATA_ROOT default: $RNNBENCH_DATA, else ../shared/data
#
# Then, on the machine (the device tool's run, carry [".gpu"]):
#   PYTHONPATH=$PWD/.gpu/site RNNBENCH_DATA=$PWD/.gpu/data RNNBENCH_COMMIT=<commit> bash benchmarks/gpu.sh /tmp/gpu
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${1:-${RNNBENCH_DATA:-$REPO/../shared/data}}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
[ -f "$DATA/music/JSB Chorales.pickle" ] || { echo "gpu_carry: no JSB Chorales under $DATA/music" >&2; exit 1; }
SITE="$("$PY" -c "import hydra, os; print(os.path.dirname(os.path.dirname(hydra.__file__)))")"
rm -rf "$REPO/.gpu" && mkdir -p "$REPO/.gpu/site" "$REPO/.gpu/data/music" "$REPO/.gpu/data/ptb"
for pkg in hydra omegaconf antlr4 platformdirs; do cp -r "$SITE/$pkg" "$REPO/.gpu/site/"; done
cp -r "$SITE"/hydra_core-*.dist-info "$SITE"/omegaconf-*.dist-info "$SITE"/antlr4_python3_runtime-*.dist-info \
  "$SITE"/platformdirs-*.dist-info "$REPO/.gpu/site/"
find "$REPO/.gpu/site" -name __pycache__ -prune -exec rm -rf {} +
cp "$DATA/music/JSB Chorales.pickle" "$REPO/.gpu/data/music/"
cp -r "$DATA"/ptb/. "$REPO/.gpu/data/ptb/"
du -sh "$REPO/.gpu"
