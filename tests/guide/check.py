"""Checks what docs/your-own-case.md's commands wrote (tests/guide/run.sh runs them first), opening
every mesh with ParaView's own readers, as the guide's reader would.

Usage: xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" pvpython check.py CASE_DIR
"""
import json
import math
import sys
from pathlib import Path

from paraview import servermanager
from paraview.simple import OpenDataFile, PVDReader
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOImage import vtkPNGReader

case = Path(sys.argv[1])
CELLS = 96 * 96
VTK_HEXAHEDRON = 12
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def fetch(proxy, t=None):
    """The dataset a reader gives at time t (a multiblock unwrapped to its first leaf)."""
    proxy.UpdatePipeline(t) if t is not None else proxy.UpdatePipeline()
    data = servermanager.Fetch(proxy)
    while data.IsA("vtkMultiBlockDataSet"):
        data = data.GetBlock(0)
    return data


def cell_array(data, name):
    a = data.GetCellData().GetArray(name)
    return None if a is None else vtk_to_numpy(a)


def check_case_mesh(data, label, fields=("T",)):
    n = data.GetNumberOfCells()
    check(n == CELLS, f"{label}: {n} cells (the case has {CELLS})")
    types = {data.GetCellType(i) for i in range(n)}
    check(types == {VTK_HEXAHEDRON}, f"{label}: cell types {sorted(types)} (the case's hexahedra)")
    for name in fields:
        v = cell_array(data, name)
        check(v is not None and len(v) == n and bool((v == v).all()), f"{label}: cell field {name}, finite")
        if v is not None:
            check(float(v.max()) > float(v.min()), f"{label}: {name} varies ({v.min():.3g} .. {v.max():.3g})")


# Step 2: the exported series, the index the guide gives echo-onnx (its first block is the internal mesh).
SERIES = "VTK/mycase.vtm.series"
exported = OpenDataFile(str(case / SERIES))
exported.UpdatePipelineInformation()
times = list(exported.TimestepValues)
check([round(t, 6) for t in times] == [round(0.2 * k, 6) for k in range(9)], f"{SERIES}: times {times}")
check_case_mesh(fetch(exported, times[-1]), f"{SERIES}, last step")

# Step 3: resample onto the 32 x 32 grid and back.
grid = fetch(OpenDataFile(str(case / "resampled/grid.vti")))
check(grid.GetDimensions()[:2] == (32, 32), f"resampled/grid.vti: dimensions {grid.GetDimensions()}")
check(grid.GetPointData().GetArray("T") is not None, "resampled/grid.vti: has T")
back = fetch(OpenDataFile(str(case / "resampled/resampled.vtu")))
check(back.GetNumberOfCells() == CELLS and cell_array(back, "T") is not None, "resampled/resampled.vtu: T on the case's cells")

# Step 5: the forecast, on the case's own cells.
forecast = PVDReader(FileName=str(case / "forecast/prediction.pvd"))
forecast.UpdatePipelineInformation()
ft = list(forecast.TimestepValues)
check([round(t, 6) for t in ft] == [round(1.6 + 0.1 * k, 6) for k in range(1, 9)], f"forecast/prediction.pvd: times {ft}")
for t in (ft[0], ft[-1]):
    check_case_mesh(fetch(forecast, t), f"forecast at t = {t:g}")

# Step 6: the picture of the last step, coloured (not one flat colour, not empty).
png = vtkPNGReader()
png.SetFileName(str(case / "forecast.png"))
png.Update()
dims = png.GetOutput().GetDimensions()
check(dims[:2] == (900, 800), f"forecast.png: {dims[0]}x{dims[1]}")
rgb = vtk_to_numpy(png.GetOutput().GetPointData().GetScalars())[:, :3]
distinct = len({tuple(p) for p in rgb[::5].tolist()})
check(distinct > 100, f"forecast.png: {distinct} distinct colours (the field's colour map)")

# Step 7: the function object's prediction next to the solver's T, and its error file.
log = (case / "log.scalarTransportFoam").read_text()
check("echoSurrogate echo: forecast" in log, "log.scalarTransportFoam: the function object forecast")
written = sorted(p.parent.name for p in case.glob("*/TEcho"))
check(len(written) >= 4, f"TEcho written at t = {written}")
solver = OpenDataFile(str(case / SERIES))
solver.UpdatePipelineInformation()
check_case_mesh(fetch(solver, 0.8), "VTK at t = 0.8 (after the function-object run)", fields=("T", "TEcho"))
rows = [line.split() for line in (case / "postProcessing/echo/0/error.dat").read_text().splitlines()
        if line.strip() and not line.startswith("#")]
errors = [float(r[2]) for r in rows]
check(len(rows) >= 8 and all(math.isfinite(e) and e > 0 for e in errors),
      f"postProcessing/echo/0/error.dat: {len(rows)} rows, errors {min(errors, default=0):.3g} .. {max(errors, default=0):.3g}")

# Step 8: the smoke-trained bundle.
manifest = json.loads((case / "train/bundle/manifest.json").read_text())
graphs = sorted(p.name for p in (case / "train/bundle").glob("*.onnx"))
check(len(graphs) >= 4, f"train/bundle: graphs {graphs}, fields {[f['name'] for f in manifest['fields']]}")

if failures:
    sys.exit(f"{len(failures)} guide check(s) failed")
print("guide checks passed")
