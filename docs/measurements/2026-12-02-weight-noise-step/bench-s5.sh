#!/usr/bin/env bash
# issue 31 item 1, fifth session: before (c284cab: numpy's random_raw + torch's mask-and-convert, /work/lane) and
# after (the native SFC64 kernel, the main checkout), alternating, alone on the machine, 2 threads then 1
exec bash "$(dirname "$0")/bench-pair.sh" /work/lane /work/lane-venv /work/campaign/bench5
