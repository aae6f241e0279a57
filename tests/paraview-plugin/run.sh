#!/usr/bin/env bash
# Tests of the VTK filter vtkEchoForecast (paraview-plugin/Plugin/Filters) over the C++ bridge, without
# ParaView: build the filter and tests/paraview-plugin/test_vtk_filter.cxx against the VTK that
# Debian's ParaView ships (headers from paraview-dev, libvtk*-pv5.11), forecast the Navier-Stokes
# example with the filter and with the release CLI (same bundle, input, parameter and seed), and
# check that every output time step equals the CLI's frame at the CLI's Float32 precision, that a
# second run is cheaper than the first and a time step change reuses the forecast, and that a
# bundle whose fields the dataset lacks (and a missing bundle) are reported as VTK errors.
# Needs scripts/setup.sh (release CLI and C++ bridge: cargo build --release --manifest-path
# cxx-bridge/Cargo.toml --target-dir target) and scripts/setup-paraview.sh --plugin (paraview-dev).
# Then the same in pvpython with the plugin (tests/paraview-plugin/check_plugin.py), ParaView's PVD
# reader for the input, and a screenshot of the last predicted frame (WORK_DIR/forecast-last-step.png).
# Last, the filter on an OpenFOAM result read by ParaView's OpenFOAM reader, against the CLI
# (tests/paraview-plugin/check_openfoam.py).
# Usage: tests/paraview-plugin/run.sh [WORK_DIR]   (default: target/paraview-plugin-tests, recreated)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-$PWD/target/paraview-plugin-tests}
rm -rf "$work"
mkdir -p "$work/build" "$work/bad-bundle"
start=$(date +%s%N)
bundle=onnx/bundles/ns2d-vorticity
lib=target/release/libecho_onnx_cxx.a
[ -f "$lib" ] || { echo "error: $lib is missing: run scripts/setup.sh (or cargo build --release --manifest-path cxx-bridge/Cargo.toml --target-dir target)" >&2; exit 1; }
vtkinc=/usr/include/paraview-5.11
[ -f "$vtkinc/vtkAlgorithm.h" ] || { echo "error: $vtkinc/vtkAlgorithm.h is missing: run scripts/setup-paraview.sh --plugin (paraview-dev)" >&2; exit 1; }

# The filter and the test, built with one compiler job. Outside a CMake build the module's export
# header is a stub (the filter's symbols are exported by default).
echo '#define ECHOONNXFILTERS_EXPORT' > "$work/build/EchoOnnxFiltersModule.h"
flags=(-std=c++17 -O2 -I"$work/build" -Iinclude -Iparaview-plugin/Plugin/Filters -I"$vtkinc")
g++ "${flags[@]}" -c paraview-plugin/Plugin/Filters/vtkEchoForecast.cxx -o "$work/build/vtkEchoForecast.o"
g++ "${flags[@]}" -c tests/paraview-plugin/test_vtk_filter.cxx -o "$work/build/test_vtk_filter.o"
g++ -o "$work/build/test_vtk_filter" "$work/build/test_vtk_filter.o" "$work/build/vtkEchoForecast.o" \
  "$lib" -Wl,--exclude-libs,ALL \
  -lvtkIOXML-pv5.11 -lvtkIOCore-pv5.11 -lvtkCommonExecutionModel-pv5.11 -lvtkCommonDataModel-pv5.11 \
  -lvtkCommonCore-pv5.11 -lvtksys-pv5.11 -ldl -llzma -lgcc_s -lutil -lrt -lpthread -lm


# A bundle whose field the example lacks: the trained bundle's graphs, its field renamed to T.
cp "$bundle"/*.onnx "$work/bad-bundle/"
python3 - "$bundle/manifest.json" "$work/bad-bundle/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["fields"][0]["name"] = "T"
json.dump(m, open(sys.argv[2], "w"), indent=1)
PY

# The reference: the CLI on the same input, parameter and seed.
target/release/echo-onnx forecast --bundle "$bundle" --input "$bundle/example/input.pvd" --horizon 8 \
  --param viscosity=0.001 --seed 7 --out "$work/cli" --force
"$work/build/test_vtk_filter" "$bundle" "$bundle/example/input_0000.vtu" "$work/cli" 8 7 viscosity=0.001 \
  "$work/bad-bundle" viscosity=0.0003

# The plugin in pvpython (built by scripts/setup-paraview.sh --plugin; the test fails when it is
# missing or does not load), rendering under a virtual X server (Debian's ParaView is GLX-only).
plugin=${ECHO_PARAVIEW_PLUGIN:-build/paraview-plugin/lib/paraview-5.11/plugins/EchoOnnx/EchoOnnx.so}
[ -f "$plugin" ] || { echo "error: $plugin is missing: run scripts/setup-paraview.sh --plugin" >&2; exit 1; }
# Xvfb sometimes refuses the first connection on a loaded machine ("bad X server connection",
# an abort before any check ran): then once more, on a fresh server.
check_plugin() {
  xvfb-run -a -s "-screen 0 1280x1024x24" pvpython tests/paraview-plugin/check_plugin.py \
    "$plugin" "$bundle" "$bundle/example/input.pvd" "$work/cli" 8 7 viscosity=0.001 "$work/bad-bundle" \
    "$work/forecast-last-step.png" "$PWD/target/release/echo-onnx" 2>&1 | tee "$work/check_plugin.log"
}
if ! check_plugin; then
  grep -q "bad X server connection" "$work/check_plugin.log" || exit 1
  echo "(Xvfb refused the connection: once more)"
  check_plugin
fi
# An OpenFOAM result read by ParaView's own OpenFOAM reader: the example case of the OpenFOAM
# plugin (scalarTransportFoam, cell field T) without the function object, and the test bundle
# adapted to T as tests/openfoam/run.sh makes it; the filter against the CLI on the same data.
command -v scalarTransportFoam >/dev/null ||
  { echo "error: scalarTransportFoam is missing: run scripts/setup-paraview.sh --plugin (Debian's openfoam)" >&2; exit 1; }
case=$work/foam-case
cp -r openfoam-plugin/example "$case"
sed -i '/#include "echoSurrogate"/d' "$case/system/controlDict"
(
  cd "$case"
  export WM_PROJECT_DIR=${WM_PROJECT_DIR:-/usr/share/openfoam}
  rm -rf 0 && cp -r 0.orig 0
  blockMesh >log.blockMesh 2>&1
  setFields >log.setFields 2>&1
  scalarTransportFoam >log.solver 2>&1
  touch case.foam
)
.venv/bin/echo-make-test-bundle --out "$work/raw-2d" >/dev/null
python3 openfoam-plugin/example/make-bundle.py "$work/raw-2d" "$work/foam-bundle"
pvpython tests/paraview-plugin/check_openfoam.py "$plugin" "$case/case.foam" \
  "$work/foam-bundle" "$PWD/target/release/echo-onnx" "$work"
# The same with two context frames (slots [[0, 1], [2, 3, 4], [5, 6, 7, 8]]: manifest-only), so
# that the filter gathers the last two input time steps through the pipeline's time loop.
cp -r "$work/foam-bundle" "$work/foam-bundle-ctx2"
python3 - "$work/foam-bundle-ctx2/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["time"]["context_frames"] = 2
m["time"]["slots"] = [[0, 1], [2, 3, 4], [5, 6, 7, 8]]
json.dump(m, open(sys.argv[1], "w"), indent=1)
PY
mkdir -p "$work/ctx2"
pvpython tests/paraview-plugin/check_openfoam.py "$plugin" "$case/case.foam" \
  "$work/foam-bundle-ctx2" "$PWD/target/release/echo-onnx" "$work/ctx2"

printf '\nParaView plugin tests passed in %s s\n' $((($(date +%s%N) - start) / 1000000000))
