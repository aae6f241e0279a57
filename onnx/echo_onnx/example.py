"""The shipped example: an analytic 2D vorticity field on the periodic unit square.

omega(x, t) = sum_m a_m exp(-nu |2 pi k_m|^2 t) cos(2 pi k_m . (x - U t) + phi_m): a few Fourier modes
decaying like viscous Navier-Stokes modes (nu = 1e-3) and carried by a slow uniform flow U. Its
standard deviation is about 5 1/s, matching the test bundle's field statistics. The input is sampled
at seeded random points (an unstructured point cloud, triangulated so that ParaView shows a surface);
`query.vtu` is a denser regular lattice of cell centres (joined by quads) for super-resolution output.
"""

import argparse
from pathlib import Path

import numpy as np

from .testbundle import FIELD
from .vtkxml import Mesh, lattice_cells, triangle_cells, write_pvd, write_vtu

NU = 1e-3
DT = 0.1                      # the test bundle's time.dt
ADVECTION = np.array([0.2, 0.1])
# (kx, ky, amplitude, phase)
MODES = [(1, 0, 4.0, 0.3), (0, 1, 4.0, 1.1), (1, 1, 3.0, 2.0), (2, -1, 2.5, 0.7), (3, 2, 1.5, 4.0)]


def vorticity(points: np.ndarray, t: float) -> np.ndarray:
    """The analytic field at points [N, >=2] and time t, as float32 [N]."""
    x = points[:, :2].astype(np.float64) - ADVECTION * t
    w = np.zeros(len(points))
    for kx, ky, a, phi in MODES:
        k2 = (2 * np.pi) ** 2 * (kx * kx + ky * ky)
        w += a * np.exp(-NU * k2 * t) * np.cos(2 * np.pi * (kx * x[:, 0] + ky * x[:, 1]) + phi)
    return w.astype(np.float32)


def random_points(n: int, seed: int) -> np.ndarray:
    """n seeded points in [0, 1)^2 with z = 0, float32 [n, 3] (the coordinates written to disk)."""
    pts = np.zeros((n, 3), dtype=np.float32)
    pts[:, :2] = np.random.default_rng(seed).random((n, 2))
    pts[pts >= 1.0] = 0.0  # float32 rounding may reach 1.0, the same point as 0.0 on the torus
    return pts


def lattice_points(n_side: int) -> np.ndarray:
    """Cell centres of an n_side x n_side lattice on the unit square, x fastest, float32 [n^2, 3]."""
    c = (np.arange(n_side) + 0.5) / n_side
    y, x = np.meshgrid(c, c, indexing="ij")
    return np.stack([x.ravel(), y.ravel(), np.zeros(n_side * n_side)], axis=1).astype(np.float32)


def make_example(out, points=4096, frames=3, seed=0, query_side=128) -> None:
    """Write out/input.pvd, out/input_NNNN.vtu (frames at t = 0, DT, ...) and out/query.vtu."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pts = random_points(points, seed)
    cells = triangle_cells(pts)  # the same mesh in every frame
    entries = []
    for f in range(frames):
        t = f * DT
        name = f"input_{f:04d}.vtu"
        write_vtu(out / name, Mesh(pts, {FIELD["name"]: vorticity(pts, t)}, cells=cells))
        entries.append((round(t, 12), name))
    write_pvd(out / "input.pvd", entries)
    write_vtu(out / "query.vtu", Mesh(lattice_points(query_side), cells=lattice_cells(query_side, query_side)))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write the analytic 2D vorticity example series.")
    ap.add_argument("--out", required=True, help="directory to write")
    ap.add_argument("--points", type=int, default=4096, help="input points")
    ap.add_argument("--frames", type=int, default=3, help="input frames (times 0, 0.1, ...)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the input point positions")
    a = ap.parse_args(argv)
    make_example(a.out, a.points, a.frames, a.seed)
    print(f"wrote {a.frames} frames of {a.points} points and query.vtu to {a.out}")


if __name__ == "__main__":
    main()
