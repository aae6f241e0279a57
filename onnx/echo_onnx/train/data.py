"""Datasets for ECHO training: seeded Navier-Stokes trajectories written to one .npz per split.

A dataset is `w [N, F, n, n]` float32 (trajectory, frame, y, x on the periodic unit square, as
ns2d.trajectories), `nu [N]` the viscosity of each trajectory and `dt` the time between frames.
Several viscosities are stacked; each viscosity uses its own seed (seed + index of the viscosity), so
splits with different base seeds never share an initial condition.
"""

import json
import shutil
import time
from pathlib import Path

import numpy as np

from .. import ns2d


CHUNK = 32  # trajectories per cached chunk


def generate(out, traj, seed, n=64, nus=(1e-3,), frames=41, dt=0.25, burn_in=5.0, workers=1, log=None) -> dict:
    """Solve and write `out` (.npz); returns a small description (also stored in the file).

    Trajectories are solved in chunks of CHUNK, each kept in `<out>.chunks/` until the .npz is
    written, so an interrupted generation resumes where it stopped (trajectory b depends only on the
    seed and b: chunks are the rows of one large batch, to float32 round-off)."""
    t0 = time.perf_counter()
    cache = Path(str(out) + ".chunks")
    cache.mkdir(parents=True, exist_ok=True)
    ws, nu_of = [], []
    for i, nu in enumerate(nus):
        for first in range(0, traj, CHUNK):
            count = min(CHUNK, traj - first)
            path = cache / f"nu{i}-seed{seed + i}-n{n}-f{frames}-dt{dt}-b{burn_in}-{first}-{count}.npy"
            if not path.exists():
                w = ns2d.trajectories(count, n, nu, frames, dt, seed + i, burn_in=burn_in, workers=workers, first=first)
                np.save(str(path) + ".tmp.npy", w)
                Path(str(path) + ".tmp.npy").replace(path)
                if log:
                    log(f"{Path(out).name}: viscosity {nu:g}, trajectories {first}..{first + count - 1} "
                        f"({time.perf_counter() - t0:.0f} s)")
            ws.append(np.load(path))
        nu_of += [nu] * traj
    info = {"n": n, "nus": list(nus), "traj_per_nu": traj, "frames": frames, "dt": dt, "burn_in": burn_in,
            "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
            "solver": "echo_onnx.ns2d.trajectories (pseudo-spectral, FNO forcing, GRF initial vorticity)"}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, w=np.concatenate(ws), nu=np.array(nu_of, dtype=np.float64), dt=np.float64(dt),
             info=np.str_(json.dumps(info)))
    shutil.rmtree(cache)
    return info


def load(path) -> dict:
    """{'w': [N, F, n, n] float32, 'nu': [N], 'dt': float, 'info': dict}."""
    d = np.load(path)
    return {"w": d["w"], "nu": d["nu"], "dt": float(d["dt"]), "info": json.loads(str(d["info"]))}


def write_example(test, out_dir, traj=0, frames=1):
    """A held-out trajectory's first frames at the data lattice as a .pvd series (a physical example
    input for the bundle: `echo-onnx forecast --input out_dir/input.pvd`), plus the solver's next
    frames as truth.pvd for comparison. The lattice points are joined by quads so that ParaView
    shows the field as a surface (and a forecast from it, which keeps the input's cells, too).
    Torch-free: `echo-onnx-train write-example` rewrites a bundle's example from the data alone."""
    from ..vtkxml import Mesh, lattice_cells, write_pvd, write_vtu
    from .superres import lattice  # superres imports this module
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    w, dt = test["w"][traj], test["dt"]
    n = w.shape[-1]
    pts, cells = lattice(n).astype(np.float32), lattice_cells(n, n)
    for name, ks in (("input", range(frames)), ("truth", range(frames, min(len(w), frames + 8)))):
        entries = []
        for k in ks:
            write_vtu(out_dir / f"{name}_{k:04d}.vtu", Mesh(pts, {"vorticity": w[k].ravel().astype(np.float32)}, cells=cells))
            entries.append((round(k * dt, 12), f"{name}_{k:04d}.vtu"))
        write_pvd(out_dir / f"{name}.pvd", entries)


def upsample(w: np.ndarray, factor: int) -> np.ndarray:
    """Band-limited (Fourier zero-padding) upsampling of fields [..., n, n] by `factor`.

    The solver's fields are band-limited (2/3 rule), so this is their exact value on the finer lattice:
    training targets between the latent grid nodes without solving at the finer resolution."""
    if factor == 1:
        return w
    n = w.shape[-1]
    m = n * factor
    w_h = np.fft.rfft2(w.astype(np.float64))
    c = np.zeros(w.shape[:-2] + (m, m // 2 + 1), dtype=np.complex128)
    half = n // 2
    c[..., :half, :half] = w_h[..., :half, :half]
    c[..., m - half + 1:, :half] = w_h[..., n - half + 1:, :half]
    return (np.fft.irfft2(c, s=(m, m)) * factor ** 2).astype(np.float32)
