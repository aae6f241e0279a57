"""The example files carry cells (issue 16), so that ParaView shows their fields, and the forecasts
made from them (which keep the input's cells), as surfaces: the shipped bundle example as quads on
its lattice, the generated analytic example as triangles, query.vtu as quads."""
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from echo_onnx.example import make_example
from echo_onnx.train.data import write_example
from echo_onnx.vtkxml import VTK_QUAD, VTK_TRIANGLE, read_pvd, read_vtu

BUNDLES = Path(__file__).resolve().parents[1] / "bundles"


def areas(mesh):
    """Signed area of each cell (shoelace over its points in order), float64."""
    conn, offsets, _ = mesh.cells
    starts = np.concatenate([[0], offsets[:-1]])
    out = []
    for s, e in zip(starts, offsets):
        xy = mesh.points[conn[s:e], :2].astype(np.float64)
        x, y = xy[:, 0], xy[:, 1]
        out.append(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    return np.array(out)


def check_lattice_quads(mesh, n):
    """(n-1)^2 counter-clockwise quads of one lattice spacing each, covering the lattice's span."""
    _, _, types = mesh.cells
    assert len(types) == (n - 1) ** 2 and np.all(types == VTK_QUAD)
    a = areas(mesh)
    spacing = np.diff(np.unique(mesh.points[:, 0]))[0]
    np.testing.assert_allclose(a, spacing ** 2, rtol=1e-5)


@pytest.mark.parametrize("name", ["ns2d-vorticity", "ns2d-v2"])
def test_shipped_example_is_a_quad_lattice(name):
    example = BUNDLES / name / "example"
    files = [f for _, f in read_pvd(example / "input.pvd") + read_pvd(example / "truth.pvd")]
    assert len(files) == 9
    first = read_vtu(files[0])
    check_lattice_quads(first, 64)
    for f in files[1:]:
        m = read_vtu(f)
        assert all(np.array_equal(a, b) for a, b in zip(m.cells, first.cells)), f
        assert m.point_data["vorticity"].shape == (64 * 64,)


def test_write_example_keeps_the_values_and_adds_quads(tmp_path):
    rng = np.random.default_rng(0)
    test = {"w": rng.standard_normal((2, 12, 8, 8)).astype(np.float32), "dt": 0.25}
    write_example(test, tmp_path)
    inp = read_vtu(tmp_path / "input_0000.vtu")
    check_lattice_quads(inp, 8)
    np.testing.assert_array_equal(inp.point_data["vorticity"], test["w"][0, 0].ravel())
    truth = read_pvd(tmp_path / "truth.pvd")
    assert [t for t, _ in truth] == [0.25 * k for k in range(1, 9)]
    np.testing.assert_array_equal(read_vtu(truth[-1][1]).point_data["vorticity"], test["w"][0, 8].ravel())


def test_generated_example_is_triangulated(tmp_path):
    make_example(tmp_path, points=500, frames=2, seed=3, query_side=10)
    a, b = read_vtu(tmp_path / "input_0000.vtu"), read_vtu(tmp_path / "input_0001.vtu")
    assert np.all(a.cells[2] == VTK_TRIANGLE)
    assert all(np.array_equal(x, y) for x, y in zip(a.cells, b.cells))
    # Delaunay: counter-clockwise, no slivers of zero area, and together they tile the convex hull.
    tri_areas = areas(a)
    assert np.all(tri_areas > 0)
    np.testing.assert_allclose(tri_areas.sum(), ConvexHull(a.points[:, :2].astype(np.float64)).volume, rtol=1e-6)
    check_lattice_quads(read_vtu(tmp_path / "query.vtu"), 10)
