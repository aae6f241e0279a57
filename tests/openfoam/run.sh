#!/usr/bin/env bash
# End-to-end tests of the C++ bridge and the echoSurrogate function object with the real solver:
# the example case (openfoam-plugin/example, scalarTransportFoam) serially and on 2 MPI ranks in
# each mode, a bundle that does not match the case (fields; dimension; serial and parallel), and
# failOnError no, every kind of bad dictionary entry (fatal at read(), or a warning with
# failOnError no), and ensembles (serial and parallel; against the CLI's --ensemble 4 on the same
# cells; ensemble 1 as without the entry; maxSpread stopping the surrogate; warmStart). The
# assertions are in check.py (logs, written fields, error files, serial vs parallel agreement to
# 1e-6 relative).
# Needs scripts/setup.sh and scripts/setup-openfoam.sh (scripts/test.sh runs both).
# Usage: tests/openfoam/run.sh [WORK_DIR]   (default: target/openfoam-tests, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
. "$root/tests/openfoam/solve.sh"
work=${1:-$root/target/openfoam-tests}
rm -rf "$work"
mkdir -p "$work"

export WM_PROJECT_DIR=${WM_PROJECT_DIR:-/usr/share/openfoam}
export LD_LIBRARY_PATH=$root/build/openfoam/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
lib=$root/build/openfoam/lib/libechoSurrogate.so
[ -f "$lib" ] || { echo "error: $lib is missing: run scripts/setup-openfoam.sh" >&2; exit 1; }
cli=$root/target/release/echo-onnx
[ -x "$cli" ] || { echo "error: $cli is missing: run cargo build --release" >&2; exit 1; }
start=$(date +%s%N)

say() { printf '\n-- %s\n' "$*"; }

# Bundles: the 2D test bundle adapted to the case (T), one with a vector and a scalar field
# (U T), the raw 2D one (field 'vorticity': does not match) and a 3D one whose field is called T
# (dimension does not match).
say "bundles"
.venv/bin/echo-make-test-bundle --out "$work/raw-2d" >/dev/null
.venv/bin/echo-make-test-bundle --out "$work/raw-3d" --dim 3 >/dev/null
python3 openfoam-plugin/example/make-bundle.py "$work/raw-2d" "$work/bundle"
.venv/bin/python tests/openfoam/vector_bundle.py "$work/bundle-ut"
cp -r "$work/raw-3d" "$work/bundle-3d"
python3 - "$work/bundle-3d/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1])); m["fields"][0]["name"] = "T"
json.dump(m, open(sys.argv[1], "w"), indent=2)
EOF

say "C++ bridge smoke test (public header + static library, FP traps on)"
build/openfoam/bin/echo-cxx-smoke "$work/raw-2d"
# The plugin keeps the bridge's Rust and C++ symbols private (-Wl,--exclude-libs,ALL), so two
# Rust-based libraries in one solver cannot clash.
# (Rust: hashed legacy or v0 manglings; the bridge: cxxbridge, echo::ffi, the facade echo::Surrogate.)
leaked=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -cE 'cxxbridge|17h[0-9a-f]{16}E$|^_R|4echo3ffi|4echo9Surrogate' || true)
[ "$leaked" = 0 ] || { echo "FAIL: $lib exports $leaked Rust/bridge symbols" >&2; exit 1; }
echo "ok   $lib exports no Rust or bridge symbols"

# run_case NAME RANKS BUNDLE MODE [KEY VALUE]...: copy the example, set the function object's
# entries, run it; the exit status goes to NAME/rc. NO_BLOB=1 leaves T zero (no setFields).
run_case() {
  local name=$1 ranks=$2 bundle=$3 mode=$4
  shift 4
  local case=$work/$name
  cp -r openfoam-plugin/example "$case"
  local fo=$case/system/echoSurrogate
  sed -i "s|^\( *bundle *\).*|\1\"$bundle\";|; s|^\( *mode *\).*|\1$mode;|" "$fo"
  while [ $# -gt 0 ]; do
    sed -i "s|^\( *$1 *\).*;|\1$2;|" "$fo"
    grep -q "^ *$1 " "$fo" || sed -i "s|^\( *failOnError.*\)|\1\n    $1 $2;|" "$fo"
    shift 2
  done
  (
    cd "$case"
    rm -rf 0 && cp -r 0.orig 0
    blockMesh >log.blockMesh 2>&1
    [ -n "${NO_BLOB:-}" ] || setFields >log.setFields 2>&1
    local t0
    t0=$(date +%s%N)
    solve "$ranks"
    printf '%s: exit %s, %s ms\n' "$name" "$(cat rc)" $((($(date +%s%N) - t0) / 1000000))
  )
}

say "cases"
run_case serial-surrogate 1 "$work/bundle" surrogate
run_case parallel-surrogate 2 "$work/bundle" surrogate
run_case serial-warmstart 1 "$work/bundle" warmStart
run_case parallel-warmstart 2 "$work/bundle" warmStart
run_case serial-vector 1 "$work/bundle-ut" surrogate fields "(U T)"
run_case parallel-vector 2 "$work/bundle-ut" surrogate fields "(U T)"
run_case serial-vector-warmstart 1 "$work/bundle-ut" warmStart fields "(U T)" warmStartTime 1.5
# interval off the bundle's lattice (dt 0.1): a warning, forecasts every 0.3 (echo-onnx's schedule).
run_case serial-interval 1 "$work/bundle" surrogate interval 0.25
# T zero everywhere (no blob: NO_BLOB skips setFields), so a relative error is undefined: nan.
NO_BLOB=1 run_case serial-zero-field 1 "$work/bundle" surrogate
# Ensembles: 4 members serially and on 2 ranks; ensemble 1 given explicitly (must be the run
# without the entry); maxSpread tiny (stops at the first predicted time) and in mid-run (check.py
# finds where from serial-ensemble's spreads); a warm start.
run_case serial-ensemble 1 "$work/bundle" surrogate ensemble 4
run_case parallel-ensemble 2 "$work/bundle" surrogate ensemble 4
run_case serial-ensemble-1 1 "$work/bundle" surrogate ensemble 1
run_case serial-maxspread-tiny 1 "$work/bundle" surrogate ensemble 4 maxSpread 1e-3
run_case serial-maxspread-mid 1 "$work/bundle" surrogate ensemble 4 maxSpread 0.45
run_case serial-warmstart-ensemble 1 "$work/bundle" warmStart ensemble 4
run_case serial-vector-ensemble 1 "$work/bundle-ut" surrogate fields "(U T)" ensemble 4
# The CLI's --ensemble 4 on the same cells and initial field (the case's time 0 as foamToVTK
# writes it), with the function object's settings: its mean and std are the ones to match.
(
  cd "$work/serial-ensemble"
  foamToVTK -time 0 -fields '(T)' -no-boundary -no-point-data -no-lagrangian >log.foamToVTK 2>&1
  "$cli" forecast --bundle "$work/bundle" --input VTK/serial-ensemble_0.vtm --seed 0 --steps 10 \
    --threads 1 --param DT=0.001 --ensemble 4 --out cli-ensemble --quiet
)
run_case mismatch-fields 1 "$work/raw-2d" surrogate
run_case mismatch-fields-parallel 2 "$work/raw-2d" surrogate
run_case mismatch-dim 1 "$work/bundle-3d" warmStart
run_case mismatch-warn 1 "$work/raw-2d" surrogate failOnError no
# Bad entries: each must stop the run at read(), naming the entry (check.py, BAD_ENTRIES), or
# with failOnError no be a warning after which the solver finishes without the surrogate.
run_case bad-steps-negative 1 "$work/bundle" surrogate steps -3
run_case bad-steps-range 1 "$work/bundle" surrogate steps 20000
run_case bad-steps-type 1 "$work/bundle" surrogate steps 1.5
run_case bad-horizon 1 "$work/bundle" surrogate horizon -1
run_case bad-threads 1 "$work/bundle" surrogate threads 5000
run_case bad-seed 1 "$work/bundle" surrogate seed -1
run_case bad-interval 1 "$work/bundle" surrogate interval -0.5
run_case bad-mode 1 "$work/bundle" sideways
run_case bad-method 1 "$work/bundle" surrogate method heun
run_case bad-device 1 "$work/bundle" surrogate device gpu
run_case bad-parameter 1 "$work/bundle" surrogate DT 5
run_case bad-warmstart-frame 1 "$work/bundle" warmStart warmStartFrame 9
run_case bad-warmstart-time 1 "$work/bundle" warmStart warmStartTime 5
run_case bad-ensemble-zero 1 "$work/bundle" surrogate ensemble 0
run_case bad-ensemble-negative 1 "$work/bundle" surrogate ensemble -2
run_case bad-ensemble-type 1 "$work/bundle" surrogate ensemble 2.5
run_case bad-maxspread-negative 1 "$work/bundle" surrogate ensemble 4 maxSpread -1
run_case bad-maxspread-no-ensemble 1 "$work/bundle" surrogate maxSpread 0.2
run_case bad-warmstart-frame-parallel 2 "$work/bundle" warmStart warmStartFrame 9
run_case bad-warmstart-frame-warn 1 "$work/bundle" warmStart warmStartFrame 9 failOnError no
run_case bad-steps-warn 1 "$work/bundle" surrogate steps -3 failOnError no
run_case bad-mode-warn 1 "$work/bundle" sideways failOnError no

say "checks"
python3 tests/openfoam/check.py "$work"
printf '\nOpenFOAM tests passed in %s s\n' $((($(date +%s%N) - start) / 1000000000))
