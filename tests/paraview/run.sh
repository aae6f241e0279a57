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

# Debian bookworm's libexpat1 since 2.5.0-1+deb12u2 (CVE-2023-52425's reparse deferral) breaks VTK
# 9.2's reading of raw appended XML data, the CLI's output: preload the shim that turns deferral off
# (tests/paraview-plugin/expat_no_deferral.c) into pvpython only (in Xvfb it crashes the server).
gcc -shared -fPIC -O2 tests/paraview-plugin/expat_no_deferral.c -o "$work/libexpat_no_deferral.so" -ldl

# Rendering needs an X server (Debian's ParaView is GLX-only): a virtual one, 24-bit colour.
xvfb-run -a -s "-screen 0 1280x1024x24" env LD_PRELOAD="$work/libexpat_no_deferral.so${LD_PRELOAD:+:$LD_PRELOAD}" \
  pvpython tests/paraview/check_forecast.py \
  "$work/forecast/prediction.pvd" vorticity 32 "$work/forecast-last-step.png"
printf '\nParaView tests passed in %s s (screenshot: %s)\n' $((($(date +%s%N) - start) / 1000000000)) "$work/forecast-last-step.png"
