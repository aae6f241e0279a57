"""Datasets for ECHO training: seeded Navier-Stokes trajectories written to one .npz per split.

A dataset is `w [N, F, n, n]` float32 (trajectory, frame, y, x on the periodic unit square, as
ns2d.trajectories), `nu [N]` the viscosity of each trajectory and `dt` the time between frames.
Several viscosities are stacked; each viscosity uses its own seed (seed + index of the viscosity), so
splits with different base seeds never share an initial condition.
"""

import json
import time
from pathlib import Path

import numpy as np

from .. import ns2d


def generate(out, traj, seed, n=64, nus=(1e-3,), frames=41, dt=0.25, burn_in=5.0, workers=1) -> dict:
    """Solve and write `out` (.npz); returns a small description (also stored in the file)."""
    t0 = time.perf_counter()
    ws, nu_of = [], []
    for i, nu in enumerate(nus):
        w = ns2d.trajectories(traj, n, nu, frames, dt, seed + i, burn_in=burn_in, workers=workers)
        ws.append(w)
        nu_of += [nu] * traj
    info = {"n": n, "nus": list(nus), "traj_per_nu": traj, "frames": frames, "dt": dt, "burn_in": burn_in,
            "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
            "solver": "echo_onnx.ns2d.trajectories (pseudo-spectral, FNO forcing, GRF initial vorticity)"}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, w=np.concatenate(ws), nu=np.array(nu_of, dtype=np.float64), dt=np.float64(dt),
             info=np.str_(json.dumps(info)))
    return info


def load(path) -> dict:
    """{'w': [N, F, n, n] float32, 'nu': [N], 'dt': float, 'info': dict}."""
    d = np.load(path)
    return {"w": d["w"], "nu": d["nu"], "dt": float(d["dt"]), "info": json.loads(str(d["info"]))}


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
