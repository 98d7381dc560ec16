#!/usr/bin/env bash
# issue 31 item 1, fifth session: before (c284cab: numpy's random_raw + torch's mask-and-convert, /work/lane) and
# after (the native SFC64 kernel, the main checkout), alternating, alone on the machine, 2 threads then 1
set -e
R="--cells srnn --regularisers none,dropconnect,noise,noise-mn --repeats 15 --warmup 3"
O=/work/campaign/bench5
for round in 1 2; do
  (cd /work/lane && /work/lane-venv/bin/python -m benchmarks.regulariser_step $R --out $O/before-$round)
  (cd /work/main && /work/main/.venv/bin/python -m benchmarks.regulariser_step $R --out $O/after-$round)
done
(cd /work/lane && OMP_NUM_THREADS=1 /work/lane-venv/bin/python -m benchmarks.regulariser_step $R --out $O/before-1thread)
(cd /work/main && OMP_NUM_THREADS=1 /work/main/.venv/bin/python -m benchmarks.regulariser_step $R --out $O/after-1thread)
