#!/usr/bin/env bash
# ParaView test of the README's first forecast: run it with the release CLI, then check in pvpython
# (tests/paraview/check_forecast.py) that prediction.pvd opens as 32 time steps of a 2D mesh with
# cells, and save a screenshot of the last step coloured by the field.
# Needs scripts/setup.sh (the release CLI, .venv) and scripts/setup-paraview.sh (pvpython, xvfb).
# Usage: tests/paraview/run.sh [WORK_DIR]   (default: target/paraview-tests, recreated; the
# screenshot is WORK_DIR/forecast-last-step.png)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$PWD/target/paraview-tests}
rm -rf "$work"
mkdir -p "$work"
start=$(date +%s%N)

# The README's command, with the output in the work directory.
target/release/echo-onnx forecast --bundle onnx/bundles/ns2d-vorticity \
  --input onnx/bundles/ns2d-vorticity/example/input.pvd --horizon 32 --param viscosity=0.001 \
  --out "$work/forecast" --force

# No workaround: the CLI writes inline base64, which ParaView 5.11 reads with the current libexpat
# (raw appended data it cannot: src/mesh/write.rs); this test is the user's view of that.
# Rendering needs an X server (Debian's ParaView is GLX-only): a virtual one, 24-bit colour.
xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" pvpython tests/paraview/check_forecast.py \
  "$work/forecast/prediction.pvd" vorticity 32 "$work/forecast-last-step.png"
printf '\nParaView tests passed in %s s (screenshot: %s)\n' $((($(date +%s%N) - start) / 1000000000)) "$work/forecast-last-step.png"
