"""pvpython check that a forecast plays in ParaView as a field, not as a cloud of points: the series
has the expected time steps, every frame's mesh has 2D cells (what a surface needs), and a screenshot
of the last step coloured by the field is mostly covered by the coloured surface.

Usage (tests/paraview/run.sh runs it):
    xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" pvpython check_forecast.py PREDICTION.pvd FIELD STEPS PNG
"""
import sys

from paraview import servermanager
from paraview.simple import (ColorBy, CreateView, GetColorTransferFunction, GetScalarBar, PVDReader,
                             Render, ResetCamera, SaveScreenshot, Show, Text)
from vtkmodules.vtkIOImage import vtkPNGReader
from vtkmodules.util.numpy_support import vtk_to_numpy

pvd, field, steps, png = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# VTK's 2D cell types: triangle, triangle strip, polygon, pixel, quad (and their quadratic kin).
CELLS_2D = {5, 6, 7, 8, 9, 22, 23, 28, 30}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


reader = PVDReader(FileName=pvd)
reader.UpdatePipelineInformation()
times = list(reader.TimestepValues)
check(len(times) == steps, f"{pvd} has {len(times)} time steps (want {steps})")


def dataset(t):
    """The reader's output at time t (a multiblock is unwrapped to its first leaf)."""
    reader.UpdatePipeline(t)
    data = servermanager.Fetch(reader)
    while data.IsA("vtkMultiBlockDataSet"):
        data = data.GetBlock(0)
    return data


for label, t in (("first", times[0]), ("last", times[-1])):
    data = dataset(t)
    n = data.GetNumberOfCells()
    types = sorted({data.GetCellType(i) for i in range(n)})
    check(n > 0, f"{label} step (t = {t}): {n} cells")
    check(bool(types) and set(types) <= CELLS_2D, f"{label} step: cell types {types} are 2D")
    array = data.GetPointData().GetArray(field) or data.GetCellData().GetArray(field)
    check(array is not None, f"{label} step: has the field '{field}'")
    if array is not None:
        lo, hi = array.GetRange()
        check(hi > lo, f"{label} step: '{field}' varies ({lo:.3g} .. {hi:.3g})")

# The picture: the last step coloured by the field, as a user sees it after pressing "Last Frame".
view = CreateView("RenderView")
view.ViewSize = [1000, 800]
view.ViewTime = times[-1]
view.OrientationAxesVisibility = 0
view.Background = [1.0, 1.0, 1.0]
try:  # ParaView >= 5.10 uses a palette background unless told otherwise
    view.UseColorPaletteForBackground = 0
except AttributeError:
    pass
display = Show(reader, view)
association = "POINTS" if dataset(times[-1]).GetPointData().GetArray(field) else "CELLS"
ColorBy(display, (association, field))
display.RescaleTransferFunctionToDataRange(False, True)
display.SetScalarBarVisibility(view, True)
lut = GetColorTransferFunction(field)
lut.ApplyPreset("Cool to Warm", True)
bar = GetScalarBar(lut, view)
bar.Title, bar.ComponentTitle, bar.HorizontalTitle = field, "", 1
bar.TitleColor = bar.LabelColor = [0.0, 0.0, 0.0]  # the default white is invisible on white
bar.WindowLocation, bar.Position, bar.ScalarBarLength = "Any Location", [0.89, 0.1], 0.5  # right of the square
label = Show(Text(Text=f"t = {times[-1]:g}"), view)  # which step this is
label.WindowLocation, label.Color, label.FontSize = "Upper Left Corner", [0.0, 0.0, 0.0], 14
view.CameraParallelProjection = 1
ResetCamera(view)
view.CameraParallelScale *= 0.75  # fill the view: ResetCamera leaves a wide margin
Render(view)
SaveScreenshot(png, view, ImageResolution=[1000, 800])

# A surface covers most of the view (a 2D square fills its height); a point cloud (vertex cells) leaves it almost all white.
image = vtkPNGReader()
image.SetFileName(png)
image.Update()
dims = image.GetOutput().GetDimensions()
rgb = vtk_to_numpy(image.GetOutput().GetPointData().GetScalars())[:, :3].astype(int)
coloured = (abs(rgb - 255).sum(axis=1) > 30).mean()
check(coloured > 0.5, f"{png} ({dims[0]}x{dims[1]}): {coloured:.0%} of the pixels are coloured (a surface, not points)")
distinct = len({tuple(p) for p in rgb[::7]})
check(distinct > 100, f"{png}: {distinct} distinct colours (the field's colour map, not one flat colour)")

if failures:
    sys.exit(f"{len(failures)} ParaView check(s) failed")
print("ParaView checks passed")
