#!/usr/bin/env bash
# CFD meshes as users have them (issue 17): real OpenFOAM exports made here, resampled by the CLI.
# - cylinder: a graded 4-block O-grid around a cylinder (r = 0.5, square outer boundary, cells grow
#   10x away from the body), one cell thick in z (a 2D case); blockMesh + foamToVTK, no solver.
# - pitzDaily: the tutorial's blockMesh (graded, 12225 cells, a backward-facing step and a taper).
# - slab2: the cylinder with 2 cells in z (not a 2D case: a 2D grid must refuse linear).
# check.py adds analytic fields to the exports, runs `echo-onnx resample` (linear and Gaussian,
# point and cell data, 2D and 3D grids) and checks coverage against the geometry (nodes inside the
# cylinder / outside the channel, counted analytically) and values against the fields; and the model
# path's coverage (lift.footprint radius vs adaptive) on the cell centres as a point cloud.
# Needs OpenFOAM's binaries (blockMesh, foamToVTK), target/release/echo-onnx and .venv (numpy).
# Usage: tests/cfd-meshes/run.sh [WORK_DIR]   (default: target/cfd-meshes-tests, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${1:-$root/target/cfd-meshes-tests}
rm -rf "$work"
mkdir -p "$work"
export WM_PROJECT_DIR=${WM_PROJECT_DIR:-/usr/share/openfoam}
bin=${ECHO_ONNX:-$root/target/release/echo-onnx}
[ -x "$bin" ] || { echo "error: $bin is missing: cargo build --release" >&2; exit 1; }
tutorial=""
for d in "$WM_PROJECT_DIR/tutorials" /usr/share/doc/openfoam-examples/examples /usr/share/openfoam/tutorials; do
  [ -d "$d/incompressible/simpleFoam/pitzDaily/system" ] && { tutorial=$d/incompressible/simpleFoam/pitzDaily; break; }
done
[ -n "$tutorial" ] || { echo "error: the pitzDaily tutorial is missing (apt-get install openfoam-examples)" >&2; exit 1; }

# mesh NAME: blockMesh + foamToVTK in $work/NAME; the internal mesh ends up in $work/NAME.vtu.
mesh() {
  local case=$work/$1
  (cd "$case" && blockMesh >log.blockMesh 2>&1 && foamToVTK -noZero -noFaceZones -noPointValues >log.foamToVTK 2>&1) \
    || { echo "FAIL: $1: blockMesh/foamToVTK (see $case/log.*)" >&2; exit 1; }
  # foamToVTK in v1912 writes VTK/<case>_<time>/internal.vtu (or VTK/<case>_<time>.vtu); take the internal mesh.
  local vtu
  vtu=$(find "$case/VTK" -name 'internal.vtu' | head -1)
  [ -n "$vtu" ] || vtu=$(find "$case/VTK" -maxdepth 1 -name '*.vtu' | head -1)
  [ -n "$vtu" ] || { echo "FAIL: $1: foamToVTK wrote no .vtu" >&2; exit 1; }
  cp "$vtu" "$work/$1.vtu"
}

# case_dir NAME NZ: a case with the cylinder O-grid, NZ cells in z.
cylinder() {
  local case=$work/$1 nz=$2
  mkdir -p "$case/system" "$case/constant"
  cp "$tutorial/system/controlDict" "$case/system/"
  cp "$tutorial/system/fvSchemes" "$tutorial/system/fvSolution" "$case/system/"
  python3 tests/cfd-meshes/cylinder.py "$nz" >"$case/system/blockMeshDict"
  mesh "$1"
}

cylinder cylinder 1
cylinder slab2 2
cp -r "$tutorial" "$work/pitzDaily"
mesh pitzDaily

.venv/bin/python tests/cfd-meshes/check.py "$bin" "$work"
