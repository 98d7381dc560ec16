#!/usr/bin/env bash
# One lane of the 001 Table 1 campaign (issue 31): takes the next unclaimed job of JOBS (lines "name|overrides"),
# runs it with one thread into $OUT/<name>, copies its results.json and metrics.csv into $KEEP/<name>, repeats.
# Two lanes side by side share the queue (a job is claimed by mkdir). A finished job is skipped, so the
# same command continues a stopped campaign, also in a later session (a run kept in KEEP is skipped). Usage: lane.sh JOBS OUT KEEP RNNBENCH
set -u
JOBS=$1 OUT=$2 KEEP=$3 RNNBENCH=$4
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT/.claims" "$KEEP"
while IFS='|' read -r name overrides; do
  [ -z "$name" ] && continue
  case "$name" in \#*) continue ;; esac
  [ -f "$OUT/$name/results.json" ] && continue
  [ -f "$KEEP/$name/results.json" ] && continue  # kept (committed) in an earlier session
  mkdir "$OUT/.claims/$name" 2>/dev/null || continue
  echo "[$(date +%T)] start $name: $overrides"
  start=$(date +%s)
  # shellcheck disable=SC2086
  $RNNBENCH $overrides train.progress=false hydra.run.dir="$OUT/$name" > "$OUT/$name.log" 2>&1
  rc=$?
  echo "[$(date +%T)] end $name rc=$rc wall=$(( $(date +%s) - start ))s: $(tail -n 1 "$OUT/$name.log" | cut -c1-200)"
  if [ -f "$OUT/$name/results.json" ]; then
    mkdir -p "$KEEP/$name"
    cp "$OUT/$name/results.json" "$OUT/$name/metrics.csv" "$KEEP/$name/" 2>/dev/null
  else
    rmdir "$OUT/.claims/$name"  # not finished: the next command retries it
  fi
done < "$JOBS"
