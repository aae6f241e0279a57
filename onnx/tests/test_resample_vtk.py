"""Agreement of `echo-onnx resample` with VTK's own filters on the same inputs.

Each test writes a mesh with VTK's XML writer (appended raw, zlib: what users bring), runs the CLI,
reads its grid.vti / resampled.vtu back with VTK, and compares with VTK's filter on the same mesh:
vtkPointInterpolator (Gaussian, Voronoi, Shepard kernels; N closest and radius footprints; the
closest-point null strategy) and vtkProbeFilter (linear inside cells; grid back to points).

Tolerance: 2e-5 absolute on values of order 1. echo-onnx stores weights and values in float32 and
sums in float64; VTK works in float64 on float32 arrays; the difference is float32 rounding.
VTK is a pinned requirement (onnx/requirements.txt): these tests do not skip without it.
"""

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import vtk
from scipy.spatial import Delaunay
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy

ROOT = Path(__file__).resolve().parents[2]
TOL = 2e-5
SHAPE = (48, 40)


@pytest.fixture(scope="session")
def cli():
    """The echo-onnx binary, built from this checkout."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "echo-onnx"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "echo-onnx"


def field(p):
    return np.sin(2 * np.pi * p[:, 0]) * np.cos(2 * np.pi * p[:, 1]) + 0.5 * p[:, 0]


def write_mesh(path, points, triangles, values):
    ug = vtk.vtkUnstructuredGrid()
    pts = vtk.vtkPoints()
    pts.SetData(numpy_to_vtk(np.ascontiguousarray(points), deep=True))
    ug.SetPoints(pts)
    cells = vtk.vtkCellArray()
    n = len(triangles)
    cells.SetData(numpy_to_vtkIdTypeArray(np.arange(0, 3 * n + 1, 3, dtype=np.int64), deep=True),
                  numpy_to_vtkIdTypeArray(triangles.astype(np.int64).ravel(), deep=True))
    ug.SetCells(vtk.VTK_TRIANGLE, cells)
    arr = numpy_to_vtk(values.astype(np.float64), deep=True)
    arr.SetName("f")
    ug.GetPointData().AddArray(arr)
    w = vtk.vtkXMLUnstructuredGridWriter()
    w.SetFileName(str(path))
    w.SetInputData(ug)
    assert w.Write() == 1
    return ug


def scattered(n=3000, seed=3, domain="square"):
    """Random points in the unit square (corners included), their Delaunay triangles, the field.
    `domain="L"` drops the triangles whose centroid is in the upper-right quarter."""
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    xy = np.vstack([rng.random((n - 4, 2)), corners])
    tris = Delaunay(xy).simplices
    if domain == "L":
        c = xy[tris].mean(axis=1)
        tris = tris[(c[:, 0] < 0.5) | (c[:, 1] < 0.5)]
    points = np.hstack([xy, np.zeros((n, 1))])
    return points, tris, field(points)


def image(shape):
    img = vtk.vtkImageData()
    img.SetDimensions(shape[0], shape[1], 1)
    img.SetSpacing(1.0 / (shape[0] - 1), 1.0 / (shape[1] - 1), 1.0)
    img.SetOrigin(0.0, 0.0, 0.0)
    return img


def run_cli(cli, tmp_path, mesh_path, *args):
    out = tmp_path / "out"
    proc = subprocess.run([str(cli), "--json", "resample", "--input", str(mesh_path), "--grid", "x".join(map(str, SHAPE)),
                           "--out", str(out), "--force", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(out / "grid.vti"))
    reader.Update()
    pd = reader.GetOutput().GetPointData()
    return vtk_to_numpy(pd.GetArray("f")).astype(np.float64), vtk_to_numpy(pd.GetArray("coverage")), out, summary


def vtk_interpolate(source, kernel, null_strategy=None):
    interp = vtk.vtkPointInterpolator()
    interp.SetInputData(image(SHAPE))
    interp.SetSourceData(source)
    interp.SetKernel(kernel)
    interp.SetLocator(vtk.vtkStaticPointLocator())
    if null_strategy is not None:
        interp.SetNullPointsStrategy(null_strategy)
    interp.Update()
    pd = interp.GetOutput().GetPointData()
    return vtk_to_numpy(pd.GetArray("f")).astype(np.float64), pd


def spacing():
    return 1.0 / (max(SHAPE) - 1)  # the smallest spacing: radii are in these units


def gaussian(footprint, radius_world):
    k = vtk.vtkGaussianKernel()
    if footprint == "closest":
        k.SetKernelFootprintToNClosest()
        k.SetNumberOfPoints(8)
    else:
        k.SetKernelFootprintToRadius()
    k.SetRadius(radius_world)
    k.SetSharpness(math.sqrt(2.0))  # echo-onnx sharpness 2
    return k


CASES = {
    # name: (CLI arguments, VTK kernel factory)
    "gaussian-8-closest": (["--kernel", "gaussian", "--neighbours", "8", "--radius", "6", "--sharpness", "2"], lambda: gaussian("closest", 6 * spacing())),
    "gaussian-radius": (["--kernel", "gaussian", "--neighbours", "all", "--radius", "2.5", "--sharpness", "2"], lambda: gaussian("radius", 2.5 * spacing())),
    "voronoi": (["--kernel", "nearest", "--neighbours", "1", "--radius", "inf"], vtk.vtkVoronoiKernel),
    "shepard-8-closest": (["--kernel", "idw", "--neighbours", "8", "--radius", "inf", "--power", "2"], None),
}


def shepard():
    k = vtk.vtkShepardKernel()
    k.SetKernelFootprintToNClosest()
    k.SetNumberOfPoints(8)
    k.SetPowerParameter(2.0)
    return k


@pytest.mark.parametrize("case", sorted(CASES))
def test_point_kernels_agree_with_vtk_point_interpolator(cli, tmp_path, case):
    points, tris, values = scattered()
    source = write_mesh(tmp_path / "in.vtu", points, tris, values)
    args, make_kernel = CASES[case]
    ours, coverage, _, _ = run_cli(cli, tmp_path, tmp_path / "in.vtu", *args)
    theirs, _ = vtk_interpolate(source, (make_kernel or shepard)())
    assert coverage.min() == 1.0
    # VTK's Gaussian kernel gives a point lying exactly on a node all the weight ("exact hit");
    # echo-onnx's stays a smooth Gaussian there. Here that is the 4 corners, data points and nodes.
    hit = np.zeros(ours.size, dtype=bool)
    if case.startswith("gaussian"):
        hit[[0, SHAPE[0] - 1, ours.size - SHAPE[0], ours.size - 1]] = True
    np.testing.assert_allclose(ours[~hit], theirs[~hit], rtol=0, atol=TOL)


def test_closest_point_strategy_agrees_with_vtk(cli, tmp_path):
    # Sparse points and a small radius: many nodes have no point in their footprint. A point cloud
    # (no cells), as vtkPointInterpolator sees any input: on a mesh with cells, our coverage comes
    # from the cells instead (every node inside them is covered, see the resample docs).
    points, _, values = scattered(n=200, seed=5)
    source = write_mesh(tmp_path / "in.vtu", points, np.zeros((0, 3), dtype=np.int64), values)
    ours, coverage, _, _ = run_cli(cli, tmp_path, tmp_path / "in.vtu", "--kernel", "gaussian", "--neighbours", "all",
                                   "--radius", "1.5", "--outside", "closest")
    theirs, pd = vtk_interpolate(source, gaussian("radius", 1.5 * spacing()), vtk.vtkPointInterpolator.CLOSEST_POINT)
    assert 0 < coverage.sum() < coverage.size
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL)
    # The mask strategy: VTK's valid-point mask is our coverage, and uncovered nodes get 0.
    masked, cov2, _, _ = run_cli(cli, tmp_path, tmp_path / "in.vtu", "--kernel", "gaussian", "--neighbours", "all", "--radius", "1.5")
    _, pd = vtk_interpolate(source, gaussian("radius", 1.5 * spacing()), vtk.vtkPointInterpolator.MASK_POINTS)
    np.testing.assert_array_equal(cov2, vtk_to_numpy(pd.GetArray("vtkValidPointMask")))
    assert np.all(masked[cov2 == 0] == 0.0)


@pytest.mark.parametrize("domain", ["square", "L"])
def test_linear_in_cells_agrees_with_vtk_probe_filter(cli, tmp_path, domain):
    points, tris, values = scattered(domain=domain)
    source = write_mesh(tmp_path / "in.vtu", points, tris, values)
    ours, coverage, _, _ = run_cli(cli, tmp_path, tmp_path / "in.vtu", "--kernel", "linear", "--outside", "null", "--null-value", "-9")
    probe = vtk.vtkProbeFilter()
    probe.SetInputData(image(SHAPE))
    probe.SetSourceData(source)
    probe.Update()
    pd = probe.GetOutput().GetPointData()
    theirs, valid = vtk_to_numpy(pd.GetArray("f")), vtk_to_numpy(pd.GetArray("vtkValidPointMask"))
    # Nodes exactly on the L's inner edges are inside for both up to rounding; compare the rest.
    np.testing.assert_array_equal(coverage, valid)
    np.testing.assert_allclose(ours[valid == 1], theirs[valid == 1], rtol=0, atol=TOL)
    assert np.all(ours[valid == 0] == -9.0)
    if domain == "L":
        assert 0 < valid.sum() < valid.size


def test_grid_back_to_points_agrees_with_vtk_probe_filter(cli, tmp_path):
    points, tris, values = scattered()
    write_mesh(tmp_path / "in.vtu", points, tris, values)
    _, _, out, _ = run_cli(cli, tmp_path, tmp_path / "in.vtu", "--kernel", "linear")
    grid = vtk.vtkXMLImageDataReader()
    grid.SetFileName(str(out / "grid.vti"))
    grid.Update()
    back = vtk.vtkXMLUnstructuredGridReader()
    back.SetFileName(str(out / "resampled.vtu"))
    back.Update()
    probe = vtk.vtkProbeFilter()
    probe.SetInputData(back.GetOutput())
    probe.SetSourceData(grid.GetOutput())
    probe.Update()
    ours = vtk_to_numpy(back.GetOutput().GetPointData().GetArray("f"))
    theirs = vtk_to_numpy(probe.GetOutput().GetPointData().GetArray("f"))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL)
