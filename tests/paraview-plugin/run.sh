#!/usr/bin/env bash
# Tests of the VTK filter vtkEchoForecast (paraview-plugin/Plugin/Filters) over the C++ bridge, without
# ParaView: build the filter and tests/paraview-plugin/test_vtk_filter.cxx against the VTK that
# Debian's ParaView ships (headers from paraview-dev, libvtk*-pv5.11), forecast the Navier-Stokes
# example with the filter and with the release CLI (same bundle, input, parameter and seed), and
# check that every output time step equals the CLI's frame at the CLI's Float32 precision, that a
# second run is cheaper than the first and a time step change reuses the forecast, and that a
# bundle whose fields the dataset lacks (and a missing bundle) are reported as VTK errors; that the
# filter lists the bundle's parameter with the manifest's range and default, reports an
# out-of-range value with the core's text, and equals the CLI's forecast --query on a denser
# second mesh and the CLI's inverse (both at Float32, exactly).
# Needs scripts/setup.sh (release CLI and C++ bridge: cargo build --release --manifest-path
# cxx-bridge/Cargo.toml --target-dir target) and scripts/setup-paraview.sh --plugin (paraview-dev).
# Then the same in pvpython with the plugin (tests/paraview-plugin/check_plugin.py), ParaView's PVD
# reader for the input, and a screenshot of the last predicted frame (WORK_DIR/forecast-last-step.png),
# plus the Task property (Inverse; Interpolate on three frames with gaps) and the Target Mesh input
# against the CLI, and the Bundle Parameters text and an out-of-range parameter in pvpython.
# Last, the filter on an OpenFOAM result read by ParaView's OpenFOAM reader, against the CLI
# (tests/paraview-plugin/check_openfoam.py), with the scalar T and with a bundle whose fields are
# a vector and a scalar, (U T).
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

# A second, denser mesh over the example's box (101 x 101 points, the example has 64 x 64), for
# the prediction on a target mesh (super-resolution), written by ParaView as an unstructured grid.
pvpython - "$bundle/example/input_0000.vtu" "$work/dense.vtu" <<'PY'
import sys
from paraview.simple import MergeBlocks, Plane, SaveData, XMLUnstructuredGridReader
b = XMLUnstructuredGridReader(FileName=[sys.argv[1]]).GetDataInformation().GetBounds()
plane = Plane(Origin=[b[0], b[2], 0], Point1=[b[1], b[2], 0], Point2=[b[0], b[3], 0], XResolution=100, YResolution=100)
SaveData(sys.argv[2], proxy=MergeBlocks(Input=plane), DataMode="Ascii")  # not raw appended: see README
PY
# Three frames with gaps (t = 0, 0.5, 1.25: 0.25, 0.75 and 1 are missing), for the Interpolate task.
mkdir -p "$work/gaps"
cp "$bundle/example/input_0000.vtu" "$bundle/example/truth_0002.vtu" "$bundle/example/truth_0005.vtu" "$work/gaps/"
cat >"$work/gaps/gaps.pvd" <<'PVD'
<?xml version="1.0"?>
<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">
  <Collection>
    <DataSet timestep="0.0" group="" part="0" file="input_0000.vtu"/>
    <DataSet timestep="0.5" group="" part="0" file="truth_0002.vtu"/>
    <DataSet timestep="1.25" group="" part="0" file="truth_0005.vtu"/>
  </Collection>
</VTKFile>
PVD
# The bundle's parameter as its manifest declares it: NAME MIN MAX DEFAULT.
read -r pname pmin pmax pdefault < <(python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))["parameters"][0]
print(p["name"], repr(p["min"]), repr(p["max"]), repr(p["default"]))' "$bundle/manifest.json")

# The references: the CLI on the same input, parameter and seed (forecast, forecast on the dense
# mesh, inverse, interpolate).
cli=target/release/echo-onnx
common=(--bundle "$bundle" --param viscosity=0.001 --seed 7 --force --quiet)
$cli forecast "${common[@]}" --input "$bundle/example/input.pvd" --horizon 8 --out "$work/cli"
$cli forecast "${common[@]}" --input "$bundle/example/input.pvd" --horizon 8 --query "$work/dense.vtu" --out "$work/cli-query"
$cli inverse "${common[@]}" --input "$bundle/example/input.pvd" --out "$work/cli-inverse"
$cli interpolate "${common[@]}" --input "$work/gaps/gaps.pvd" --out "$work/cli-interpolate"
"$work/build/test_vtk_filter" "$bundle" "$bundle/example/input_0000.vtu" "$work/cli" 8 7 viscosity=0.001 \
  "$work/bad-bundle" viscosity=0.0003 "$work/dense.vtu" "$work/cli-query" "$work/cli-inverse" \
  "$pname" "$pmin" "$pmax" "$pdefault"

# The plugin in pvpython (built by scripts/setup-paraview.sh --plugin; the test fails when it is
# missing or does not load), rendering under a virtual X server (Debian's ParaView is GLX-only).
plugin=${ECHO_PARAVIEW_PLUGIN:-build/paraview-plugin/lib/paraview-5.11/plugins/EchoOnnx/EchoOnnx.so}
[ -f "$plugin" ] || { echo "error: $plugin is missing: run scripts/setup-paraview.sh --plugin" >&2; exit 1; }
# -noreset: Open MPI, which pvpython initialises, probes the X displays through hwloc; when its probe
# was Xvfb's only client and disconnected, the server reset, and pvpython's own connection in that
# moment failed ("bad X server connection", an abort; 1 run in 2 on a loaded machine).
xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" pvpython tests/paraview-plugin/check_plugin.py \
  "$plugin" "$bundle" "$bundle/example/input.pvd" "$work/cli" 8 7 viscosity=0.001 "$work/bad-bundle" \
  "$work/forecast-last-step.png" "$PWD/target/release/echo-onnx" "$work/dense.vtu" "$work/cli-query" \
  "$work/cli-inverse" "$work/gaps/gaps.pvd" "$work/cli-interpolate" "$pname" "$pmin" "$pmax" "$pdefault"
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

# A bundle with a vector field: (U T) on the same case (tests/openfoam/vector_bundle.py, as the
# OpenFOAM plugin's tests use it): the reader's 3-component U against the bundle's 2 components,
# every component of U and T against the CLI.
.venv/bin/python tests/openfoam/vector_bundle.py "$work/vector-bundle" >/dev/null
mkdir -p "$work/vector"
pvpython tests/paraview-plugin/check_openfoam.py "$plugin" "$case/case.foam" \
  "$work/vector-bundle" "$PWD/target/release/echo-onnx" "$work/vector" U,T

printf '\nParaView plugin tests passed in %s s\n' $((($(date +%s%N) - start) / 1000000000))
