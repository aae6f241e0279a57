"""Write the Gmsh fixtures of tests/gmsh.rs with Gmsh itself (the PyPI `gmsh` wheel, 4.15.2 here).

    python3 -m venv /tmp/gmsh-venv && /tmp/gmsh-venv/bin/pip install gmsh numpy
    /tmp/gmsh-venv/bin/python tests/data/gmsh/make.py

Deterministic (fixed seed, fixed mesh sizes). Next to each mesh it writes what Gmsh's API says about
it (`*.json`: node tags and coordinates, elements, and the data values handed to Gmsh), which the
tests use as the oracle. Data values have at most 10 significant digits so that the 16 digits of
Gmsh's ASCII output give back the same double.
"""

import json
import os

import gmsh
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FLAVOURS = [("22_ascii", 2.2, 0), ("22_binary", 2.2, 1), ("41_ascii", 4.1, 0), ("41_binary", 4.1, 1)]


def rounded(a):
    return [float(f"{v:.10g}") for v in np.ravel(a)]


def write(model, stem, flavours, views, save_mesh=0):
    """Write the mesh in each flavour, then append every view (one $NodeData/$ElementData per step)."""
    for suffix, version, binary in flavours:
        path = os.path.join(HERE, f"{stem}_{suffix}.msh")
        gmsh.option.setNumber("Mesh.MshFileVersion", version)
        gmsh.option.setNumber("Mesh.Binary", binary)
        gmsh.option.setNumber("PostProcessing.SaveMesh", save_mesh)
        gmsh.write(path)
        for v in views:
            gmsh.view.write(v, path, append=True)


def oracle(stem, data):
    tags, coords, _ = gmsh.model.mesh.getNodes()
    elements = []
    for dim, tag in gmsh.model.getEntities():
        types, etags, enodes = gmsh.model.mesh.getElements(dim, tag)
        for t, et, en in zip(types, etags, enodes):
            n = len(en) // len(et)
            for k, e in enumerate(et):
                elements.append([int(e), int(t), [int(x) for x in en[k * n:(k + 1) * n]]])
    out = {
        "node_tags": [int(t) for t in tags],
        "coords": [float(c) for c in coords],
        "elements": sorted(elements),
        "data": data,
    }
    with open(os.path.join(HERE, f"{stem}.json"), "w") as f:
        json.dump(out, f)


def square(rng):
    """2D: triangles on [0,1]x[0,1] and quadrangles on [1,2]x[0,1]; point and cell data at 2 times."""
    gmsh.model.add("square")
    a = gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
    b = gmsh.model.occ.addRectangle(1, 0, 0, 1, 1)
    gmsh.model.occ.fragment([(2, a)], [(2, b)])
    gmsh.model.occ.synchronize()
    gmsh.model.mesh.setSize(gmsh.model.getEntities(0), 0.4)
    gmsh.model.mesh.setRecombine(2, b)
    gmsh.model.mesh.generate(2)
    tags, coords, _ = gmsh.model.mesh.getNodes()
    xyz = np.reshape(coords, (-1, 3))
    cells = []
    for t in (2, 3):
        et, _ = gmsh.model.mesh.getElementsByType(t)
        cells += [int(e) for e in et]
    data = {}
    views = []
    for name, kind, comps in [("p", "NodeData", 1), ("U", "NodeData", 3), ("rho", "ElementData", 1), ("cell_tag", "ElementData", 1)]:
        v = gmsh.view.add(name)
        views.append(v)
        for step, time in enumerate([0.25, 0.5]):
            ids = [int(t) for t in tags] if kind == "NodeData" else cells
            if name == "cell_tag":
                values = [float(e) for e in cells]
            elif name == "p":
                # Linear in x and y (plus the step): the resampling test checks it comes back on the grid.
                values = rounded(1.0 + 2.0 * xyz[:, 0] + 3.0 * xyz[:, 1] + step)
            else:
                values = rounded(rng.normal(size=len(ids) * comps))
            gmsh.view.addModelData(v, step, "square", kind, ids, [values[i * comps:(i + 1) * comps] for i in range(len(ids))],
                                   time=time, numComponents=comps)
            data.setdefault(name, []).append({"time": time, "kind": kind, "components": comps, "tags": ids, "values": values})
    write("square", "square", FLAVOURS, views)
    oracle("square", data)
    # A higher-order mesh: the reader must refuse it with a clear message.
    gmsh.model.mesh.setOrder(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.option.setNumber("Mesh.Binary", 0)
    gmsh.write(os.path.join(HERE, "square_order2.msh"))


def solid():
    """3D, built node by node: one hexahedron, prism, pyramid and tetrahedron (plus boundary triangles,
    quadrangles, lines and points that the reader drops), with sparse node tags in shuffled order.
    Gmsh's own VTK export of it (solid.vtk) is the oracle for the VTK node order."""
    gmsh.model.add("solid")
    vol = gmsh.model.addDiscreteEntity(3)
    face = gmsh.model.addDiscreteEntity(2)
    curve = gmsh.model.addDiscreteEntity(1)
    point = gmsh.model.addDiscreteEntity(0)
    pts = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1),  # hex
           (2, 0, 0), (2, 1, 0), (2, 0, 1), (2, 1, 1),  # prism beyond x = 1
           (0.5, 0.5, 2),  # pyramid apex above the hex top
           (0.5, -1, 0.5)]  # tetrahedron apex below y = 0
    ntags = [10 * (i + 1) + (i % 3) for i in range(len(pts))]  # sparse: 10, 21, 32, 40, ...
    order = [5, 0, 13, 2, 7, 1, 12, 3, 9, 4, 11, 6, 8, 10]  # written in this (shuffled) order
    gmsh.model.mesh.addNodes(3, vol, [ntags[i] for i in order], [c for i in order for c in pts[i]])
    t = lambda *idx: [ntags[i] for i in idx]
    gmsh.model.mesh.addElementsByType(vol, 5, [7], t(0, 1, 2, 3, 4, 5, 6, 7))
    gmsh.model.mesh.addElementsByType(vol, 6, [3], t(1, 8, 2, 5, 10, 6))
    gmsh.model.mesh.addElementsByType(vol, 7, [12], t(4, 5, 6, 7, 12))
    gmsh.model.mesh.addElementsByType(vol, 4, [5], t(0, 1, 13, 4))
    gmsh.model.mesh.addElementsByType(face, 3, [40], t(0, 3, 2, 1))
    gmsh.model.mesh.addElementsByType(face, 2, [41], t(1, 8, 2))
    gmsh.model.mesh.addElementsByType(curve, 1, [50], t(0, 1))
    gmsh.model.mesh.addElementsByType(point, 15, [60], t(13))
    cells = [7, 3, 12, 5]
    v = gmsh.view.add("volume")
    values = [1.0, 0.5, 0.25, 0.125]
    # Element data also on a dropped boundary element (40): ignored by the reader.
    gmsh.view.addModelData(v, 0, "solid", "ElementData", cells + [40], [[x] for x in values + [-1.0]], time=0.0)
    w = gmsh.view.add("position")
    gmsh.view.addModelData(w, 0, "solid", "NodeData", ntags, [list(p) for p in pts], time=0.0, numComponents=3)
    write("solid", "solid", [("41_ascii", 4.1, 0), ("22_binary", 2.2, 1)], [v, w])
    # Gmsh's default (PostProcessing.SaveMesh = 1) writes the mesh again with each appended view.
    write("solid", "solid", [("41_binary_savemesh", 4.1, 1)], [v, w], save_mesh=1)
    gmsh.option.setNumber("Mesh.Binary", 0)
    gmsh.write(os.path.join(HERE, "solid.vtk"))
    oracle("solid", {"volume": [{"time": 0.0, "kind": "ElementData", "components": 1, "tags": cells, "values": values}],
                     "position": [{"time": 0.0, "kind": "NodeData", "components": 3, "tags": ntags, "values": [c for p in pts for c in p]}]})


def main():
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    square(np.random.default_rng(9))
    solid()
    gmsh.finalize()


if __name__ == "__main__":
    main()
