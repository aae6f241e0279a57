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
# Then the echoSurrogate function object on the cylinder with adaptive and radius bundles, serial
# and on 2 MPI ranks (check_fo.py).
# Needs OpenFOAM's binaries (blockMesh, foamToVTK), target/release/echo-onnx, .venv (numpy) and
# scripts/setup-openfoam.sh (the function object).
# Usage: tests/cfd-meshes/run.sh [WORK_DIR]   (default: target/cfd-meshes-tests, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. "$root/tests/openfoam/solve.sh"
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

# The function object on the graded cylinder (echoSurrogate, scalarTransportFoam): the OpenFOAM
# example's test bundle (T) on the cylinder's box with lift.radius 0.5 (0.065 on its 32 x 32 grid,
# finer than the far-field cells: false holes with radius), lift.footprint adaptive serially and on 2 ranks
# (decomposePar: the ranks meet across the cylinder), and radius serially. One forecast from the
# initial fields, so serial and parallel predictions must agree bit for bit; check_fo.py also
# compares the logged coverage with the numpy reference's (which the CLI matches) on the case's
# own cell centres.
lib=$root/build/openfoam/lib/libechoSurrogate.so
[ -f "$lib" ] || { echo "error: $lib is missing: run scripts/setup-openfoam.sh" >&2; exit 1; }
export LD_LIBRARY_PATH=$root/build/openfoam/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
.venv/bin/echo-make-test-bundle --out "$work/raw-2d" >/dev/null
for footprint in adaptive radius; do
  python3 openfoam-plugin/example/make-bundle.py "$work/raw-2d" "$work/bundle-$footprint"
  python3 - "$work/bundle-$footprint/manifest.json" "$footprint" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["latent_grid"]["bbox"] = {"min": [-2.0123, -2.0131], "max": [2.0147, 2.0109]}
m["lift"].update(footprint=sys.argv[2], radius=0.5)
json.dump(m, open(sys.argv[1], "w"), indent=2)
EOF
done

# fo_case NAME FOOTPRINT RANKS: the cylinder's mesh, a blob of T in a uniform U, the example's
# system files, the function object with bundle-FOOTPRINT; the exit status goes to NAME/rc.
fo_case() {
  local case=$work/$1 footprint=$2 ranks=$3
  mkdir -p "$case/0"
  cp -r openfoam-plugin/example/system openfoam-plugin/example/constant "$case/"
  cp -r "$work/cylinder/constant/polyMesh" "$case/constant/"
  sed -i 's|^\( *bundle *\).*|\1"'"$work/bundle-$footprint"'";|' "$case/system/echoSurrogate"
  sed -i 's|^endTime .*|endTime         0.8;|' "$case/system/controlDict"
  sed -i 's|box (.*);|box (-1.6 -0.4 -1) (-0.9 0.4 1);|' "$case/system/setFieldsDict"
  local bc='cylinder { type zeroGradient; } outer { type zeroGradient; } frontAndBack { type empty; }'
  printf 'FoamFile { version 2.0; format ascii; class volScalarField; object T; }\ndimensions [0 0 0 1 0 0 0];\ninternalField uniform 0;\nboundaryField { %s }\n' "$bc" >"$case/0/T"
  bc='cylinder { type fixedValue; value uniform (0 0 0); } outer { type fixedValue; value uniform (0.5 0 0); } frontAndBack { type empty; }'
  printf 'FoamFile { version 2.0; format ascii; class volVectorField; object U; }\ndimensions [0 1 -1 0 0 0 0];\ninternalField uniform (0.5 0 0);\nboundaryField { %s }\n' "$bc" >"$case/0/U"
  (
    cd "$case"
    setFields >log.setFields 2>&1
    postProcess -func writeCellCentres -time 0 >log.writeCellCentres 2>&1
    solve "$ranks"
  )
}
fo_case fo-adaptive adaptive 1
fo_case fo-adaptive-parallel adaptive 2
fo_case fo-radius radius 1
.venv/bin/python tests/cfd-meshes/check_fo.py "$work"
