"""Evaluation on held-out trajectories (the test split), written to metrics.json.

All ECHO numbers except the autoencoder's come from the exported bundle run by ONNX Runtime through
the numpy reference pipeline (reference.py: the runtime's neighbours, stencils, SplitMix64 noise,
sampler, chaining), so they measure what the Rust CLI runs. Inputs are the test fields at the points
of the data lattice (n^2, optionally a random fraction of them); outputs are evaluated at the same
lattice. Errors are relative L2 per trajectory and frame, ||pred - true|| / ||true||, averaged over
trajectories (and reported per viscosity).
"""

import json
import time
from pathlib import Path

import numpy as np
import torch

from ..grid import Grid
from ..pictures import shrink_png
from ..reference import Forecaster, Runtime
from ..noise import SplitMix64
from ..sampler import integrate
from .ablation import echo_held_out
from .batches import WindowSampler
from .data import load, write_example
from .fno import load_fno, normalised_nu
from .report import write_report
from .superres import echo_forecast, lattice, rel, subset, super_resolution  # torch-free (the super-res step)
from .stages import load_checkpoint, log, pattern_frames, slot_mask_of

HORIZONS = [1, 2, 4, 8, 12, 16, 24, 32]


def forecast_table(rt, fno, fno_ck, test, horizon, keeps, n_traj, starts=(0,)):
    """rel L2 per horizon for ECHO (each keep), persistence and the FNO (both left out when `fno` is None)."""
    w, nus = test["w"], test["nu"]
    rows = {f"echo_{int(k * 100)}%": [] for k in keeps}
    if fno is not None:
        rows.update(persistence=[], fno=[])
    which = []
    for b in range(len(w)):
        if sum(1 for x in which if x == nus[b]) >= n_traj:
            continue
        which.append(nus[b])
        for s in starts:
            true = w[b, s + 1:s + 1 + horizon].reshape(horizon, -1)
            for k in keeps:
                pred = echo_forecast(rt, w[b, s], nus[b], horizon, keep=k, seed=b)
                rows[f"echo_{int(k * 100)}%"].append((nus[b], rel(pred, true, 1)))
            if fno is None:
                continue
            rows["persistence"].append((nus[b], rel(np.broadcast_to(w[b, s].reshape(1, -1), true.shape), true, 1)))
            rows["fno"].append((nus[b], rel(fno_rollout(fno, fno_ck, w[b, s], nus[b], horizon).reshape(horizon, -1), true, 1)))
    return summarise(rows, horizon)


def fno_rollout(fno, fno_ck, w0, nu, horizon):
    """The FNO's forecast of `horizon` frames from w0 [n, n]: [horizon, n, n]."""
    p = torch.tensor([normalised_nu(np.array([nu]), fno_ck)[0]], dtype=torch.float32)
    return fno.rollout(torch.from_numpy(w0[None] / fno_ck["std"]), p, horizon)[0].numpy() * fno_ck["std"]


def forecast_picture(rt, fno, fno_ck, test, horizons, path):
    """Truth, ECHO and the FNO side by side at each of `horizons` for the first held-out trajectory of
    each viscosity (the forecasts of the table: same context frame, same seed). Fields are [y, x]
    (ns2d's layout), drawn with y up."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    w, nus, dt = test["w"], test["nu"], float(test["dt"])
    firsts = [int(np.flatnonzero(nus == nu)[0]) for nu in sorted(set(nus.tolist()), reverse=True)]
    H = max(horizons)
    fig, axes = plt.subplots(len(firsts), 3 * len(horizons), figsize=(2.2 * 3 * len(horizons) + 1.2, 2.5 * len(firsts) + 0.5),
                             squeeze=False, layout="constrained")
    for row, b in zip(axes, firsts):
        n = w.shape[-1]
        echo = echo_forecast(rt, w[b, 0], nus[b], H, seed=b).reshape(H, n, n)
        fno_pred = fno_rollout(fno, fno_ck, w[b, 0], nus[b], H)
        vmax = float(np.abs(w[b, 1:H + 1]).max())
        for j, h in enumerate(horizons):
            true = w[b, h]
            for ax, (name, field) in zip(row[3 * j:3 * j + 3], (("solver", true), ("ECHO", echo[h - 1]),
                                                                 ("FNO", fno_pred[h - 1]))):
                im = ax.imshow(field, origin="lower", extent=(0, 1, 0, 1), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
                err = "" if name == "solver" else f", rel L2 {rel(field, true, (0, 1)):.3f}"
                ax.set_title(f"{name}{err}\nt = {h * dt:g} ({h} frames)", fontsize=8)
                ax.set_xticks([0, 1])
                ax.set_yticks([0, 1])
                ax.set_xlabel("x", fontsize=8, labelpad=-6)
        row[0].set_ylabel(f"viscosity {nus[b]:g}\ny", fontsize=9)
        fig.colorbar(im, ax=list(row), shrink=0.9, pad=0.01, label="vorticity")
    fig.suptitle(f"Held-out NS2D trajectories: the solver, ECHO ({rt.manifest['name']}) and the FNO from one context "
                 "frame (t = 0)", fontsize=11)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    shrink_png(path)


def summarise(rows, horizon):
    """{method: {"all"|nu: {h: mean rel L2}}} at HORIZONS <= horizon."""
    out = {}
    for name, items in rows.items():
        out[name] = {}
        for key in ["all"] + sorted({nu for nu, _ in items}):
            errs = np.array([e for nu, e in items if key == "all" or nu == key])
            out[name][str(key)] = {str(h): float(errs[:, h - 1].mean()) for h in HORIZONS if h <= horizon}
    return out


@torch.no_grad()
def autoencoder_errors(model, ck, test, keeps, n_windows=16):
    """rel L2 of the autoencoder (PyTorch; identical to the graphs by the parity tests) on test windows
    at the n^2 lattice, inputs a random `keep` fraction of the lattice points."""
    cfg = model.cfg
    n = test["w"].shape[-1]
    out = {}
    for k in keeps:
        s = WindowSampler(test["w"], test["nu"], cfg, ck["std"], cfg.frames, n * n, targets=n * n, fine_factor=1,
                          keep=(k, k), seed=5)
        errs = []
        for _ in range(n_windows // 4):
            b = s.batch(4)
            pred, _ = model.ae(b)
            errs += list(rel(pred.numpy(), b["target"].numpy(), axis=(1, 2, 3)))
        out[f"{int(k * 100)}%"] = float(np.mean(errs))
    return out


def autoencoder_errors_onnx(rt, test, keeps, n_windows=16):
    """autoencoder_errors through the bundle's graphs (ONNX Runtime, the numpy reference): windows of
    the test split lifted from a random `keep` fraction of the lattice points, encoded with every frame
    observed, decoded and queried at every lattice point; rel L2 per window, averaged."""
    w = test["w"]
    n, T = w.shape[-1], rt.manifest["time"]["frames"]
    pts = lattice(n)
    starts = [(b, s) for b in range(len(w)) for s in range(0, w.shape[1] - T + 1, T)]
    starts = starts[:: max(1, len(starts) // n_windows)][:n_windows]
    out = {}
    for k in keeps:
        errs = []
        for j, (b, s) in enumerate(starts):
            idx = subset(n * n, k, 5 + j)
            fc = Forecaster(rt, pts[idx], pts)
            win = w[b, s:s + T].reshape(T, -1, 1).astype(np.float32)
            observed, _ = fc.observe(fc.normalise(win[:, idx]))
            decoded = rt.run("decoder", latent=observed)[0]
            pred = fc.query(decoded.reshape(decoded.shape[0], T, -1), list(range(T)), fc.stencil_out)
            errs.append(float(rel(pred, fc.normalise(win), (0, 1, 2))))
        out[f"{int(k * 100)}%"] = float(np.mean(errs))
    return out


def evaluate_bundle(bundle, data_dir, quick=False) -> dict:
    """The sections of metrics.json that depend on the bundle alone (no checkpoint, no FNO): the
    autoencoder through the graphs, ECHO's forecast rows, inverse and interpolation, generation. For a
    bundle whose graphs changed after training (requery), and its before/after comparison."""
    from ..model import ModelConfig
    rt = Runtime(bundle)
    test = load(Path(data_dir) / "test.npz")
    prov = rt.manifest.get("provenance", {}).get("model", {})
    cfg = ModelConfig(**{k: v for k, v in prov.items() if k in ModelConfig.__dataclass_fields__})
    seg = cfg.frames - 1
    n_traj = 1 if quick else 8
    return {"autoencoder_onnx": autoencoder_errors_onnx(rt, test, [1.0, 0.5, 0.2], n_windows=4 if quick else 32),
            "forecast": forecast_table(rt, None, None, test, min(4 * seg, test["w"].shape[1] - 1), [1.0, 0.5, 0.2], n_traj),
            "inverse_interpolation": inverse_interp(rt, cfg, test, n_traj),
            "generation": generation_spectra(rt, test, samples=2 if quick else 8)}


def pod_error(train_w, test_w, ratio, test_nu=None):
    """Per-frame POD with n^2 / ratio modes (the autoencoder's compression), fitted on the training
    frames (the leading eigenvectors of their Gram matrix, accumulated in chunks: 10^5 frames cost
    one n^2 x n^2 matrix): rel L2 of projecting the test frames, their mean, and per viscosity."""
    n2 = train_w.shape[-1] ** 2
    x = train_w.reshape(-1, n2)
    gram = np.zeros((n2, n2))
    for a in range(0, len(x), 4096):
        c = x[a:a + 4096].astype(np.float64)
        gram += c.T @ c
    r = int(round(n2 / ratio))
    basis = np.linalg.eigh(gram)[1][:, ::-1][:, :r].T
    y = test_w.reshape(*test_w.shape[:-2], n2).astype(np.float64)
    errs = rel((y @ basis.T) @ basis, y, -1)  # [trajectories, frames]
    out = {"modes": r, "rel_l2": float(np.mean(errs))}
    if test_nu is not None:
        out["by_viscosity"] = {f"{nu:g}": float(np.mean(errs[test_nu == nu])) for nu in np.unique(test_nu)}
    return out


def masked_task(rt, w_window, nu, frames_obs, seed=0):
    """Sample a segment given the frames marked in frames_obs (the runtime's encoding of inverse and
    interpolation): -> predicted frames [T, n^2]."""
    n = w_window.shape[-1]
    pts = lattice(n)
    fc = Forecaster(rt, pts, pts, {"viscosity": float(nu)})
    m = rt.manifest
    feats = fc.lift(fc.normalise(w_window.reshape(len(w_window), -1, 1).astype(np.float32)))
    f = feats.shape[0]
    x = np.zeros((1, f + 1, fc.T, *fc.grid.tensor_shape), dtype=np.float32)
    obs_t = np.flatnonzero(frames_obs)
    x[0, :f][:, obs_t] = feats[:, obs_t]
    x[0, f, obs_t] = fc.neighbours.coverage().reshape(fc.grid.tensor_shape)
    latent = rt.run("encoder", frames=x)
    sm = np.array([float(all(frames_obs[t] for t in s)) for s in m["time"]["slots"]], dtype=np.float32)
    observed = (latent * sm.reshape(1, 1, -1, 1, 1)).astype(np.float32)
    decoded = fc.generate(observed, sm, SplitMix64(seed), m["sampler"]["steps"], m["sampler"]["method"])
    out = fc.query(decoded, list(range(fc.T)), fc.stencil_out)
    return fc.denormalise(out)[..., 0]


def inverse_interp(rt, cfg, test, n_traj):
    """Inverse: observe the last slot's frames, error on the earlier frames (and frame 0 alone).
    Interpolation: observe frame 0 and the last slot, error on the frames between."""
    T = cfg.frames
    res = {"inverse": [], "inverse_frame0": [], "interpolation": []}
    inv, itp = pattern_frames("inverse", cfg), pattern_frames("interpolate", cfg)
    for b in range(len(test["w"])):
        if b % (len(test["w"]) // len(set(test["nu"].tolist()))) >= n_traj:
            continue
        win = test["w"][b, :T]
        true = win.reshape(T, -1)
        p = masked_task(rt, win, test["nu"][b], inv, seed=b)
        miss = np.flatnonzero(inv == 0)
        res["inverse"].append(float(np.mean(rel(p[miss], true[miss], 1))))
        res["inverse_frame0"].append(float(rel(p[0], true[0], 0)))
        p = masked_task(rt, win, test["nu"][b], itp, seed=b)
        miss = np.flatnonzero(itp == 0)
        res["interpolation"].append(float(np.mean(rel(p[miss], true[miss], 1))))
    return {k: float(np.mean(v)) for k, v in res.items()} | {"trajectories": len(res["inverse"]),
                                                             "observed_inverse": inv.tolist(), "observed_interpolation": itp.tolist()}


def radial_spectrum(w):
    """Mean energy spectrum E(k) over fields [..., n, n]: |w_hat|^2 summed over shells |k| in [k-0.5, k+0.5)."""
    n = w.shape[-1]
    wh = np.fft.fft2(w.reshape(-1, n, n)) / n ** 2
    k = np.fft.fftfreq(n, 1.0 / n)
    kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    shells = np.rint(kk).astype(int)
    e = (np.abs(wh) ** 2).mean(0)
    return np.bincount(shells.ravel(), weights=e.ravel())[: n // 2]


def generation_spectra(rt, test, samples=8, seed=0):
    """Unconditional segments (nothing observed, no parameters) vs the test data's frames."""
    m = rt.manifest
    n = test["w"].shape[-1]
    pts = lattice(n)
    fc = Forecaster(rt, pts, pts, None)
    S = len(m["time"]["slots"])
    shape = (1, m["latent"]["channels"], S, *m["latent"]["shape"][::-1])
    gen = []
    noise = SplitMix64(seed)
    for _ in range(samples):
        decoded = fc.generate(np.zeros(shape, np.float32), np.zeros(S, np.float32), noise, m["sampler"]["steps"], m["sampler"]["method"])
        gen.append(fc.denormalise(fc.query(decoded, list(range(fc.T)), fc.stencil_out))[..., 0].reshape(fc.T, n, n))
    e_gen, e_data = radial_spectrum(np.stack(gen)), radial_spectrum(test["w"])
    ks = [k for k in (1, 2, 4, 8, 12, 16, 20, 24, 31) if k < len(e_gen)]
    ratios = {}
    for lo, hi in ((1, 4), (5, 10), (11, 21)):
        if hi < len(e_data) and e_data[lo:hi + 1].sum() > 0:
            ratios[f"k{lo}-{hi}"] = float(e_gen[lo:hi + 1].sum() / e_data[lo:hi + 1].sum())
    return {"samples": samples, "k": ks, "E_generated": [float(e_gen[k]) for k in ks], "E_data": [float(e_data[k]) for k in ks],
            "energy_ratio_generated_over_data": ratios,
            "std_generated": float(np.std(gen)), "std_data": float(np.std(test["w"]))}


def record_in_manifest(bundle, res):
    """A summary of the held-out metrics in the manifest's provenance (free-form; graphs untouched,
    so their sha256 stay valid)."""
    from ..manifest import dumps_manifest
    path = Path(bundle) / "manifest.json"
    m = json.loads(path.read_text())
    fc = res["forecast"]
    m["provenance"]["metrics"] = {
        "held_out_rel_l2": {name: fc[name]["all"] for name in ("echo_100%", "persistence", "fno")},
        "autoencoder_rel_l2": res["autoencoder"], "pod_same_ratio_rel_l2": res["pod_same_ratio"]["rel_l2"],
        "see": "REPORT.md"}
    path.write_text(dumps_manifest(m) + "\n")


def evaluate(run, data_dir, bundle, out, quick=False, super_res=0):
    """Every metric into out/metrics.json (and returned)."""
    t0 = time.perf_counter()
    model, ck = load_checkpoint(run, 3)
    model.eval()
    cfg = model.cfg
    test, train = load(Path(data_dir) / "test.npz"), load(Path(data_dir) / "train.npz")
    rt = Runtime(bundle)
    fno, fno_ck = load_fno(run)
    n = test["w"].shape[-1]
    seg = cfg.frames - 1
    horizon = min(4 * seg, test["w"].shape[1] - 1)
    n_traj = 1 if quick else 8
    ratio = cfg.compression_ratio(n * n)
    res = {"bundle": rt.manifest["name"], "compression_ratio": ratio, "segment_frames": seg, "dt": test["dt"], "test": test["info"],
           "trajectories_per_viscosity": n_traj}
    log("autoencoder ...")
    res["autoencoder"] = autoencoder_errors(model, ck, test, [1.0, 0.5, 0.2], n_windows=4 if quick else 32)
    res["pod_same_ratio"] = pod_error(train["w"], test["w"], ratio, test["nu"])
    res["autoencoder_by_viscosity"] = echo_held_out(model, ck, test)
    log("forecast ...")
    res["forecast"] = forecast_table(rt, fno, fno_ck, test, horizon, [1.0, 0.5, 0.2], n_traj)
    Path(out).mkdir(parents=True, exist_ok=True)
    forecast_picture(rt, fno, fno_ck, test, sorted({min(8, horizon), horizon}), Path(out) / "forecast.png")
    res["forecast_picture"] = "forecast.png"
    log("inverse / interpolation ...")
    res["inverse_interpolation"] = inverse_interp(rt, cfg, test, n_traj)
    log("generation ...")
    res["generation"] = generation_spectra(rt, test, samples=2 if quick else 8)
    if super_res:
        log(f"super-resolution at {super_res}^2 ...")
        res["super_resolution"] = {str(super_res): super_resolution(rt, test["info"], super_res, cfg.frames - 1)}
    res["fno"] = {"params": fno_ck["params"], "steps": fno_ck["history"]["steps"], "batch": fno_ck["history"]["batch"]}
    res["training"] = {k: {kk: vv for kk, vv in v.items() if kk != "log"} | {"final": v["log"][-1] if v["log"] else None}
                       for k, v in ck["history"].items()}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    write_example(test, Path(out) / "example")
    (Path(out) / "metrics.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    write_report(Path(out) / "metrics.json", Path(out) / "REPORT.md")
    record_in_manifest(bundle, res)
    log(f"wrote {Path(out) / 'metrics.json'} and REPORT.md in {res['seconds']} s")
    return res
