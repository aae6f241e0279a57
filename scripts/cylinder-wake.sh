#!/usr/bin/env bash
# The cylinder-wake bundle from nothing: OpenFOAM trajectories (python -m echo_onnx.cylinder data),
# the three ECHO training stages, the FNO baseline, export, the evaluation on held-out Reynolds numbers
# (accuracy, St and lift through forceCoeffs, plots, example, REPORT.md) and the warm-start runs.
#
#   scripts/cylinder-wake.sh          full size into .echo/cylinder, bundle onnx/bundles/cylinder-wake
#                                     (~2 h on 2 cores: data ~20 min, training ~65 min, evaluation and
#                                     warm starts ~30 min; the training budgets are below)
#   scripts/cylinder-wake.sh --ci     the test suite's size into target/cylinder-ci: 3 coarse, short
#                                     trajectories, every stage a few steps, one warm-start run (~1 min)
#
# Every step can be re-run alone (the commands it prints); data generation resumes where it stopped
# (--resume keeps finished trajectories), training stages write stageN.pt checkpoints.
# Needs scripts/setup.sh --train and scripts/setup-openfoam.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
train=.venv/bin/echo-onnx-train

if [ "${1:-}" = "--ci" ]; then
  work=target/cylinder-ci; data_preset=ci; preset=cylinder-smoke; bundle=$work/bundle
  budget=(--steps 3); fno=(--steps 3); quick=--quick; monitor=(--start 2 --horizon 4 --threads 1); other=()
  warm_runs=("120 cold 6" "120 warm 6")
else
  work=.echo/cylinder; data_preset=full; preset=cylinder; bundle=onnx/bundles/cylinder-wake
  quick=; monitor=(--start 50 --horizon 16 --threads 2); other=(--other-mesh "$work/data-fine")
  # held-out Re, run, end time: the plain cold start develops late at low Re (numerical noise has to
  # break the symmetry), so its runs are longer; kicked and warm runs develop within ~40 time units
  warm_runs=("75 cold 280" "118 cold 180" "170 cold 140" "75 kicked 100" "118 kicked 100" "170 kicked 100"
             "75 warm 100" "118 warm 100" "170 warm 100" "118 warm 60 3")   # the last: another generated sample
fi
data=$work/data
run=$work/run
say() { printf '\n== %s\n' "$*"; }
step() { echo "+ $*"; "$@"; }

say "data ($data_preset)"
step $py -m echo_onnx.cylinder data --out "$data" --preset $data_preset --workers 2 --resume
if [ "$data_preset" = full ]; then
  say "a held-out trajectory on a mesh the model is not trained on (fine: 1.5x per direction)"
  step $py -m echo_onnx.cylinder data --out "$work/data-fine" --preset fine-test --workers 1 --resume
fi
say "training"
if [ "$data_preset" = full ]; then
  step $train train --stage 1 --preset $preset --data "$data" --run-dir "$run" --threads 2 --minutes 26
  step $train train --stage 2 --preset $preset --data "$data" --run-dir "$run" --threads 2 --minutes 6
  step $train train --stage 3 --preset $preset --data "$data" --run-dir "$run" --threads 2 --minutes 27
  step $train baseline --preset $preset --data "$data" --run-dir "$run" --threads 2 --minutes 12
else
  for s in 1 2 3; do step $train train --stage $s --preset $preset --data "$data" --run-dir "$run" "${budget[@]}"; done
  step $train baseline --preset $preset --data "$data" --run-dir "$run" "${fno[@]}"
fi
step $train export --run-dir "$run" --out "$bundle" --name cylinder-wake
say "warm starts (each run alone: its CPU time is the measurement)"
warm=()
for spec in "${warm_runs[@]}"; do
  set -- $spec   # Re, run, end time[, the sampler's seed of a warm run]
  dir=$work/warm/Re$1-$2${4:+-seed$4}
  step $py -m echo_onnx.cylinder warmstart --bundle "$bundle" --re "$1" --runs "$2" --end "$3" --seed "${4:-0}" --workers 1 \
    --out "$dir" --preset $data_preset > /dev/null
  warm+=("$dir")
done
say "surrogate mode: echoSurrogate's live monitor on a held-out trajectory"
test_traj=$(ls "$data"/test/*.npz | head -n 1)
[ "$data_preset" = full ] && test_traj=$data/test/Re118.npz
step $py -m echo_onnx.cylinder monitor --bundle "$bundle" --trajectory "$test_traj" --out "$work/monitor" "${monitor[@]}" > /dev/null
say "evaluation"
step $train evaluate-wake --run-dir "$run" --data "$data" --bundle "$bundle" --warm "${warm[@]}" --monitor "$work/monitor" \
  "${other[@]}" $quick
