"""Calibration of ECHO's ensembles on held-out trajectories: is the spread of `--ensemble N` a
trustworthy error bar?

The ensembles come from the product itself: the Rust CLI (`echo-onnx forecast --ensemble N
--members`) from frame 0 of each test trajectory, conditioned on its true viscosity, seed = the
trajectory's index, N members as one batch, chained over `horizon` frames. Against the solver's
frames at the data lattice, per viscosity and horizon (all averages over trajectories and points):

- spread-skill ratio sqrt((N + 1) / N) * spread / RMSE, with spread = sqrt(mean ensemble variance,
  divisor N - 1) and RMSE that of the ensemble mean. The factor makes it 1 for a calibrated
  ensemble of N members (the mean of N draws misses the truth by (1 + 1/N) times the variance,
  Fortin et al. 2014); below 1 the ensemble is under-dispersed (too confident), above 1 over-.
- CRPS of the ensemble (the empirical distribution of the N members: mean |X - y| - mean |X - X'| / 2)
  against the MAE of one member (member 0, which is the plain single forecast): CRPS equals the
  MAE for a deterministic forecast, so CRPS / MAE below 1 is what the ensemble adds.
- the rank histogram: the rank of the truth among the N members at every point (0..N), over all
  horizons; flat (1 / (N + 1) each) when calibrated, U-shaped when under-dispersed.

    echo-onnx-train calibration --data DATA --bundle BUNDLE --cli target/release/echo-onnx [--out DIR]

prints the table, writes DIR/calibration.png (DIR: the bundle by default) and, where DIR holds the
evaluation's metrics.json, stores the figures there under `calibration` and rewrites REPORT.md (as
super-res does; `evaluate` rewrites metrics.json, so run this after it); elsewhere it writes
DIR/calibration.json. Torch-free.
"""

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..manifest import load_manifest
from ..vtkxml import Mesh, lattice_cells, read_pvd, read_vtu, write_pvd, write_vtu
from .data import load
from .superres import lattice

HORIZONS = [1, 2, 4, 8, 12, 16, 24, 32]


def ensemble_forecast(cli, bundle, w0, nu, horizon, members, seed, work: Path, threads=None):
    """Members' forecasts [N, horizon, n^2] from frame w0 [n, n] through the CLI, and its wall time."""
    n = w0.shape[-1]
    work.mkdir(parents=True, exist_ok=True)
    write_vtu(work / "input.vtu", Mesh(lattice(n).astype(np.float32), {"vorticity": w0.ravel().astype(np.float32)},
                                       cells=lattice_cells(n, n)))
    write_pvd(work / "input.pvd", [(0.0, "input.vtu")])
    out = work / "out"
    cmd = [str(cli), "--quiet", "--json", "forecast", "--bundle", str(bundle), "--input", str(work / "input.pvd"),
           "--horizon", str(horizon), "--param", f"viscosity={nu!r}", "--seed", str(seed),
           "--ensemble", str(members), "--members", "--out", str(out), "--force"]
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr}{run.stdout}")
    x = np.stack([np.stack([read_vtu(path).point_data["vorticity"] for _, path in read_pvd(out / f"member_{k:02d}" / "prediction.pvd")])
                  for k in range(members)])
    return x.astype(np.float64), wall


def crps_ensemble(x, y):
    """CRPS of the empirical distribution of members x [N, ...] at truth y [...], pointwise:
    mean |x - y| - sum_{k,l} |x_k - x_l| / (2 N^2), the pair sum from the sorted members."""
    n = x.shape[0]
    xs = np.sort(x, axis=0)
    weights = (2 * np.arange(n) - n + 1).reshape((n,) + (1,) * (x.ndim - 1))
    pairs = 2 * (weights * xs).sum(axis=0)
    return np.abs(x - y).mean(axis=0) - pairs / (2 * n * n)


def accumulate(x, y):
    """Per horizon sums over points for one trajectory: x [N, H, P] members, y [H, P] truth."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    return {
        "sq_err_mean": ((mean - y) ** 2).mean(axis=-1),
        "var": x.var(axis=0, ddof=1).mean(axis=-1),
        "crps": crps_ensemble(x, y).mean(axis=-1),
        "mae_member": np.abs(x[0] - y).mean(axis=-1),
        "mae_mean": np.abs(mean - y).mean(axis=-1),
        "rank": np.bincount((x < y[None]).sum(axis=0).ravel(), minlength=n + 1),
    }


def summarise(acc, members):
    """Mean over trajectories of the per-horizon sums -> the reported figures per horizon."""
    stack = {k: np.mean([a[k] for a in acc], axis=0) for k in ("sq_err_mean", "var", "crps", "mae_member", "mae_mean")}
    rmse, spread = np.sqrt(stack["sq_err_mean"]), np.sqrt(stack["var"])
    ranks = np.sum([a["rank"] for a in acc], axis=0)
    hist = ranks / ranks.sum()
    return {
        "rmse_mean": rmse.tolist(), "spread": spread.tolist(),
        "spread_skill": (np.sqrt((members + 1) / members) * spread / rmse).tolist(),
        "crps": stack["crps"].tolist(), "mae_member": stack["mae_member"].tolist(), "mae_mean": stack["mae_mean"].tolist(),
        "rank_histogram": hist.tolist(),
        # The truth below or above every member: 2 / (N + 1) for a calibrated ensemble.
        "outside": float(hist[0] + hist[-1]),
    }


def run(data, bundle, cli, out=None, members=16, traj=8, horizon=32, threads=None, log=print) -> dict:
    test = load(Path(data) / "test.npz")
    w, nus = test["w"], test["nu"]
    if w.shape[1] < horizon + 1:
        raise SystemExit(f"the test split has {w.shape[1]} frames; --horizon {horizon} needs {horizon + 1}")
    per_nu, walls = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for b in range(len(w)):
            nu = float(nus[b])
            if len(per_nu.setdefault(nu, [])) >= traj:
                continue
            x, wall = ensemble_forecast(cli, bundle, w[b, 0], nu, horizon, members, b, Path(tmp) / f"t{b}", threads)
            walls.append(wall)
            per_nu[nu].append(accumulate(x, w[b, 1:1 + horizon].reshape(horizon, -1).astype(np.float64)))
            log(f"trajectory {b} (viscosity {nu:g}): {members} members x {horizon} frames in {wall:.1f} s")
    result = {
        "members": members, "horizon": horizon, "horizons": list(range(1, horizon + 1)),
        "trajectories_per_viscosity": {f"{nu:g}": len(a) for nu, a in per_nu.items()},
        "test": test["info"], "bundle": load_manifest(bundle)["name"],  # its name: the results travel with it, a path would not
        "seconds_per_trajectory": float(np.mean(walls)),
        "by_viscosity": {f"{nu:g}": summarise(a, members) for nu, a in sorted(per_nu.items())},
    }
    result["by_viscosity"]["all"] = summarise([a for acc in per_nu.values() for a in acc], members)
    print(table(result))
    out = Path(out or bundle)
    out.mkdir(parents=True, exist_ok=True)
    plot(result, out / "calibration.png")
    metrics = out / "metrics.json"
    if metrics.exists():
        from .report import write_report
        m = json.loads(metrics.read_text())
        m["calibration"] = result
        metrics.write_text(json.dumps(m, indent=1) + "\n")
        write_report(metrics, out / "REPORT.md")
        log(f"wrote {out / 'calibration.png'}, `calibration` in {metrics} and {out / 'REPORT.md'}")
    else:
        (out / "calibration.json").write_text(json.dumps(result, indent=1) + "\n")
        log(f"wrote {out / 'calibration.json'} and {out / 'calibration.png'}")
    return result


def table(r) -> str:
    """The figures as markdown: one table per viscosity, rows by horizon."""
    n = r["members"]
    lines = []
    for key, s in r["by_viscosity"].items():
        lines += [f"### viscosity {key}", "",
                  "| horizon (frames) | RMSE of the mean | spread | spread-skill | CRPS | MAE, one member | CRPS / MAE |",
                  "|---|---|---|---|---|---|---|"]
        for h in HORIZONS:
            if h > r["horizon"]:
                continue
            i = h - 1
            lines.append(f"| {h} | {s['rmse_mean'][i]:.4f} | {s['spread'][i]:.4f} | {s['spread_skill'][i]:.2f} | "
                         f"{s['crps'][i]:.4f} | {s['mae_member'][i]:.4f} | {s['crps'][i] / s['mae_member'][i]:.2f} |")
        hist = s["rank_histogram"]
        lines += ["", f"rank histogram ({n + 1} bins, uniform = {1 / (n + 1):.3f}): "
                  + " ".join(f"{v:.3f}" for v in hist),
                  f"truth outside the ensemble's range: {100 * s['outside']:.1f}% of points "
                  f"(calibrated: {100 * 2 / (n + 1):.1f}%)", ""]
    return "\n".join(lines)


def plot(r, path):
    """Rank histogram (all horizons) and spread / RMSE / their ratio against horizon, per viscosity.
    matplotlib comes with vtk, a pinned requirement of the package."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n, hs = r["members"], np.array(r["horizons"])
    keys = [k for k in r["by_viscosity"] if k != "all"]
    colours = dict(zip(keys, ["tab:blue", "tab:orange", "tab:green", "tab:red"]))
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.6))
    width = 0.8 / len(keys)
    for j, k in enumerate(keys):
        ax[0].bar(np.arange(n + 1) + (j - (len(keys) - 1) / 2) * width, r["by_viscosity"][k]["rank_histogram"], width,
                  label=f"viscosity {k}", color=colours[k])
    ax[0].axhline(1 / (n + 1), color="k", ls="--", lw=1, label="calibrated (uniform)")
    ax[0].set(xlabel=f"rank of the truth among the {n} members (0 = below all)", ylabel="fraction of points",
              title="rank histogram, all horizons", xticks=range(0, n + 1, max(1, n // 8)))
    ax[0].legend()
    for k in keys:
        s = r["by_viscosity"][k]
        ax[1].plot(hs, s["rmse_mean"], color=colours[k], label=f"RMSE of the mean, viscosity {k}")
        ax[1].plot(hs, s["spread"], color=colours[k], ls="--", label=f"spread (ensemble std), viscosity {k}")
        ax[2].plot(hs, s["spread_skill"], color=colours[k], marker="o", ms=3, label=f"viscosity {k}")
    ax[1].set(xlabel="horizon (frames of dt = 0.25)", ylabel="vorticity (1/s)", title="skill and spread against horizon")
    ax[1].legend(fontsize=8)
    ax[2].axhline(1, color="k", ls="--", lw=1, label="calibrated")
    ax[2].set(xlabel="horizon (frames of dt = 0.25)", ylabel="sqrt((N+1)/N) spread / RMSE",
              title="spread-skill ratio (< 1: under-dispersed)", ylim=(0, max(1.2, 1.1 * max(r["by_viscosity"]["all"]["spread_skill"]))))
    ax[2].legend()
    fig.suptitle(f"ECHO ensembles of {n} members on held-out NS2D trajectories ({r['bundle']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
