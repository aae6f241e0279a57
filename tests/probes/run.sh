#!/usr/bin/env bash
# Full fields from probes on real OpenFOAM output (issue 13, part 4). Runs the plugin's example case
# (openfoam-plugin/example: scalarTransportFoam, a blob of T on a 96x96 unit square) with OpenFOAM's
# own `probes` function object in the ways users declare it, then the Rust test
# tests/probes_openfoam.rs reads the results with the CLI's readers and the CLI itself:
# - run:     `#includeFunc probes` with the case's system/probes (fields T and U, 12 probes), run to
#            t = 0.6, then restarted from t = 0.4 to 1: two start-time directories whose rows overlap.
# - inline:  a `type probes;` function written inline in controlDict, 5 probes.
# - outside: `#include "probesDict"` with one probe outside the mesh (OpenFOAM: "# Not Found").
# The Rust test copies these and edits them for the mismatches (dictionary changed after the run, NaN
# in a probe file, a field the dictionary lists without a file).
# Needs OpenFOAM's binaries (scripts/setup-openfoam.sh), .venv (scripts/setup.sh) and cargo.
# Usage: tests/probes/run.sh [WORK_DIR]   (default: target/probes-tests, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${1:-$root/target/probes-tests}
rm -rf "$work"
mkdir -p "$work"
export WM_PROJECT_DIR=${WM_PROJECT_DIR:-/usr/share/openfoam}
start=$(date +%s)

# The bundle: the 2D test bundle (random weights) adapted to the case's field T.
.venv/bin/echo-make-test-bundle --out "$work/raw-2d" >/dev/null
python3 openfoam-plugin/example/make-bundle.py "$work/raw-2d" "$work/bundle"

# functions BODY FILE: replace the functions entry of FILE's controlDict with BODY.
functions() {
  python3 - "$2" "$1" <<'PY'
import re, sys
path, body = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"functions\s*\{.*\}\s*$", "functions\n{\n" + body + "\n}\n", text, flags=re.S)
open(path, "w").write(text)
PY
}

# case NAME: the example case without the echoSurrogate function object, its mesh and T blob made.
case_dir() {
  local c=$work/$1
  cp -r openfoam-plugin/example "$c"
  rm -f "$c/system/echoSurrogate" "$c/Allrun" "$c/Allclean" "$c/make-bundle.py"
  rm -rf "$c/0" && cp -r "$c/0.orig" "$c/0"
  functions "" "$c/system/controlDict"
  (cd "$c" && blockMesh >log.blockMesh 2>&1 && setFields >log.setFields 2>&1) || { echo "FAIL: $1: blockMesh/setFields (see $c/log.*)" >&2; exit 1; }
}

solve() {
  (cd "$work/$1" && scalarTransportFoam >>log.scalarTransportFoam 2>&1) || { echo "FAIL: $1: scalarTransportFoam (see $work/$1/log.scalarTransportFoam)" >&2; exit 1; }
}

# run: #includeFunc with system/probes; a restart gives two start-time directories.
case_dir run
functions "    #includeFunc probes" "$work/run/system/controlDict"
cat >"$work/run/system/probes" <<'DICT'
/* the case's own probes: #includeFunc probes reads this file */
#includeEtc "caseDicts/postProcessing/probes/probes.cfg"
fields (T U);
probeLocations
(
    (0.1 0.1 0.01) (0.3 0.1 0.01) (0.5 0.1 0.01) (0.7 0.1 0.01)
    (0.2 0.45 0.01) (0.4 0.45 0.01) (0.6 0.45 0.01) (0.8 0.45 0.01)
    (0.15 0.8 0.01) (0.35 0.8 0.01) (0.55 0.8 0.01) (0.9 0.9 0.01)   // 12 probes
);
DICT
sed -i 's/^endTime .*/endTime         0.6;/' "$work/run/system/controlDict"
solve run
sed -i 's/^startTime .*/startTime       0.4;/; s/^endTime .*/endTime         1;/' "$work/run/system/controlDict"
solve run

# inline: a type probes function in controlDict itself.
case_dir inline
functions '    blobProbes
    {
        type            probes;
        libs            ("libsampling.so");
        writeControl    timeStep;
        writeInterval   5;
        fields          (T);
        probeLocations  ( (0.25 0.25 0.01) (0.5 0.5 0.01) (0.75 0.25 0.01) (0.25 0.75 0.01) (0.75 0.75 0.01) );
    }' "$work/inline/system/controlDict"
sed -i 's/^endTime .*/endTime         0.5;/' "$work/inline/system/controlDict"
solve inline

# outside: one probe beyond the unit square.
case_dir outside
functions '    #include "probesDict"' "$work/outside/system/controlDict"
cat >"$work/outside/system/probesDict" <<'DICT'
probes
{
    type            probes;
    libs            ("libsampling.so");
    fields          (T);
    probeLocations  ( (0.5 0.5 0.01) (1.5 0.5 0.01) );
}
DICT
sed -i 's/^endTime .*/endTime         0.1;/' "$work/outside/system/controlDict"
solve outside
grep -q "Did not find location" "$work/outside/log.scalarTransportFoam" || { echo "FAIL: OpenFOAM did not warn about the probe outside the mesh" >&2; exit 1; }
echo "OpenFOAM cases in $work ($(( $(date +%s) - start )) s)"

ECHO_PROBES_WORK=$work cargo test --release --locked --features openfoam-tests --test probes_openfoam
echo "probes tests passed ($(( $(date +%s) - start )) s)"
