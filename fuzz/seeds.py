"""Write the fuzz targets' seed files with VTK's own writers (the files users bring).

Tiny meshes in every encoding the readers handle. Run with the project's Python environment:
    .venv/bin/python fuzz/seeds.py OUT_DIR
then minimise into fuzz/corpus/<target> with `cargo fuzz cmin` (see fuzz/README.md).
"""
import itertools
import os
import sys

import vtk


def grid():
    """An unstructured grid with a tetra, a hexahedron, a wedge, a triangle and a vertex, point and cell data."""
    pts = vtk.vtkPoints()
    coords = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1), (2, 0, 0), (2, 1, 0)]
    for c in coords:
        pts.InsertNextPoint(*c)
    g = vtk.vtkUnstructuredGrid()
    g.SetPoints(pts)
    g.InsertNextCell(vtk.VTK_HEXAHEDRON, 8, list(range(8)))
    g.InsertNextCell(vtk.VTK_TETRA, 4, [1, 8, 9, 5])
    g.InsertNextCell(vtk.VTK_WEDGE, 6, [1, 8, 2, 5, 9, 6])
    g.InsertNextCell(vtk.VTK_TRIANGLE, 3, [0, 1, 2])
    g.InsertNextCell(vtk.VTK_VERTEX, 1, [3])
    add_fields(g, len(coords), 5)
    return g


def poly():
    """Poly data with verts, lines, polys and strips."""
    pts = vtk.vtkPoints()
    for c in [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0), (2, 1, 0)]:
        pts.InsertNextPoint(*c)
    p = vtk.vtkPolyData()
    p.SetPoints(pts)
    for name, cells in [("SetVerts", [[0], [4, 5]]), ("SetLines", [[0, 1], [1, 2, 3]]), ("SetPolys", [[0, 1, 2], [0, 1, 2, 3], [1, 4, 5, 2, 3]]), ("SetStrips", [[0, 1, 3, 2, 4]])]:
        arr = vtk.vtkCellArray()
        for c in cells:
            arr.InsertNextCell(len(c), c)
        getattr(p, name)(arr)
    add_fields(p, 6, 8)
    return p


def image(dims):
    im = vtk.vtkImageData()
    im.SetDimensions(*dims)
    im.SetOrigin(0.5, -1, 0)
    im.SetSpacing(0.25, 0.5, 1)
    n = dims[0] * dims[1] * dims[2]
    cells = max(1, dims[0] - 1) * max(1, dims[1] - 1) * max(1, dims[2] - 1)
    add_fields(im, n, cells)
    return im


def add_fields(ds, npts, ncells):
    for data, n, specs in [(ds.GetPointData(), npts, [("p", vtk.vtkDoubleArray, 1), ("U", vtk.vtkFloatArray, 3), ("id", vtk.vtkIntArray, 1)]),
                           (ds.GetCellData(), ncells, [("c", vtk.vtkShortArray, 1), ("w", vtk.vtkUnsignedCharArray, 2)])]:
        for name, kind, comps in specs:
            a = kind()
            a.SetName(name)
            a.SetNumberOfComponents(comps)
            for i in range(n):
                a.InsertNextTuple([((i * 7 + k * 3) % 11) - 3.5 if kind in (vtk.vtkDoubleArray, vtk.vtkFloatArray) else (i + k) % 5 for k in range(comps)])
            data.AddArray(a)


def write_xml(writer_cls, data, path, mode, compress, h64, big):
    w = writer_cls()
    w.SetFileName(path)
    w.SetInputData(data)
    w.SetHeaderTypeToUInt64() if h64 else w.SetHeaderTypeToUInt32()
    w.SetByteOrderToBigEndian() if big else w.SetByteOrderToLittleEndian()
    if compress:
        w.SetCompressorTypeToZLib()
        w.SetBlockSize(64)  # several blocks per array
    else:
        w.SetCompressorTypeToNone()
    if mode == "ascii":
        w.SetDataModeToAscii()
    elif mode == "binary":
        w.SetDataModeToBinary()
    else:
        w.SetDataModeToAppended()
        w.SetEncodeAppendedData(mode == "appended-base64")
    assert w.Write() == 1, path


def main(out):
    xml_dir, legacy_dir, pvd_dir = (os.path.join(out, d) for d in ("xml", "legacy", "pvd"))
    for d in (xml_dir, legacy_dir, pvd_dir):
        os.makedirs(d, exist_ok=True)
    datasets = [("vtu", vtk.vtkXMLUnstructuredGridWriter, grid()), ("vtp", vtk.vtkXMLPolyDataWriter, poly()),
                ("vti", vtk.vtkXMLImageDataWriter, image((3, 2, 2))), ("2d.vti", vtk.vtkXMLImageDataWriter, image((3, 3, 1)))]
    for (ext, cls, data), mode in itertools.product(datasets, ["ascii", "binary", "appended-raw", "appended-base64"]):
        variants = [(False, False, False)] if mode == "ascii" else [(False, False, False), (True, False, False), (False, True, False), (True, True, True)]
        for compress, h64, big in variants:
            tag = f"{mode}{'-zlib' if compress else ''}{'-h64' if h64 else ''}{'-be' if big else ''}"
            write_xml(cls, data, os.path.join(xml_dir, f"{tag}.{ext}"), mode, compress, h64, big)
    # Legacy writers put active arrays in SCALARS/VECTORS sections (with a LOOKUP_TABLE) and the rest in FIELD blocks.
    poly_active = poly()
    poly_active.GetPointData().SetActiveScalars("p")
    poly_active.GetPointData().SetActiveVectors("U")
    for (name, cls, data), binary, version in itertools.product(
            [("ugrid", vtk.vtkUnstructuredGridWriter, grid()), ("poly", vtk.vtkPolyDataWriter, poly_active), ("image", vtk.vtkStructuredPointsWriter, image((3, 2, 1)))],
            [False, True], [42, 51]):
        w = cls()
        w.SetFileName(os.path.join(legacy_dir, f"{name}-{'binary' if binary else 'ascii'}-{version}.vtk"))
        w.SetInputData(data)
        w.SetFileTypeToBinary() if binary else w.SetFileTypeToASCII()
        w.SetFileVersion(version)
        assert w.Write() == 1
    pvds = {
        "three.pvd": '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n  <Collection>\n'
                     '    <DataSet timestep="0.5" group="" part="0" file="frames/f_0001.vtu"/>\n    <DataSet timestep="0" part="0" file="f_0000.vtu"/>\n'
                     '    <DataSet timestep="1e-3" file="f&amp;2.vtp"/>\n  </Collection>\n</VTKFile>\n',
        "parts.pvd": '<VTKFile type="Collection"><Collection><DataSet timestep="1" part="0" file="a.vtu"/>'
                     '<DataSet timestep="1" part="1" file="b.vtu"/></Collection></VTKFile>',
        "empty.pvd": '<VTKFile type="Collection"><Collection></Collection></VTKFile>',
    }
    for name, text in pvds.items():
        with open(os.path.join(pvd_dir, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main(sys.argv[1])
