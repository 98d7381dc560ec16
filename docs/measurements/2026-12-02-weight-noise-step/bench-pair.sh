#!/usr/bin/env bash
# issue 31 item 1: the regulariser step before (a clean worktree BEFORE with its venv BEFORE_VENV) and after (the main
# checkout), alternating twice with torch's two threads, then once each with one thread; alone on the machine.
# Usage: bench-pair.sh BEFORE BEFORE_VENV OUT
set -e
BEFORE=$1 BEFORE_VENV=$2 O=$3
R="--cells srnn --regularisers none,dropconnect,noise,noise-mn --repeats 15 --warmup 3"
for round in 1 2; do
  (cd "$BEFORE" && "$BEFORE_VENV"/bin/python -m benchmarks.regulariser_step $R --out "$O/before-$round")
  (cd /work/main && /work/main/.venv/bin/python -m benchmarks.regulariser_step $R --out "$O/after-$round")
done
(cd "$BEFORE" && OMP_NUM_THREADS=1 "$BEFORE_VENV"/bin/python -m benchmarks.regulariser_step $R --out "$O/before-1thread")
(cd /work/main && OMP_NUM_THREADS=1 /work/main/.venv/bin/python -m benchmarks.regulariser_step $R --out "$O/after-1thread")
