#!/usr/bin/env bash
# The ns2d-v2 bundle (issue 14) from nothing, on CPU: the seeded solver data (320 training and 16
# held-out trajectories per viscosity, viscosities 1e-3, 1e-4, 1e-5), the three ECHO training stages,
# the FNO baseline, export, the evaluation on the held-out trajectories (REPORT.md) and the
# super-resolution and sampler studies that REPORT.md also shows.
#
#   scripts/ns2d-v2.sh [OUT]     bundle into OUT (default onnx/bundles/ns2d-v2), work in .echo/ns2d-v2
#
# The budgets are those of the shipped bundle, run on a 2-core CPU (~4 h: data ~65 min, training
# ~2 h 40 min, evaluation ~3 min); with a GPU the stages take --steps instead of --minutes (README).
# Every step can be re-run alone (the commands it prints); generate-data resumes where it stopped and
# the training stages write stageN.pt checkpoints (stages 1 and 3 continue with --resume).
# Needs scripts/setup.sh --train.
set -euo pipefail
cd "$(dirname "$0")/.."
train=.venv/bin/echo-onnx-train
bundle=${1:-onnx/bundles/ns2d-v2}
work=.echo/ns2d-v2
data=$work/data
run=$work/run
common=(--preset ns2d-v2 --data "$data" --run-dir "$run")
say() { printf '\n== %s\n' "$*"; }
step() { echo "+ $*"; "$@"; }

say "data"
step $train generate-data --preset ns2d-v2 --out "$data" --workers 2
say "training"
# stage 1 in two runs, as the shipped bundle was trained: 40 min at lr 1e-3 on one core, then a warm
# restart of 38 min at lr 5e-4 on two
step $train train --stage 1 "${common[@]}" --steps 1500 --minutes 40 --threads 1
step $train train --stage 1 "${common[@]}" --resume --steps 2000 --lr 5e-4 --minutes 38 --threads 2
# the FNO on one core beside stages 2-3 (as the shipped run: 30 min, overlapping stage 3's encoding)
step $train baseline "${common[@]}" --minutes 30 --threads 1 &
fno=$!
step $train train --stage 2 "${common[@]}"     # --steps 0 in the preset: the latent normalisation only
step $train train --stage 3 "${common[@]}" --minutes 20 --threads 2
# ... and a warm restart of it (as the shipped bundle: 50 more minutes at lr 2e-4; the encoded latents
# come from the run's cache, stage3-latents.pt)
step $train train --stage 3 "${common[@]}" --resume --lr 2e-4 --minutes 50 --threads 2
wait $fno
step $train export --run-dir "$run" --out "$bundle" --name ns2d-v2
say "evaluation"
step $train evaluate --run-dir "$run" --data "$data" --bundle "$bundle" --out "$bundle"
step $train super-res --bundle "$bundle" --sparse 2 4 --data "$data" --traj 8 --threads 2
step $train sampler-study --bundle "$bundle" --data "$data" --threads 2
