"""Minimal VTK XML UnstructuredGrid (.vtu) and Collection (.pvd) I/O.

Writer: appended raw data (`<AppendedData encoding="raw">_` then blocks of a UInt64 byte count and
the little-endian bytes), which is what VTK/ParaView write by default.
Reader: appended raw, inline `binary` (base64; one stream of header + data as the Rust writer does,
or header and data encoded separately as VTK does), and `ascii`. Compressed files are refused.
"""

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

VTK_VERTEX = 1
VTK_TRIANGLE = 5
VTK_QUAD = 9
_TYPES = {"Float32": "<f4", "Float64": "<f8", "Int8": "i1", "UInt8": "u1", "Int16": "<i2",
          "UInt16": "<u2", "Int32": "<i4", "UInt32": "<u4", "Int64": "<i8", "UInt64": "<u8"}
_NAMES = {np.dtype(v): k for k, v in _TYPES.items()}


class Mesh:
    """Points [N, 3], cells (connectivity, offsets, types) and named point/cell arrays ([N] or [N, c])."""

    def __init__(self, points, point_data=None, cell_data=None, cells=None):
        self.points = np.asarray(points)
        self.point_data = dict(point_data or {})
        self.cell_data = dict(cell_data or {})
        if cells is None:  # one VTK_VERTEX per point: a point cloud ParaView can show
            n = len(self.points)
            cells = (np.arange(n, dtype=np.int64), np.arange(1, n + 1, dtype=np.int64),
                     np.full(n, VTK_VERTEX, dtype=np.uint8))
        self.cells = tuple(np.asarray(c) for c in cells)

    def cell_centres(self) -> np.ndarray:
        """Mean of each cell's points (where cell-associated fields live)."""
        conn, offsets, _ = self.cells
        starts = np.concatenate([[0], offsets[:-1]])
        sums = np.add.reduceat(self.points[conn].astype(np.float64), starts, axis=0)
        return sums / (offsets - starts)[:, None]


# ---------------------------------------------------------------- writing

def lattice_cells(nx: int, ny: int):
    """Quads joining the points of an nx x ny lattice stored x fastest (cells for Mesh): with them
    ParaView shows the lattice as a surface (a coloured field), not as a cloud of vertices."""
    j, i = np.meshgrid(np.arange(ny - 1), np.arange(nx - 1), indexing="ij")
    p = (j * nx + i).ravel()
    conn = np.stack([p, p + 1, p + nx + 1, p + nx], axis=1).ravel().astype(np.int64)  # counter-clockwise
    n = len(p)
    return conn, 4 * np.arange(1, n + 1, dtype=np.int64), np.full(n, VTK_QUAD, dtype=np.uint8)


def triangle_cells(points):
    """Delaunay triangles of scattered 2D points (x, y of points [N, >=2]) as cells for Mesh, all
    counter-clockwise: a point cloud that displays as a surface. Qhull is deterministic for the
    same input, so generated files stay byte-identical."""
    from scipy.spatial import Delaunay
    xy = np.asarray(points, dtype=np.float64)[:, :2]
    tri = Delaunay(xy).simplices.astype(np.int64)
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    cw = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]) < 0
    tri[cw] = tri[cw][:, ::-1]
    n = len(tri)
    return tri.ravel(), 3 * np.arange(1, n + 1, dtype=np.int64), np.full(n, VTK_TRIANGLE, dtype=np.uint8)



def _inline(array: np.ndarray, compress: bool) -> str:
    """An array as inline base64 (format="binary"): UInt64 byte count + data in one base64 stream, or
    with `compress` VTK's vtkZLibDataCompressor layout, the header [1, size, size, compressed size]
    and the zlib stream encoded separately (as VTK writes it)."""
    data = array.tobytes()
    if not compress:
        return base64.b64encode(np.uint64(len(data)).tobytes() + data).decode()
    import zlib
    packed = zlib.compress(data, 9)
    head = np.array([1, len(data), len(data), len(packed)], dtype="<u8").tobytes()
    return base64.b64encode(head).decode() + base64.b64encode(packed).decode()


def write_vtu(path, mesh: Mesh, compress: bool = False) -> None:
    """Write `mesh` as an UnstructuredGrid, every array inline base64 (UInt64 headers, little endian),
    zlib-compressed with `compress` (smaller files for shipped examples). Not appended raw data:
    Debian's ParaView 5.11 (VTK 9.2) cannot read that once libexpat defers reparsing (the fix of
    CVE-2023-52425); src/mesh/write.rs says more."""
    def arr(name, a):
        a = np.ascontiguousarray(a, dtype=np.asarray(a).dtype.newbyteorder("<"))
        comps = a.shape[1] if a.ndim == 2 else 1
        return (f'        <DataArray type="{_NAMES[a.dtype]}" Name="{name}" NumberOfComponents="{comps}" '
                f'format="binary">{_inline(a, compress)}</DataArray>')

    conn, offs, types = mesh.cells
    xml = ['<?xml version="1.0"?>',
           '<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64"'
           + (' compressor="vtkZLibDataCompressor">' if compress else ">"),
           "  <UnstructuredGrid>",
           f'    <Piece NumberOfPoints="{len(mesh.points)}" NumberOfCells="{len(types)}">']
    for tag, data in (("PointData", mesh.point_data), ("CellData", mesh.cell_data)):
        xml += [f"      <{tag}>"] + [arr(name, a) for name, a in data.items()] + [f"      </{tag}>"]
    xml += ["      <Points>", arr("Points", mesh.points), "      </Points>", "      <Cells>",
            arr("connectivity", conn.astype(np.int64)), arr("offsets", offs.astype(np.int64)), arr("types", types.astype(np.uint8)),
            "      </Cells>", "    </Piece>", "  </UnstructuredGrid>", "</VTKFile>", ""]
    Path(path).write_text("\n".join(xml))


# ---------------------------------------------------------------- reading

def _split_appended(raw: bytes):
    """(XML text without the appended block, the appended bytes after '_' or None)."""
    start = raw.find(b"<AppendedData")
    if start < 0:
        return raw, None
    underscore = raw.index(b"_", raw.index(b">", start)) + 1
    return raw[:start] + b"</VTKFile>", raw[underscore:]


def _decode_base64(text: str, header_dtype) -> bytes:
    """Inline binary: base64 of (byte count header + data), either as one stream or as two."""
    text = "".join(text.split())
    hsize = np.dtype(header_dtype).itemsize
    hchars = 4 * ((hsize + 2) // 3)
    if "=" in text[:hchars]:  # header encoded on its own (VTK writes it so)
        n = int(np.frombuffer(base64.b64decode(text[:hchars]), header_dtype)[0])
        return base64.b64decode(text[hchars:])[:n]
    raw = base64.b64decode(text)
    n = int(np.frombuffer(raw[:hsize], header_dtype)[0])
    return raw[hsize:hsize + n]


def _inflate_blocks(packed: bytes, sizes) -> bytes:
    """The zlib streams of vtkZLibDataCompressor's blocks, one after the other, inflated and joined."""
    import zlib
    start, out = 0, []
    for size in np.asarray(sizes, dtype=np.int64):
        out.append(zlib.decompress(packed[start:start + size]))
        start += size
    return b"".join(out)


def _inflate_inline(text: str, header_dtype) -> bytes:
    """Inline compressed data: base64 of the header [blocks, block size, last size, compressed sizes...]
    then base64 of the zlib streams (VTK encodes the two separately)."""
    text = "".join(text.split())
    h = header_dtype.itemsize
    blocks = int(np.frombuffer(base64.b64decode(text[:4 * ((h + 2) // 3)])[:h], header_dtype)[0])
    hchars = 4 * (((3 + blocks) * h + 2) // 3)
    head = np.frombuffer(base64.b64decode(text[:hchars])[:(3 + blocks) * h], header_dtype)
    return _inflate_blocks(base64.b64decode(text[hchars:]), head[3:])


def _inflate_appended(appended, pos, header_dtype) -> bytes:
    """One appended array in vtkZLibDataCompressor's layout: [blocks, block size, last block size,
    compressed sizes...] then the zlib streams."""
    h = header_dtype.itemsize
    blocks = int(np.frombuffer(appended[pos:pos + h], header_dtype)[0])
    sizes = np.frombuffer(appended[pos + 3 * h:pos + (3 + blocks) * h], header_dtype)
    return _inflate_blocks(appended[pos + (3 + blocks) * h:], sizes)


def _read_array(el, appended, header_dtype, compressed=False) -> np.ndarray:
    dtype = np.dtype(_TYPES[el.get("type")])
    fmt = el.get("format")
    if fmt == "appended" and compressed:
        data = np.frombuffer(_inflate_appended(appended, int(el.get("offset")), header_dtype), dtype)
    elif fmt == "appended":
        pos = int(el.get("offset"))
        n = int(np.frombuffer(appended[pos:pos + header_dtype.itemsize], header_dtype)[0])
        start = pos + header_dtype.itemsize
        data = np.frombuffer(appended[start:start + n], dtype)
    elif fmt == "binary" and compressed:
        data = np.frombuffer(_inflate_inline(el.text or "", header_dtype), dtype)
    elif fmt == "binary":
        data = np.frombuffer(_decode_base64(el.text or "", header_dtype), dtype)
    elif fmt == "ascii":
        data = np.array((el.text or "").split(), dtype=dtype)
    else:
        raise ValueError(f"DataArray {el.get('Name')!r}: unknown format {fmt!r}")
    comps = int(el.get("NumberOfComponents", "1"))
    return data.reshape(-1, comps) if comps > 1 else data.copy()


def read_vtu(path) -> Mesh:
    """Read the first Piece of an UnstructuredGrid file (raw, base64 or ascii data; zlib-compressed or not)."""
    text, appended = _split_appended(Path(path).read_bytes())
    root = ET.fromstring(text)
    compressor = root.get("compressor")
    if compressor not in (None, "vtkZLibDataCompressor"):
        raise ValueError(f"{path}: only zlib compression is supported, not {compressor}")
    if root.get("byte_order", "LittleEndian") != "LittleEndian":
        raise ValueError(f"{path}: only little-endian files are supported")
    header = np.dtype(_TYPES[root.get("header_type", "UInt32")])
    piece = root.find("UnstructuredGrid/Piece")

    def arrays(tag):
        node = piece.find(tag)
        return {} if node is None else {e.get("Name"): _read_array(e, appended, header, bool(compressor))
                                         for e in node.findall("DataArray")}

    points = _read_array(piece.find("Points/DataArray"), appended, header, bool(compressor)).reshape(-1, 3)
    cells = arrays("Cells")
    return Mesh(points, arrays("PointData"), arrays("CellData"),
                (cells["connectivity"], cells["offsets"], cells["types"]))


def write_pvd(path, entries) -> None:
    """A Collection of (time, file name relative to the .pvd) entries."""
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">', "  <Collection>"]
    lines += [f'    <DataSet timestep="{float(t)!r}" group="" part="0" file="{f}"/>' for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    Path(path).write_text("\n".join(lines))


def read_pvd(path):
    """[(time, absolute Path)] in file order."""
    root = ET.parse(path).getroot()
    base = Path(path).parent
    return [(float(d.get("timestep", "0")), base / d.get("file")) for d in root.iter("DataSet")]

