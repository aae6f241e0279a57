#!/usr/bin/env bash
# Runs docs/your-own-case.md: every ```sh block of the guide, in order, as one script in a work
# directory (so the guide cannot drift from what works), then checks what they wrote with pvpython
# (tests/guide/check.py: the exported case, the forecast on the case's cells, the screenshot, the
# function object's fields and error file, the smoke-trained bundle).
# Needs scripts/setup.sh --train, scripts/setup-openfoam.sh and scripts/setup-paraview.sh
# (scripts/test.sh runs all three first).
# Usage: tests/guide/run.sh [WORK_DIR]   (default: target/guide-test, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${1:-$root/target/guide-test}
rm -rf "$work"
mkdir -p "$work"
start=$(date +%s%N)

lib=$root/build/openfoam/lib/libechoSurrogate.so
[ -f "$lib" ] || { echo "error: $lib is missing: run scripts/setup-openfoam.sh" >&2; exit 1; }
[ -x target/release/echo-onnx ] || { echo "error: target/release/echo-onnx is missing: run scripts/setup.sh" >&2; exit 1; }

# The guide's commands: the lines between "```sh" and the next "```" (other blocks are prose).
awk '/^```sh$/ { inside = 1; next } /^```/ { inside = 0 } inside' docs/your-own-case.md > "$work/guide.sh"
blocks=$(grep -c '^```sh$' docs/your-own-case.md)
[ "$blocks" -ge 8 ] || { echo "error: only $blocks sh blocks in docs/your-own-case.md" >&2; exit 1; }
echo "running $blocks sh blocks of docs/your-own-case.md ($(wc -l < "$work/guide.sh") lines) in $work"
(cd "$work" && ECHO_ONNX=$root bash -euo pipefail guide.sh) 2>&1 | tee "$work/guide.log"

xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" pvpython tests/guide/check.py "$work/mycase"
printf '\nGuide test passed in %s s\n' $((($(date +%s%N) - start) / 1000000000))
