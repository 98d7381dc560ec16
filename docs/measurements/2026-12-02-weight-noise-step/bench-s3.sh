#!/usr/bin/env bash
# issue 31 item 1, third session: before (1546954, /work/lane) and after (the main checkout), alternating, alone
exec bash "$(dirname "$0")/bench-pair.sh" /work/lane /work/lane-venv /work/campaign/bench2
