#!/usr/bin/env bash
# Checks that the function object builds the OpenFOAM way (openfoam-plugin/Make/{files,options},
# `wmake libso`) and that the library it makes runs: a full OpenFOAM environment is made from the
# source tree scripts/setup-openfoam.sh downloads (its etc/bashrc, and its wmake, whose two tools
# are built here) with Debian's installed libraries, the plugin is built into a fresh
# FOAM_USER_LIBBIN, and the example case runs with that library alone on LD_LIBRARY_PATH.
# Needs scripts/setup.sh and scripts/setup-openfoam.sh (the headers and the bridge's static lib).
# Usage: tests/openfoam/wmake.sh [WORK_DIR]   (default: target/wmake-test, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
work=${1:-$root/target/wmake-test}
rm -rf "$work"
mkdir -p "$work/project" "$work/lib"
start=$(date +%s%N)
src=$(ls -d "$root"/build/openfoam/src/openfoam-*/ 2>/dev/null | head -1)
[ -f "$src/src/finiteVolume/lnInclude/fvCFD.H" ] || { echo "error: no OpenFOAM source with lnInclude under build/openfoam/src: run scripts/setup-openfoam.sh" >&2; exit 1; }

# A project directory of our own: the source's etc, bin, META-INFO and src (headers, lnInclude)
# are linked, wmake is copied because building its tools writes platforms/ next to it.
for d in etc bin META-INFO src; do ln -s "${src%/}/$d" "$work/project/$d"; done
cp -r "${src%/}/wmake" "$work/project/wmake"

(
  export USER=${USER:-$(id -un)}
  set +eu  # OpenFOAM's bashrc reads unset variables and returns non-zero statuses
  . "$work/project/etc/bashrc"
  set -eu
  export FOAM_USER_LIBBIN=$work/lib
  "$WM_DIR/src/Allmake" > "$work/log.Allmake" 2>&1
  cd openfoam-plugin
  wclean > /dev/null 2>&1  # objects of an earlier build (ignored by git) must not stand in
  wmake libso > "$work/log.wmake" 2>&1 || { tail -30 "$work/log.wmake" >&2; exit 1; }
)
lib=$work/lib/libechoSurrogate.so
[ -f "$lib" ] || { echo "FAIL: wmake libso did not write $lib" >&2; tail -30 "$work/log.wmake" >&2; exit 1; }
echo "ok   wmake libso wrote $lib ($(du -h "$lib" | cut -f1))"
leaked=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -cE 'cxxbridge|17h[0-9a-f]{16}E$|^_R|4echo3ffi|4echo9Surrogate' || true)
[ "$leaked" = 0 ] || { echo "FAIL: $lib exports $leaked Rust/bridge symbols" >&2; exit 1; }
echo "ok   it exports no Rust or bridge symbols"

# The example case with this library (and no other libechoSurrogate.so on the path).
.venv/bin/echo-make-test-bundle --out "$work/raw-2d" > /dev/null
cp -r openfoam-plugin/example "$work/case"
python3 openfoam-plugin/example/make-bundle.py "$work/raw-2d" "$work/case/bundle"
(
  cd "$work/case"
  export WM_PROJECT_DIR=/usr/share/openfoam LD_LIBRARY_PATH=$work/lib
  rm -rf 0 && cp -r 0.orig 0
  blockMesh > log.blockMesh 2>&1
  setFields > log.setFields 2>&1
  scalarTransportFoam > log.solver 2>&1
)
grep -q "echoSurrogate echo: forecast 8 frames" "$work/case/log.solver" ||
  { echo "FAIL: the solver did not run the function object from $lib" >&2; grep -i -m5 "echo\|warn" "$work/case/log.solver" >&2; exit 1; }
rows=$(grep -vc '^#' "$work/case/postProcessing/echo/0/error.dat")
[ "$rows" -ge 8 ] || { echo "FAIL: error.dat has $rows rows" >&2; exit 1; }
echo "ok   the example case ran the function object from it ($rows error rows, TEcho at $(ls -d "$work"/case/*/TEcho | wc -l) write times)"
printf '\nwmake test passed in %s s\n' $((($(date +%s%N) - start) / 1000000000))
