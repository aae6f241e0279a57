"""Super-resolution of a shipped bundle against the Navier-Stokes solver at finer grids (no PyTorch).

Needs only the bundle directory: its ONNX graphs (run by ONNX Runtime through the numpy reference
pipeline, reference.py) and its metrics.json, whose `test` key describes the held-out test split
(data resolution n, viscosities, seed, dt, burn-in). For each fine resolution n_fine and each viscosity
(the split's seed + viscosity index, trajectory 0, i.e. the first held-out trajectory of that viscosity):

- the fine reference is the n_fine^2 solver (ns2d.trajectories, same seeded GRF initial vorticity,
  same forcing) integrated through the full burn-in and the evaluated frames at n_fine^2;
- ECHO gets frame 0 of that reference spectrally truncated to the data resolution n^2 (the bundle's
  training resolution), at every n^2 lattice point, and forecasts `segments` segments whose frames are
  queried at every n_fine^2 lattice point (the query evaluated in chunks of points, so 1024^2 = 10^6
  points fit in memory); the error is relative L2 against the fine reference, averaged over frames;
- `coarse_truth_upsampled`: the fine reference truncated to n^2 and band-limited interpolated back to
  n_fine^2 (what the data resolution cannot represent: a floor for any model fed n^2 data);
- `data_solver_vs_fine`: the n^2 solver's own run of the same trajectory (what the test split holds)
  against the fine reference truncated to n^2, same frames (the data's discretisation error);
- `spectrum`: the shell-summed spectrum E(k) of the fine reference's vorticity (mean over frames),
  relative to its peak, at the data grid's dealiasing edge and at the fine grid's (resolution check).

The solver is deterministic; ECHO's noise is SplitMix64(seed). Results go to metrics.json under
`super_resolution`, keyed by n_fine, and REPORT.md is re-rendered from it.
"""

import json
import time
from pathlib import Path

import numpy as np

from .. import ns2d
from ..grid import Stencil
from ..noise import SplitMix64
from ..reference import Forecaster, Runtime
from .data import upsample
from .report import store_section

REFERENCE = ("the n_fine^2 solver run from the test split's seeded initial GRF through the full burn-in and "
             "the evaluated frames at n_fine^2")


def lattice(n: int) -> np.ndarray:
    """The n^2 data lattice points [n^2, 3], flat index j n + i (x fastest) like w[..., j, i]."""
    j, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.stack([i.ravel() / n, j.ravel() / n, np.zeros(n * n)], axis=1)


def rel(pred, true, axis):
    """||pred - true|| / ||true|| over `axis` (an int or a tuple)."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    return np.sqrt(((pred - true) ** 2).sum(axis=axis)) / np.sqrt((true ** 2).sum(axis=axis))


def subset(n_points: int, keep: float, seed: int) -> np.ndarray:
    """Sorted random indices of round(keep n) points (all of them for keep = 1)."""
    if keep >= 1.0:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, int(round(keep * n_points)), replace=False))


def echo_forecast(rt, w0, nu, horizon, keep=1.0, seed=0, out_points=None, idx=None, steps=None, method=None):
    """ECHO forecast of `horizon` frames from frame w0 [n, n] via the bundle: [horizon, N_out]. Inputs
    at the lattice points `idx` (default: a random `keep` fraction), outputs at `out_points` (default:
    the lattice); the sampler's steps and method default to the manifest's."""
    n = w0.shape[-1]
    pts = lattice(n)
    idx = subset(len(pts), keep, seed + 17) if idx is None else idx
    fc = Forecaster(rt, pts[idx], pts if out_points is None else out_points, {"viscosity": float(nu)})
    ctx = w0.reshape(1, -1, 1)[:, idx].astype(np.float32)
    m = rt.manifest["sampler"]
    return fc.forecast(ctx, horizon, seed, steps or m["steps"], method or m["method"])[..., 0]


def echo_forecast_at(rt, w0, nu, horizon, n_out, seed=0, chunk=65536):
    """echo_forecast from w0 [n, n] (all n^2 points given) with outputs at the n_out^2 lattice:
    [horizon, n_out^2] float32. The same steps as Forecaster.forecast (one noise stream, segments
    chained through the input points), except that each segment's query runs over chunks of `chunk`
    output points: the query graph's input is [frames x points, stencil, channels] float32, 3 GB at
    1024^2 for this bundle in one piece."""
    n = w0.shape[-1]
    pts = lattice(n)
    m = rt.manifest
    fc = Forecaster(rt, pts, pts, {"viscosity": float(nu)})
    s = m["query"]["stencil"] if m["query"]["kind"] == "learned" else 2
    out_pts = lattice(n_out)
    steps, method = m["sampler"]["steps"], m["sampler"]["method"]
    noise = SplitMix64(seed)
    values = fc.normalise(w0.reshape(1, -1, 1).astype(np.float32))
    per = fc.T - fc.c
    out = np.empty((horizon, len(out_pts)), dtype=np.float32)
    done = 0
    while done < horizon:
        observed, slot_mask = fc.observe(values)
        decoded = fc.generate(observed, slot_mask, noise, steps, method)
        k = min(per, horizon - done)
        frames = list(range(fc.c, fc.c + k))
        for a in range(0, len(out_pts), chunk):
            st = Stencil(fc.grid, out_pts[a:a + chunk], s)
            out[done:done + k, a:a + chunk] = fc.denormalise(fc.query(decoded, frames, st))[..., 0]
        done += k
        if done < horizon:
            values = fc.query(decoded, list(range(fc.T - fc.c, fc.T)), fc.stencil_in)
    return out


def radial_spectrum_f64(w):
    """evaluate.radial_spectrum in float64, one frame at a time: mean |w_hat|^2 over fields [..., n, n],
    summed over shells |k| in [k-0.5, k+0.5)."""
    n = w.shape[-1]
    e = np.zeros((n, n))
    for f in np.asarray(w).reshape(-1, n, n):  # one frame at a time: 1024^2 complex128 is 16 MB each
        e += np.abs(np.fft.fft2(f.astype(np.float64)) / n ** 2) ** 2
    e /= max(1, np.asarray(w).reshape(-1, n, n).shape[0])
    k = np.fft.fftfreq(n, 1.0 / n)
    shells = np.rint(np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)).astype(int)
    return np.bincount(shells.ravel(), weights=e.ravel())[: n // 2]


def spectrum_check(fine, n):
    """E(k) / max E of the fine fields at the data grid's dealiasing edge (k = ceil(n/3) - 1, the last
    kept mode) and at the fine grid's, and the peak wavenumber."""
    nf = fine.shape[-1]
    e = radial_spectrum_f64(fine)
    peak = float(e.max())
    kd, kf = -(-n // 3) - 1, -(-nf // 3) - 1
    return {"k_peak": int(e.argmax()), "E_peak": peak, "k_data_edge": kd, "E_data_edge_over_peak": float(e[kd] / peak),
            "k_fine_edge": kf, "E_fine_edge_over_peak": float(e[kf] / peak)}


def fine_reference(test_info, i, n_fine, horizon, workers=1, cache=None):
    """(frames [horizon + 1, n_fine, n_fine] float32, solver steps, solve seconds) of viscosity i's
    fine reference. The solver is deterministic and the reference does not depend on the bundle, so
    with a `cache` directory it is solved once and read back afterwards (the solve seconds recorded
    are the original run's)."""
    nu = test_info["nus"][i]
    key = f"ns2d-n{n_fine}-nu{nu}-seed{test_info['seed'] + i}-dt{test_info['dt']}-burn{test_info['burn_in']}-f{horizon + 1}.npz"
    path = Path(cache) / key if cache else None
    if path is not None and path.exists():
        z = np.load(path)
        return z["w"], int(z["steps"]), float(z["solve_s"])
    t0 = time.perf_counter()
    fine, steps = ns2d.trajectories(1, n_fine, nu, horizon + 1, test_info["dt"], test_info["seed"] + i,
                                    burn_in=test_info["burn_in"], workers=workers, return_steps=True)
    solve_s = round(time.perf_counter() - t0, 1)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, w=fine[0], steps=steps[0], solve_s=solve_s)
        tmp.replace(path)  # (a killed run leaves no truncated cache entry)
    return fine[0], int(steps[0]), solve_s


def super_resolution(rt, test_info, n_fine, horizon, seed=0, workers=1, chunk=65536, log=None, cache=None):
    """The super-resolution entry for one n_fine (see the module docstring): {"n_fine", "reference",
    "horizon", "seed", str(nu): {...}} for each viscosity of test_info."""
    n = int(test_info["n"])
    if n_fine % n:
        raise ValueError(f"n_fine = {n_fine} must be a multiple of the data resolution {n}")
    f = n_fine // n
    res = {"n_fine": n_fine, "reference": REFERENCE, "horizon": horizon, "seed": seed}
    for i, nu in enumerate(test_info["nus"]):
        fine, steps, solve_s = fine_reference(test_info, i, n_fine, horizon, workers, cache)
        t1 = time.perf_counter()
        coarse = ns2d.downsample(fine, f)
        pred = echo_forecast_at(rt, coarse[0], nu, horizon, n_fine, seed=seed, chunk=chunk)
        t2 = time.perf_counter()
        true = fine[1:].reshape(horizon, -1)
        up = upsample(coarse[1:], f).reshape(horizon, -1)
        data = ns2d.trajectories(1, n, nu, horizon + 1, test_info["dt"], test_info["seed"] + i,
                                 burn_in=test_info["burn_in"], workers=workers)[0]
        res[str(nu)] = {"echo": float(np.mean(rel(pred, true, 1))),
                        "coarse_truth_upsampled": float(np.mean(rel(up, true, 1))),
                        "data_solver_vs_fine": float(np.mean(rel(data[1:].reshape(horizon, -1), coarse[1:].reshape(horizon, -1), 1))),
                        "frames": horizon, "solver_steps": steps, "solve_s": solve_s,
                        "echo_s": round(t2 - t1, 1), "spectrum": spectrum_check(fine, n)}
        if log:
            log(f"  {n_fine}^2 viscosity {nu}: {res[str(nu)]}")
    return res


def normalised(sr) -> dict:
    """metrics.json's `super_resolution` as {str(n_fine): entry}; an older single entry (with its own
    `n_fine` key, written by `evaluate --super-res N` before this module) is wrapped."""
    if not sr:
        return {}
    return {str(sr["n_fine"]): sr} if "n_fine" in sr else dict(sr)


def run(bundle, ns, out=None, segments=1, seed=0, threads=1, workers=1, chunk=65536, log=print, cache=None) -> dict:
    """For each n_fine in `ns`: super_resolution of the bundle, stored into OUT/metrics.json's
    `super_resolution[str(n_fine)]` (other entries kept) and OUT/REPORT.md re-rendered, after each n so
    that an interrupted run keeps what it finished. OUT defaults to the bundle; its metrics.json must
    exist and hold the `test` description. The manifest and graphs are not touched."""
    out = Path(bundle if out is None else out)
    path = out / "metrics.json"
    metrics = json.loads(path.read_text())
    if "test" not in metrics:
        raise KeyError(f"{path}: no 'test' key (the held-out split's description written by `evaluate`)")
    rt = Runtime(bundle, threads=threads)
    t = rt.manifest["time"]
    horizon = segments * (t["frames"] - t["context_frames"])
    for n_fine in ns:
        log(f"super-resolution at {n_fine}^2 ...")
        entry = super_resolution(rt, metrics["test"], int(n_fine), horizon, seed=seed, workers=workers, chunk=chunk, log=log,
                                 cache=cache)
        sr = normalised(json.loads(path.read_text()).get("super_resolution"))
        sr[str(n_fine)] = entry
        metrics = store_section(out, "super_resolution", dict(sorted(sr.items(), key=lambda kv: int(kv[0]))))
        log(f"wrote {path} and {out / 'REPORT.md'}")
    return metrics
