"""Evaluation of the cylinder-wake bundle on the held-out Reynolds numbers (the test split): metrics.json,
REPORT.md's accuracy tables, the plots and the bundle's example.

Every ECHO figure comes from the exported bundle run by ONNX Runtime through the numpy reference
pipeline (reference.Forecaster: the runtime's neighbours, stencils, SplitMix64 noise, sampler and
chaining; test_pointdata.py ties it to the Rust CLI), with the held-out trajectory's cell centres as
input and output points. The FNO baseline is fno_points.py, persistence repeats the context frame.
Relative L2 per frame over all cells: U (both components) and p separately, and U's error against
its deviation from the free stream (`U_dev`: ||U_pred - U|| / ||U - U_inf||, the part of the flow
a forecast has to get right; U itself is ~1 almost everywhere, so its relative error flatters).
Lift coefficients of predicted and solver frames come from OpenFOAM's forceCoeffs run on the frames
(echo_onnx.cylinder.forces), Strouhal numbers and lift amplitudes from echo_onnx.cylinder.shedding.
"""

import json
import time
from pathlib import Path

import numpy as np

from ..cylinder import forces, shedding
from ..reference import Forecaster, Runtime
from .pointdata import PointDataset, load_split
from .stages import log

HORIZONS = [1, 2, 4, 8, 12, 16]       # frames of dt = 0.5: 16 frames = 8 time units, > 1 shedding period
STARTS = [50.0, 60.0, 70.0]           # forecast starts in the developed regime (time units)
ONSET_START = 10.0                    # a start during the onset of shedding
ROLLOUT_START, ROLLOUT_FRAMES = 40.0, 70   # 35 time units (5.7-7 periods) from developed shedding: St and lift amplitude
U_INF = np.array([1.0, 0.0])


def errors(pred: np.ndarray, true: np.ndarray) -> dict:
    """Per frame: rel L2 of U, of U against its deviation from the free stream, and of p."""
    def norm(x):
        return np.sqrt((np.asarray(x, np.float64) ** 2).sum(axis=tuple(range(1, x.ndim))))
    du = pred[..., :2] - true[..., :2]
    return {"U": norm(du) / norm(true[..., :2]), "U_dev": norm(du) / norm(true[..., :2] - U_INF),
            "p": norm(pred[..., 2] - true[..., 2]) / norm(true[..., 2])}


def pooled_errors(pred: np.ndarray, true: np.ndarray) -> dict:
    """errors() over all frames at once (a single frame can be the free stream itself: U_dev undefined)."""
    return {k: float(v[0]) for k, v in errors(pred.reshape(1, -1, pred.shape[-1]), true.reshape(1, -1, true.shape[-1])).items()}


def frame_index(ds: PointDataset, t: float) -> int:
    return int(round(t / ds.dt))


class Methods:
    """The forecasters compared: name -> f(context [1, P, C], re, horizon) -> [H, P, C]."""

    def __init__(self, bundle, run, points, seed=0, threads=None):
        self.rt, self.seed, self.points = Runtime(bundle, threads), seed, points
        self.calls = {"echo": self.echo, "persistence": self.persistence}
        if (Path(run) / "fno_points.pt").exists():
            from .fno_points import FnoForecaster
            self.fno = FnoForecaster(run, points)
            self.calls["fno"] = self.fno.forecast
        self.echo_seconds = []

    def echo(self, context, re, horizon):
        m = self.rt.manifest
        t0 = time.perf_counter()
        fc = Forecaster(self.rt, self.points, self.points, {m["parameters"][0]["name"]: float(re)})
        out = fc.forecast(context, horizon, self.seed, m["sampler"]["steps"], m["sampler"]["method"])
        self.echo_seconds.append((horizon, time.perf_counter() - t0))
        return out

    @staticmethod
    def persistence(context, re, horizon):
        return np.repeat(context[-1:], horizon, axis=0)


def forecast_errors(methods: Methods, test: PointDataset, starts, horizon) -> dict:
    """{method: {quantity: {"all" | Re: [mean rel L2 per horizon in HORIZONS]}}}."""
    raw = {name: {} for name in methods.calls}
    for re, v in zip(test.param, test.series):
        for t0 in starts:
            k = frame_index(test, t0)
            true = v[k + 1:k + 1 + horizon]
            for name, f in methods.calls.items():
                e = errors(f(v[k:k + 1], re, horizon), true)
                raw[name].setdefault(float(re), []).append(e)
        log(f"forecasts at Re {re:g}: done")
    hs = [h for h in HORIZONS if h <= horizon]
    out = {}
    for name, by_re in raw.items():
        out[name] = {}
        for q in ("U", "U_dev", "p"):
            table = {f"{re:g}": [float(np.mean([e[q][h - 1] for e in es])) for h in hs] for re, es in by_re.items()}
            table["all"] = [float(np.mean([table[f"{re:g}"][i] for re in by_re])) for i in range(len(hs))]
            out[name][q] = table
    return {"horizons": hs, "starts": list(starts), "methods": out}


def shedding_errors(methods: Methods, test: PointDataset, lift: dict, mesh_case, work=None) -> dict:
    """Per held-out Re: St and lift amplitude of a 20-time-unit rollout of each method and of the solver's
    frames at the same times (both through forceCoeffs, over their last 3 periods), against the solver's
    own every-step lift history (its last 5 periods)."""
    out = {}
    k = frame_index(test, ROLLOUT_START)
    for re, v, in zip(test.param, test.series):
        times = (np.arange(1, ROLLOUT_FRAMES + 1) + k) * test.dt
        series = {"solver_frames": v[k + 1:k + 1 + ROLLOUT_FRAMES]}
        for name, f in methods.calls.items():
            if name != "persistence":
                series[name] = f(v[k:k + 1], re, ROLLOUT_FRAMES)
        row = {}
        for name, frames in series.items():
            c = forces.coefficients(mesh_case, frames[..., :2], frames[..., 2], float(re), times=times, work=work)
            row[name] = {**shedding.metrics(c["Time"], c["Cl"], last=3), "t": c["Time"].tolist(), "Cl": c["Cl"].tolist()}
        t_all, cl_all = lift[f"{re:g}"]
        row["solver"] = shedding.metrics(t_all, cl_all)  # every step of the whole run: its last 5 periods
        ref = row["solver"]
        for name in series:
            r = row[name]
            if r["St"] is not None and ref["St"]:
                r["St_error"] = r["St"] / ref["St"] - 1
                r["amplitude_error"] = r["amplitude"] / ref["amplitude"] - 1
        out[f"{re:g}"] = row
        log(f"shedding at Re {re:g}: " + ", ".join(f"{n} St {row[n]['St']}" for n in row))
    return out


def other_mesh_errors(bundle, run, mesh_dir, starts, horizon, threads=None) -> dict:
    """The forecast table on a mesh the model never saw (a held-out trajectory solved on the `fine`
    mesh, 1.5x finer per direction: python -m echo_onnx.cylinder data --preset fine-test), the input
    and the output at that mesh's cells."""
    test = load_split(mesh_dir, "test")
    end = min(len(v) for v in test.series) - 1
    starts = [t for t in starts if frame_index(test, t) + horizon <= end]
    res = forecast_errors(Methods(bundle, run, test.points, threads=threads), test, starts, horizon)
    return {**res, "cells": len(test.points), "Re": test.param.tolist(), "mesh": test.info.get("mesh")}


def ensemble_calibration(methods: Methods, test: PointDataset, starts, horizon, members=8) -> dict:
    """Issue 13's calibration on held-out Re: `members` forecasts per start (seeds 0..N-1, the CLI's
    --ensemble draws the same way), per field (U_y: the cross-stream velocity that carries the shedding;
    p): spread-skill ratio, CRPS against one member's MAE, rank histogram (calibration.py's figures)."""
    from .calibration import accumulate, summarise
    acc = {"U_y": [], "p": []}
    seed0 = methods.seed
    for re, v in zip(test.param, test.series):
        for t0 in starts:
            k = frame_index(test, t0)
            runs = []
            for m in range(members):
                methods.seed = m
                runs.append(methods.echo(v[k:k + 1], re, horizon))
            x, y = np.stack(runs).astype(np.float64), v[k + 1:k + 1 + horizon].astype(np.float64)
            acc["U_y"].append(accumulate(x[..., 1], y[..., 1]))
            acc["p"].append(accumulate(x[..., 2], y[..., 2]))
    methods.seed = seed0
    return {"members": members, "starts": list(starts), "horizons": list(range(1, horizon + 1)),
            "fields": {f: summarise(a, members) for f, a in acc.items()}}


def jump_ratio(rt, points, context, re, nx=1024) -> dict:
    """Continuity of the grid-to-points path (issue 15): the first predicted frame evaluated on a dense
    lattice of nx x nx/2 points over the box (outside the cylinder); the mean |difference| of x-neighbours
    whose pair straddles a latent-cell boundary over that of pairs inside one cell, per channel (a
    continuous field gives ~1; a query that is piecewise constant per cell, much more)."""
    from ..grid import Grid
    m = rt.manifest
    grid = Grid.from_manifest(m["latent_grid"], points)
    ny = nx // 2
    x = np.linspace(grid.lo[0], grid.hi[0], nx, endpoint=False) + 0.5 * (grid.hi[0] - grid.lo[0]) / nx
    y = np.linspace(grid.lo[1], grid.hi[1], ny, endpoint=False) + 0.5 * (grid.hi[1] - grid.lo[1]) / ny
    xx, yy = np.meshgrid(x, y)
    lattice = np.c_[xx.ravel(), yy.ravel()]
    fc = Forecaster(rt, points, lattice, {m["parameters"][0]["name"]: float(re)})
    v = fc.forecast(context, 1, 0, m["sampler"]["steps"], m["sampler"]["method"])[0].reshape(ny, nx, -1)
    cell = np.floor((x - grid.lo[0]) / grid.spacing[0]).astype(int)
    across = cell[1:] != cell[:-1]
    outside = (np.hypot(xx, yy) > 0.6)
    ok = outside[:, 1:] & outside[:, :-1]
    d = np.abs(np.diff(v, axis=1))                                   # [ny, nx - 1, C]
    ratio = [float(d[ok & across[None, :], c].mean() / d[ok & ~across[None, :], c].mean()) for c in range(v.shape[-1])]
    return {"lattice": [nx, ny], "jump_ratio": dict(zip(["U_x", "U_y", "p"], ratio))}


def lift_histories(data_dir, split="test") -> dict:
    """{Re: (t, Cl)} of the solver at every time step (the data's forceCoeffs)."""
    out = {}
    for f in sorted(Path(data_dir, split).glob("*.npz")):
        d = np.load(f)
        out[f"{float(d['Re']):g}"] = (d["cl"][:, 0], d["cl"][:, 1])
    return out


def autoencoder_errors(model, ck, test: PointDataset, keeps=(1.0, 0.5), windows=12) -> dict:
    """rel L2 (U_dev, p) of the autoencoder (PyTorch) reconstructing held-out windows at every cell
    from a `keep` fraction of the cells."""
    import torch
    from .pointdata import PointWindowSampler
    cfg, norm = model.cfg, ck["norm"]
    mean, std = np.array(norm["mean"]), np.array(norm["std"])
    out = {}
    for keep in keeps:
        s = PointWindowSampler(test, cfg, norm, cfg.frames, targets=len(test.points), keep=(keep, keep), seed=3, starts_every=8)
        picks = np.linspace(0, len(s.windows) - 1, windows).astype(int)
        es = {"U_dev": [], "p": []}
        for w in picks:
            b = s.window(*s.windows[w])
            with torch.no_grad():
                batch = {k: torch.from_numpy(np.asarray(v)[None]) for k, v in b.items()}
                pred = model.ae(batch)[0][0].numpy() * std + mean
            e = pooled_errors(pred, b["target"] * std + mean)
            es["U_dev"].append(e["U_dev"])
            es["p"].append(e["p"])
        out[f"{int(keep * 100)}%"] = {q: float(np.mean(v)) for q, v in es.items()}
    return out


def pod_error(train: PointDataset, test: PointDataset, ratio: float, norm: dict) -> dict:
    """Per-frame POD of the normalised fields with P C / ratio modes (the autoencoder's compression),
    fitted on every 2nd training frame: the error of projecting the held-out frames."""
    mean, std = np.array(norm["mean"]), np.array(norm["std"])
    x = np.concatenate([(v[::2] - mean) / std for v in train.series]).reshape(-1, len(train.points) * 3)
    r = max(1, int(round(x.shape[1] / ratio)))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    basis = vt[:r]
    y = np.concatenate([(v[::4] - mean) / std for v in test.series]).reshape(-1, x.shape[1])
    pred = ((y @ basis.T) @ basis).reshape(-1, len(test.points), 3) * std + mean
    e = pooled_errors(pred, y.reshape(pred.shape) * std + mean)
    return {"modes": r, "U_dev": e["U_dev"], "p": e["p"]}


def evaluate(run, data_dir, bundle, out, quick=False, threads=None, other_mesh=None):
    """Every metric into out/metrics.json; returns (metrics, the Methods and the test split it used), so
    that the caller's picture and example reuse the open sessions and the loaded data."""
    import torch
    from .stages import load_checkpoint
    t0 = time.perf_counter()
    torch.set_num_threads(threads or torch.get_num_threads())
    model, ck = load_checkpoint(run, 3)
    model.eval()
    test, train = load_split(data_dir, "test"), load_split(data_dir, "train")
    if quick:  # CI: one held-out Re, the first start
        test.series, test.param = test.series[:1], test.param[:1]
    methods = Methods(bundle, run, test.points, threads=threads)
    end = min(len(v) for v in test.series) - 1
    starts = [t for t in STARTS if frame_index(test, t) + 16 <= end] or [0.0]
    horizon = min(16, end - frame_index(test, starts[-1]))
    ratio = model.cfg.compression_ratio(len(test.points))
    res = {"bundle": str(bundle), "compression_ratio": ratio, "dt": test.dt, "held_out_Re": test.param.tolist(),
           "train_Re": train.param.tolist(), "cells": len(test.points), "data": test.info}
    log("autoencoder ...")
    res["autoencoder"] = autoencoder_errors(model, ck, test, windows=2 if quick else 12)
    res["pod_same_ratio"] = pod_error(train, test, ratio, ck["norm"])
    log("forecasts (developed shedding) ...")
    res["forecast"] = forecast_errors(methods, test, starts, horizon)
    if frame_index(test, ONSET_START) + horizon <= end:
        log("forecasts (onset) ...")
        res["forecast_onset"] = forecast_errors(methods, test, [ONSET_START], horizon)
    if "fno" in methods.calls:  # the FNO's floor: cells -> grid -> cells alone, on the same frames
        k = frame_index(test, starts[0])
        res["fno_roundtrip"] = pooled_errors(np.concatenate([methods.fno.roundtrip(v[k + 1:k + 1 + horizon]) for v in test.series]),
                                             np.concatenate([v[k + 1:k + 1 + horizon] for v in test.series]))
    seg = [s for h, s in methods.echo_seconds if h == horizon]
    solver = [r["solver_wall_s"] / r["end"] for r in test.run_info if "solver_wall_s" in r]
    res["speed"] = {"echo_forecast_s": float(np.median(seg)), "horizon_frames": horizon,
                    "simulated_time": horizon * test.dt, "threads": threads or torch.get_num_threads(),
                    "solver_s_per_time_unit": float(np.median(solver)) if solver else None}
    if frame_index(test, ROLLOUT_START) + ROLLOUT_FRAMES <= end:
        log(f"shedding (forceCoeffs on {ROLLOUT_FRAMES}-frame rollouts) ...")
        res["shedding"] = shedding_errors(methods, test, lift_histories(data_dir), Path(data_dir) / "mesh" / test.info.get("mesh", "full"))
    log("ensemble calibration ...")
    res["calibration"] = ensemble_calibration(methods, test, starts[:1] if quick else starts, horizon, members=2 if quick else 8)
    log("continuity of the output (jump ratio) ...")
    res["continuity"] = jump_ratio(methods.rt, test.points, test.series[0][frame_index(test, starts[0]):frame_index(test, starts[0]) + 1],
                                   test.param[0], nx=256 if quick else 1024)
    if other_mesh:
        log(f"forecasts on another mesh ({other_mesh}) ...")
        res["other_mesh"] = other_mesh_errors(bundle, run, other_mesh, starts, horizon, threads)
    if "fno" in methods.calls:
        h = methods.fno.ck["history"]
        res["fno"] = {"params": methods.fno.ck["params"], "steps": h["steps"], "batch": h["batch"],
                      "s": h["log"][-1]["s"] if h["log"] else 0, "loss": h["log"][-1]["loss"] if h["log"] else None}
    res["training"] = {k: {kk: vv for kk, vv in v.items() if kk != "log"} | {"final": v["log"][-1] if v["log"] else None}
                       for k, v in ck["history"].items()}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    log(f"wrote {out / 'metrics.json'} in {res['seconds']} s")
    return res, methods, test
