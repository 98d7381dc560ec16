#!/usr/bin/env bash
# issue 31 item 1, sixth session: before (762a360 = the code of 1cd0390: the kernel's uniforms, then torch's passes for
# log, sqrt, cos, sin and the products, /work/lane) and after (the float32 Box-Muller in the kernel's pass, the main
# checkout), alternating, alone on the machine, 2 threads then 1
exec bash "$(dirname "$0")/bench-pair.sh" /work/lane /work/lane-venv /work/campaign/bench6
