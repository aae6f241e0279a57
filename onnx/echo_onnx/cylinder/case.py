# SPDX-License-Identifier: MIT OR Apache-2.0
"""Write a pimpleFoam case of 2D laminar flow past a cylinder (D = 1 at the origin, U = (1, 0)) in
the box [-5, 15] x [-5, 5]: the box is exactly the model's latent grid rectangle.

Mesh: blockMesh only. A square ring of 4 O-grid blocks around the cylinder (out to the square of
half-width RING) and 8 rectangular blocks filling the rest of the box (3 x 3 tiles, the centre
one being the ring). Cells grow away from the body; the wake column keeps cells <= `wake` and every
cell stays <= `far`, so every point of the box has cell centres within the model's lift radius.
"""

import json
import math
from dataclasses import dataclass, asdict
from pathlib import Path

X0, X1, Y0, Y1 = -5.0, 15.0, -5.0, 5.0
RADIUS = 0.5
RING = 1.5          # half-width of the O-grid's outer square
DZ = 1.0            # one cell thick in z, so Aref = D * DZ = 1
U_INF = 1.0
DT = 0.01           # divides the bundle time step 0.5; Courant max 0.61-0.64 on the full mesh (Re 60-95)
WRITE_INTERVAL = 0.5
KICK_OMEGA = 0.2    # rad/s of the cylinder wall for t < KICK_END (20x warm-start.md's tiny kick)
KICK_END = 2.5


@dataclass(frozen=True)
class Preset:
    """Resolution: NT cells per side of the ring square, NR radial cells with expansion GR,
    largest cell in the wake column and anywhere."""
    name: str
    nt: int
    nr: int
    gr: float
    wake: float
    far: float


PRESETS = {
    "ci": Preset("ci", 12, 9, 3.0, 0.3, 0.4),
    "full": Preset("full", 30, 20, 4.0, 0.2, 0.4),
    "fine": Preset("fine", 45, 30, 4.0, 0.2 / 1.5, 0.4 / 1.5),
}


def graded(length: float, first: float, largest: float):
    """Fewest cells (n) with a geometric progression starting at `first` that fills `length` and
    whose last cell is <= `largest`; returns (n, last/first). Matching `first` to the neighbour
    block's cells keeps the size continuous across block faces."""
    if length <= largest:
        return 1, 1.0
    for n in range(1, 10000):
        # ratio r with first * (r^n - 1) / (r - 1) = length; bisection (sum grows with r)
        lo, hi = 1e-6, 10.0
        for _ in range(200):
            r = 0.5 * (lo + hi)
            s = first * n if abs(r - 1) < 1e-12 else first * (r ** n - 1) / (r - 1)
            lo, hi = (r, hi) if s < length else (lo, r)
        s = first * n if abs(r - 1) < 1e-12 else first * (r ** n - 1) / (r - 1)
        last = first * r ** (n - 1)
        if abs(s - length) < 1e-9 * length and last <= largest + 1e-9:
            return n, last / first
    raise ValueError(f"cannot grade {length} from {first} to <= {largest}")


def block_mesh_dict(preset: Preset) -> str:
    """blockMeshDict text of the preset (deterministic)."""
    p = preset
    h = 2 * RING / p.nt                               # ring square cell size
    nx_up, g_up = graded(-RING - X0, h, p.far)
    nx_wk, g_wk = graded(X1 - RING, h, p.wake)
    ny_sd, g_sd = graded(Y1 - RING, h, p.far)
    xs = [X0, -RING, RING, X1]
    ys = [Y0, -RING, RING, Y1]
    # x cells / grading (last/first along +x) per column; y likewise per row
    xcol = [(nx_up, 1 / g_up), (p.nt, 1.0), (nx_wk, g_wk)]
    yrow = [(ny_sd, 1 / g_sd), (p.nt, 1.0), (ny_sd, g_sd)]
    verts, index = [], {}

    def vid(x, y, z):
        key = (round(x, 12), round(y, 12), z)
        if key not in index:
            index[key] = len(verts)
            verts.append((x, y, z))
        return index[key]

    a = RADIUS / math.sqrt(2)
    inner = [(-a, -a), (a, -a), (a, a), (-a, a)]
    outer = [(-RING, -RING), (RING, -RING), (RING, RING), (-RING, RING)]
    mids = [(0, -RADIUS), (RADIUS, 0), (0, RADIUS), (-RADIUS, 0)]
    blocks, edges = [], []
    faces = {n: [] for n in ("inlet", "outlet", "top", "bottom", "cylinder", "frontAndBack")}

    def hexa(quad, cells, grading):
        """quad: 4 (x, y) corners counter-clockwise seen from +z."""
        lo = [vid(x, y, 0.0) for x, y in quad]
        hi = [vid(x, y, DZ) for x, y in quad]
        blocks.append(f"hex ({' '.join(map(str, lo + hi))}) ({cells[0]} {cells[1]} 1) "
                      f"simpleGrading ({grading[0]:.10g} {grading[1]:.10g} 1)")
        faces["frontAndBack"].append(f"({lo[0]} {lo[3]} {lo[2]} {lo[1]})")
        faces["frontAndBack"].append(f"({hi[0]} {hi[1]} {hi[2]} {hi[3]})")
        return lo, hi

    # O-grid ring: x1 along the arc backwards, x2 outwards
    for k in range(4):
        j = (k + 1) % 4
        quad = [inner[j], inner[k], outer[k], outer[j]]
        lo, hi = hexa(quad, (p.nt, p.nr), (1.0, p.gr))
        for z, ids in ((0.0, lo), (DZ, hi)):
            edges.append(f"arc {ids[1]} {ids[0]} ({mids[k][0]} {mids[k][1]} {z})")
        faces["cylinder"].append(f"({lo[1]} {lo[0]} {hi[0]} {hi[1]})")
    # the 8 tiles around the ring
    for i in range(3):
        for j in range(3):
            if i == 1 and j == 1:
                continue
            x0, x1, y0, y1 = xs[i], xs[i + 1], ys[j], ys[j + 1]
            lo, hi = hexa([(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
                          (xcol[i][0], yrow[j][0]), (xcol[i][1], yrow[j][1]))
            side = lambda a_, b_: f"({lo[a_]} {lo[b_]} {hi[b_]} {hi[a_]})"
            if i == 0:
                faces["inlet"].append(side(3, 0))
            if i == 2:
                faces["outlet"].append(side(1, 2))
            if j == 0:
                faces["bottom"].append(side(0, 1))
            if j == 2:
                faces["top"].append(side(2, 3))
    types = {"inlet": "patch", "outlet": "patch", "top": "symmetryPlane", "bottom": "symmetryPlane",
             "cylinder": "wall", "frontAndBack": "empty"}
    nl = "\n    "
    boundary = nl.join(f"{n} {{ type {types[n]}; faces ({' '.join(f)}); }}" for n, f in faces.items())
    return f"""{header("dictionary", "blockMeshDict", "system")}
scale 1;
vertices
(
    {nl.join(f"({x:.12g} {y:.12g} {z:.12g})" for x, y, z in verts)}
);
blocks
(
    {nl.join(blocks)}
);
edges
(
    {nl.join(edges)}
);
boundary
(
    {boundary}
);
mergePatchPairs ();
"""


def expected_cells(preset: Preset) -> int:
    """Cell count the blockMeshDict gives (checked against blockMesh in the tests)."""
    p = preset
    h = 2 * RING / p.nt
    nx = graded(-RING - X0, h, p.far)[0] + p.nt + graded(X1 - RING, h, p.wake)[0]
    ny = 2 * graded(Y1 - RING, h, p.far)[0] + p.nt
    return nx * ny - p.nt * p.nt + 4 * p.nt * p.nr


def header(cls: str, obj: str, location: str = "") -> str:
    loc = f' location "{location}";' if location else ""
    return f"FoamFile {{ version 2.0; format ascii; class {cls};{loc} object {obj}; }}"


def cylinder_u(kick: bool) -> str:
    """Cylinder wall velocity: no slip, or (kick) a wall rotating at KICK_OMEGA for t < KICK_END,
    a deterministic symmetry breaking (rotatingWallVelocity's omega is a Function1 of time in v1912,
    so no compiled code is needed)."""
    if not kick:
        return "cylinder { type noSlip; }"
    table = f"((0 {KICK_OMEGA}) ({KICK_END} {KICK_OMEGA}) ({KICK_END + 1e-6} 0) (1e9 0))"
    return ("cylinder { type rotatingWallVelocity; origin (0 0 0); axis (0 0 1); "
            f"omega table {table}; value uniform (0 0 0); }}")


def u_file(kick: bool) -> str:
    return f"""{header("volVectorField", "U", "0")}
dimensions [0 1 -1 0 0 0 0];
internalField uniform ({U_INF} 0 0);
boundaryField
{{
    inlet {{ type fixedValue; value uniform ({U_INF} 0 0); }}
    outlet {{ type inletOutlet; inletValue uniform (0 0 0); value uniform ({U_INF} 0 0); }}
    top {{ type symmetryPlane; }}
    bottom {{ type symmetryPlane; }}
    {cylinder_u(kick)}
    frontAndBack {{ type empty; }}
}}
"""


P_FILE = f"""{header("volScalarField", "p", "0")}
dimensions [0 2 -2 0 0 0 0];
internalField uniform 0;
boundaryField
{{
    inlet {{ type zeroGradient; }}
    outlet {{ type fixedValue; value uniform 0; }}
    top {{ type symmetryPlane; }}
    bottom {{ type symmetryPlane; }}
    cylinder {{ type zeroGradient; }}
    frontAndBack {{ type empty; }}
}}
"""

FORCE_COEFFS = f"""forceCoeffs
    {{
        type forceCoeffs;
        libs ("libforces.so");
        writeControl timeStep;
        writeInterval 1;
        log false;
        patches (cylinder);
        rho rhoInf;
        rhoInf 1;
        CofR (0 0 0);
        liftDir (0 1 0);
        dragDir (1 0 0);
        pitchAxis (0 0 1);
        magUInf {U_INF};
        lRef {2 * RADIUS};
        Aref {2 * RADIUS * DZ};
    }}"""


def control_dict(end: float, extra_functions: str = "", write_interval: float = WRITE_INTERVAL) -> str:
    return f"""{header("dictionary", "controlDict", "system")}
application pimpleFoam;
startFrom startTime;
startTime 0;
stopAt endTime;
endTime {end:g};
deltaT {DT:g};
writeControl runTime;
writeInterval {write_interval:g};
purgeWrite 0;
writeFormat ascii;
writePrecision 9;
writeCompression off;
timeFormat general;
timePrecision 8;
runTimeModifiable false;
adjustTimeStep no;
functions
{{
    {FORCE_COEFFS}
{extra_functions}
}}
"""


FV_SCHEMES = f"""{header("dictionary", "fvSchemes", "system")}
ddtSchemes {{ default backward; }}
gradSchemes {{ default Gauss linear; }}
divSchemes
{{
    default none;
    div(phi,U) Gauss linearUpwind grad(U);
    div((nuEff*dev2(T(grad(U))))) Gauss linear;
}}
laplacianSchemes {{ default Gauss linear corrected; }}
interpolationSchemes {{ default linear; }}
snGradSchemes {{ default corrected; }}
"""

FV_SOLUTION = f"""{header("dictionary", "fvSolution", "system")}
solvers
{{
    p {{ solver GAMG; smoother GaussSeidel; tolerance 1e-6; relTol 0.05; }}
    pFinal {{ $p; relTol 0; }}
    "(U|UFinal)" {{ solver smoothSolver; smoother symGaussSeidel; tolerance 1e-8; relTol 0; }}
}}
PIMPLE
{{
    momentumPredictor yes;
    nOuterCorrectors 1;
    nCorrectors 2;
    nNonOrthogonalCorrectors 0;
}}
"""


def write_case(case, preset: str, re: float, end: float, kick: bool, extra_functions: str = "",
               write_interval: float = WRITE_INTERVAL) -> Path:
    """Write a complete case directory (mesh dictionary, 0/, constant/, system/). Returns its path.
    nu = U D / Re."""
    case = Path(case)
    p = PRESETS[preset]
    nu = U_INF * 2 * RADIUS / re
    for d in ("0", "constant", "system"):
        (case / d).mkdir(parents=True, exist_ok=True)
    (case / "system/blockMeshDict").write_text(block_mesh_dict(p))
    (case / "system/controlDict").write_text(control_dict(end, extra_functions, write_interval))
    (case / "system/fvSchemes").write_text(FV_SCHEMES)
    (case / "system/fvSolution").write_text(FV_SOLUTION)
    (case / "0/U").write_text(u_file(kick))
    (case / "0/p").write_text(P_FILE)
    (case / "constant/transportProperties").write_text(
        f"{header('dictionary', 'transportProperties', 'constant')}\n"
        f"transportModel Newtonian;\nnu [0 2 -1 0 0 0 0] {nu:.12g};\n")
    (case / "constant/turbulenceProperties").write_text(
        f"{header('dictionary', 'turbulenceProperties', 'constant')}\nsimulationType laminar;\n")
    (case / "case.json").write_text(json.dumps(
        {"preset": asdict(p), "Re": re, "nu": nu, "end": end, "kick": kick, "deltaT": DT,
         "kick_omega": KICK_OMEGA if kick else 0.0, "kick_end": KICK_END if kick else 0.0}, indent=1) + "\n")
    (case / "case.foam").write_text("")
    return case
