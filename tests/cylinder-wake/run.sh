#!/usr/bin/env bash
# The cylinder-wake pipeline and bundle (issue 10), with the real solver:
#  1. scripts/cylinder-wake.sh --ci: OpenFOAM data (3 coarse, short trajectories), every training stage,
#     the FNO baseline, export, a cold and a warm-started run through echoSurrogate, the evaluation
#     (report, plots, example); check.py asserts on what it wrote;
#  2. the shipped bundle: valid for the runtime, its example forecast by the CLI scores within the
#     bound its REPORT.md promises, and echoSurrogate warm-starts the ci mesh with it.
# Needs scripts/setup.sh --train and scripts/setup-openfoam.sh (scripts/test.sh runs both).
set -euo pipefail
cd "$(dirname "$0")/../.."
export WM_PROJECT_DIR=${WM_PROJECT_DIR:-/usr/share/openfoam}
work=target/cylinder-ci
rm -rf "$work"
start=$(date +%s)
scripts/cylinder-wake.sh --ci
.venv/bin/python tests/cylinder-wake/check.py "$work"
printf '\n-- the shipped bundle\n'
.venv/bin/python tests/cylinder-wake/check.py --shipped onnx/bundles/cylinder-wake "$work"
echo "cylinder-wake tests passed in $(( $(date +%s) - start )) s"
