# SPDX-License-Identifier: MIT OR Apache-2.0
"""Cl and Cd of arbitrary (U, p) frames on a preset's mesh, computed by OpenFOAM's own forceCoeffs
(the solver's definition: pressure + viscous force on the cylinder patch), so predicted fields and
solver fields are scored by the same tool."""

import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import case as cs
from . import foam


def _field_text(template: str, values: np.ndarray, kind: str) -> str:
    """The skeleton's 0/ file with its internalField replaced by `values` (boundaryField kept)."""
    if kind == "vector":
        rows = "\n".join(f"({u:.9g} {v:.9g} 0)" for u, v in values)
    else:
        rows = "\n".join(f"{s:.9g}" for s in values)
    body = f"internalField nonuniform List<{kind}>\n{len(values)}\n(\n{rows}\n)\n;"
    text, n = re.subn(r"internalField[^;]*;", lambda _: body, template, count=1)
    if n != 1:
        raise ValueError("template has no internalField")
    return text


def write_frames(case, U, p, times):
    """Write frames as time directories of `case` (which holds 0/U and 0/p as templates)."""
    case = Path(case)
    tu, tp = (case / "0/U").read_text(), (case / "0/p").read_text()
    for t, u, q in zip(times, U, p):
        d = case / f"{t:g}"
        d.mkdir(exist_ok=True)
        (d / "U").write_text(_field_text(tu.replace('location "0"', f'location "{t:g}"'), u, "vector"))
        (d / "p").write_text(_field_text(tp.replace('location "0"', f'location "{t:g}"'), q, "scalar"))


def coefficients(mesh_case, U, p, re: float, times=None, work=None) -> dict:
    """Cl, Cd (and Time) per frame of U [F, P, 2], p [F, P] (kinematic pressure) at Reynolds number
    `re` (the viscous force needs nu = U D / Re) on the mesh of `mesh_case` (a data set's
    mesh/<preset> skeleton). Copies the skeleton, writes the frames as
    times 1, 2, ... (or `times`, all > 0), runs `pimpleFoam -postProcess` (the controlDict's
    forceCoeffs) and parses its coefficient.dat."""
    U, p = np.asarray(U, float), np.asarray(p, float)
    if U.ndim != 3 or U.shape[2] != 2 or p.shape != U.shape[:2]:
        raise ValueError(f"expected U [F, P, 2] and p [F, P], got {U.shape} and {p.shape}")
    times = np.arange(1, len(U) + 1, dtype=float) if times is None else np.asarray(times, float)
    tmp = Path(tempfile.mkdtemp(prefix="cyl-forces-", dir=work))
    try:
        case = tmp / "case"
        for sub in ("constant", "system", "0"):
            shutil.copytree(Path(mesh_case) / sub, case / sub)
        (case / "constant/transportProperties").write_text(
            f"{cs.header('dictionary', 'transportProperties', 'constant')}\n"
            f"transportModel Newtonian;\nnu [0 2 -1 0 0 0 0] {cs.U_INF * 2 * cs.RADIUS / re:.12g};\n")
        n_cells = _n_cells(case)
        if U.shape[1] != n_cells:
            raise ValueError(f"frames have {U.shape[1]} points, the mesh {mesh_case} has {n_cells} cells")
        write_frames(case, U, p, times)
        foam.run(case, ["pimpleFoam", "-postProcess", "-noZero"], "log.forces")
        first = min(foam.time_dirs(case), key=float)
        c = foam.read_coefficients(case, start=first)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    idx = [int(np.argmin(np.abs(c["Time"] - t))) for t in times]
    if len(c["Time"]) != len(times) or not np.allclose(c["Time"][idx], times):
        raise RuntimeError(f"forceCoeffs wrote times {c['Time'].tolist()}, expected {times.tolist()}")
    return {"Time": times, "Cl": c["Cl"][idx], "Cd": c["Cd"][idx]}


def _n_cells(case) -> int:
    """Cell count from constant/polyMesh/owner's note ('nCells:N')."""
    head = (Path(case) / "constant/polyMesh/owner").read_text()[:2000]
    m = re.search(r"nCells:\s*(\d+)", head)
    if not m:
        raise ValueError(f"{case}: cannot read nCells from polyMesh/owner")
    return int(m.group(1))
