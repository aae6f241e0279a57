"""Does a higher-order sampler pay (issue 14)? The bundle's forecast with each ODE method and step count.

Flow matching integrates dz/dr = v(z, r) from noise (r = 0) to a sample (r = 1); the bundle ships a
method and a step count (manifest `sampler`), and every host can override both. What matters to a user
is accuracy per velocity evaluation (NFE: one ONNX Runtime call of the velocity graph per Euler step, two
per midpoint step, four per RK4 step). For each (method, steps) this forecasts the first `traj` held-out
trajectories per viscosity from frame 0, same noise seed per trajectory, and records the rel L2 at a few
horizons, the forecast's energy in wavenumber bands over the truth's (the generated spectra were too
weak at k 5-10), the difference from the finest configuration (how far the ODE is from converged) and
the wall time (ONNX Runtime through the numpy reference, one thread).

    .venv/bin/echo-onnx-train sampler-study --bundle onnx/bundles/ns2d-vorticity --data DATA

Results go to metrics.json under `sampler_study`, and REPORT.md is re-rendered.
"""

import time
from pathlib import Path

import numpy as np

from ..reference import Runtime
from .data import load
from .evaluate import radial_spectrum
from .superres import echo_forecast, rel

# (method, steps): the shipped Euler 10, the same NFE with midpoint and RK4, then twice that NFE, and a
# reference far beyond it (RK4 10 = 40 NFE).
CONFIGS = [("euler", 10), ("midpoint", 5), ("rk4", 3), ("euler", 20), ("midpoint", 10), ("rk4", 5), ("rk4", 10)]
NFE = {"euler": 1, "midpoint": 2, "rk4": 4}
BANDS = [(1, 4), (5, 10), (11, 21)]
HORIZONS = [1, 8, 16, 32]


def band_ratio(pred, true, lo, hi):
    """Energy of the frames [F, n, n] in shells lo..hi over the truth's."""
    ep, et = radial_spectrum(pred), radial_spectrum(true)
    return float(ep[lo:hi + 1].sum() / et[lo:hi + 1].sum())


def study(rt, test, traj=4, horizon=32, log=print) -> dict:
    w, nus = test["w"], test["nu"]
    n = w.shape[-1]
    cases = [int(b) for nu in np.unique(nus) for b in np.flatnonzero(nus == nu)[:traj]]
    preds, out = {}, {"traj_per_nu": traj, "horizon": horizon, "configs": []}
    for method, steps in CONFIGS:
        t0 = time.perf_counter()
        preds[(method, steps)] = {b: echo_forecast(rt, w[b, 0], nus[b], horizon, seed=b, steps=steps, method=method)
                                  for b in cases}
        seconds = (time.perf_counter() - t0) / len(cases)
        row = {"method": method, "steps": steps, "nfe": steps * NFE[method], "seconds_per_forecast": round(seconds, 2)}
        for nu in np.unique(nus):
            mine = [b for b in cases if nus[b] == nu]
            errs = np.array([rel(preds[(method, steps)][b], w[b, 1:horizon + 1].reshape(horizon, -1), 1) for b in mine])
            p = np.stack([preds[(method, steps)][b].reshape(horizon, n, n) for b in mine])
            t = np.stack([w[b, 1:horizon + 1] for b in mine])
            row[f"{nu:g}"] = {"rel_l2": {str(h): float(errs[:, h - 1].mean()) for h in HORIZONS if h <= horizon},
                              "band_energy_over_truth": {f"{lo}-{hi}": band_ratio(p, t, lo, hi) for lo, hi in BANDS
                                                         if hi < n // 2}}  # bands the lattice holds
        out["configs"].append(row)
        log(f"  {method} {steps} ({row['nfe']} NFE, {seconds:.1f} s): " +
            ", ".join(f"nu {k}: {v['rel_l2']}" for k, v in row.items() if isinstance(v, dict)))
    ref = preds[CONFIGS[-1]]
    for row in out["configs"]:
        mine = preds[(row["method"], row["steps"])]
        row["vs_finest"] = float(np.mean([rel(mine[b], ref[b], (0, 1)) for b in cases]))
    return out


def run(bundle, data_dir, out=None, traj=4, threads=1, log=print) -> dict:
    from .report import store_section
    out = Path(bundle if out is None else out)
    rt = Runtime(bundle, threads=threads)
    test = load(Path(data_dir) / "test.npz")
    horizon = min(32, test["w"].shape[1] - 1)
    log(f"sampler study: {len(CONFIGS)} configurations, {traj} trajectories per viscosity, {horizon} frames ...")
    entry = study(rt, test, traj, horizon, log)
    entry["shipped"] = rt.manifest["sampler"]
    store_section(out, "sampler_study", entry)
    log(f"wrote {out / 'metrics.json'} and {out / 'REPORT.md'}")
    return entry
