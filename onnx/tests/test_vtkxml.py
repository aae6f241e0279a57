import base64

import numpy as np

from echo_onnx.vtkxml import Mesh, read_pvd, read_vtu, write_pvd, write_vtu


def sample_mesh():
    rng = np.random.default_rng(0)
    pts = rng.random((10, 3))
    return Mesh(pts, {"s": rng.random(10).astype(np.float32), "v": rng.random((10, 3))})


def assert_same(a: Mesh, b: Mesh):
    np.testing.assert_array_equal(a.points, b.points)
    assert a.point_data.keys() == b.point_data.keys()
    for k in a.point_data:
        assert a.point_data[k].dtype == b.point_data[k].dtype
        np.testing.assert_array_equal(a.point_data[k], b.point_data[k])
    for x, y in zip(a.cells, b.cells):
        np.testing.assert_array_equal(x, y)


def test_inline_base64_round_trip(tmp_path):
    """Inline base64, not appended raw data (which Debian's ParaView 5.11 cannot read with a patched
    libexpat: tests/paraview checks the files open there)."""
    m = sample_mesh()
    write_vtu(tmp_path / "a.vtu", m)
    raw = (tmp_path / "a.vtu").read_bytes()
    assert b'format="binary"' in raw and b"AppendedData" not in raw and b'header_type="UInt64"' in raw
    assert_same(m, read_vtu(tmp_path / "a.vtu"))


def test_zlib_compressed_round_trip_and_smaller(tmp_path):
    """compress=True writes vtkZLibDataCompressor blocks (what shipped examples use; the Rust reader
    reads them too, tests/mesh_io.rs) and reads back bit for bit."""
    rng = np.random.default_rng(1)
    m = Mesh(rng.random((2000, 3)), {"s": np.repeat(rng.random(200).astype(np.float32), 10)})
    write_vtu(tmp_path / "z.vtu", m, compress=True)
    write_vtu(tmp_path / "r.vtu", m)
    assert b'compressor="vtkZLibDataCompressor"' in (tmp_path / "z.vtu").read_bytes()
    assert (tmp_path / "z.vtu").stat().st_size < (tmp_path / "r.vtu").stat().st_size
    assert_same(m, read_vtu(tmp_path / "z.vtu"))


def test_given_cells_and_cell_centres(tmp_path):
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float64)
    cells = (np.array([0, 1, 2, 1, 3, 2]), np.array([3, 6]), np.array([5, 5], dtype=np.uint8))
    write_vtu(tmp_path / "t.vtu", Mesh(pts, cell_data={"c": np.array([1.0, 2.0])}, cells=cells))
    m = read_vtu(tmp_path / "t.vtu")
    np.testing.assert_array_equal(m.cell_data["c"], [1.0, 2.0])
    np.testing.assert_allclose(m.cell_centres(), [[1 / 3, 1 / 3, 0], [2 / 3, 2 / 3, 0]])


def test_reads_vtk_style_separately_encoded_base64(tmp_path):
    """VTK encodes the header and the data as two base64 streams; both layouts must read."""
    data = np.arange(5, dtype=np.float32)
    def two_streams(a):
        return base64.b64encode(np.uint64(a.nbytes).tobytes()).decode() + base64.b64encode(a.tobytes()).decode()

    text, pts = two_streams(data), two_streams(np.zeros(15, dtype=np.float32))
    (tmp_path / "c.vtu").write_text(
        '<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">'
        '<UnstructuredGrid><Piece NumberOfPoints="5" NumberOfCells="0"><PointData>'
        f'<DataArray type="Float32" Name="d" format="binary">{text}</DataArray></PointData>'
        f'<Points><DataArray type="Float32" NumberOfComponents="3" format="binary">{pts}</DataArray></Points>'
        '<Cells><DataArray type="Int64" Name="connectivity" format="ascii"></DataArray>'
        '<DataArray type="Int64" Name="offsets" format="ascii"></DataArray>'
        '<DataArray type="UInt8" Name="types" format="ascii"></DataArray></Cells>'
        '</Piece></UnstructuredGrid></VTKFile>')
    m = read_vtu(tmp_path / "c.vtu")
    np.testing.assert_array_equal(m.point_data["d"], data)
    assert m.points.shape == (5, 3)


def test_pvd_round_trip(tmp_path):
    write_pvd(tmp_path / "s.pvd", [(0.0, "a.vtu"), (0.1, "b.vtu")])
    assert read_pvd(tmp_path / "s.pvd") == [(0.0, tmp_path / "a.vtu"), (0.1, tmp_path / "b.vtu")]
