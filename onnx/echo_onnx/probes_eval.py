"""Full fields from a few probes: ECHO (`echo-onnx reconstruct`, the Rust CLI on a CSV of probe values)
against plain interpolation of the same probes, as a function of the number of probes.

    .venv/bin/python -m echo_onnx.probes_eval --cli target/release/echo-onnx [--out DIR] [--cylinder DATA/test]

Cases (held out from training):
- NS2D vorticity (`onnx/bundles/ns2d-vorticity`): the test split's generator (seed 2000 + viscosity
  index, as `echo-onnx-train generate-data`), trajectories 0..3 at viscosities 1e-3 and 1e-4, frames
  0 and 16 (t = 0 and 4 after the burn-in); truth on the 64^2 lattice.
- cylinder wake (`onnx/bundles/cylinder-wake`): held-out Re 118 (and 75, 170 when present), U and p at
  the 10,524 cell centres, t = 60, 65, 70 (developed shedding).

Probes: N random locations (N = 16, 64, 256; a fixed seed per case): lattice points for NS2D,
uniform in the box outside the cylinder (r > 0.55) snapped to the nearest cell centre for the
cylinder, so the truth is known exactly there. ECHO: `echo-onnx reconstruct --input probes.csv
--query truth_points.vtu`, conditioned on the true parameter, seed 0. Interpolation, each at its
best: scipy griddata linear and cubic (outside the probes' convex hull: the nearest probe), and
RBFInterpolator thin-plate spline; for the periodic NS2D box the probes are tiled with their 8
periodic images first. Error: relative L2 over all truth points (for U, also of the deviation from
the free stream, U - (1, 0): ||pred - true|| / ||true - (1, 0)||), averaged over cases.

Prints the table and writes DIR/probes.json and DIR/probes.png (DIR: out/probes by default).
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.interpolate import RBFInterpolator, griddata

from .pictures import shrink_png
from .vtkxml import Mesh, read_pvd, read_vtu, write_vtu

COUNTS = (16, 64, 256)
ROOT = Path(__file__).resolve().parents[2]


def rel(pred, true, ref=None):
    ref = true if ref is None else ref
    return float(np.linalg.norm(pred - true) / np.linalg.norm(ref))


def write_csv(path, pos, fields, times):
    """pos [N, 2]; fields {name: [T, N] or [T, N, 2]}; times [T]."""
    cols, header = [], ["x", "y"]
    for name, v in fields.items():
        if v.ndim == 3:
            header += [f"{name}_x", f"{name}_y"]
        else:
            header.append(name)
    header.append("time")
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for k, t in enumerate(times):
            for i in range(len(pos)):
                row = [repr(float(pos[i, 0])), repr(float(pos[i, 1]))]
                for v in fields.values():
                    row += [repr(float(x)) for x in np.atleast_1d(v[k, i])]
                row.append(repr(float(t)))
                f.write(",".join(row) + "\n")
    del cols


def reconstruct(cli, bundle, csv, query, param, out, pose, times, ensemble):
    """`echo-onnx reconstruct --from pose --times ...`: the frames (mean, and `<field>_std` with an ensemble)."""
    cmd = [str(cli), "--quiet", "--json", "reconstruct", "--bundle", str(bundle), "--input", str(csv), "--query", str(query),
           "--out", str(out), "--force", "--from", pose, "--times", ",".join(repr(float(t)) for t in times), "--ensemble", str(ensemble)]
    if param:
        cmd += ["--param", param]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}): {run.stderr}{run.stdout}")
    return [read_vtu(out / p) for _, p in read_pvd(out / "prediction.pvd")]


# ECHO's ways to pose the reconstruction of the field at t (echo-onnx reconstruct --from): the probe
# frames each needs, as offsets in bundle dt. same: the probes at t (no spread); before: at t - dt (a
# forecast); after: at t + dt .. t + 4 dt (generated before them, as inverse).
POSES = {"same": [0], "before": [-1], "after": [1, 2, 3, 4]}
ENSEMBLE = 8
ECHO = tuple(f"echo_{p}" for p in POSES)
SPREAD = tuple(f"{a}_{p}" for p in ("before", "after") for a in ("var", "mse"))


def summarise(errs):
    """Means over cases, and the spread-skill ratio of the generated poses: sqrt((M + 1) / M) x the
    RMS ensemble std over the RMSE of the ensemble mean (1: calibrated; below: over-confident), for
    the vorticity (NS2D) or the velocity components (cylinder)."""
    out = {m: float(np.mean(v)) for m, v in errs.items()}
    for p in ("before", "after"):
        out[f"spread_skill_{p}"] = float(np.sqrt((ENSEMBLE + 1) / ENSEMBLE * out[f"var_{p}"] / out[f"mse_{p}"]))
    return out


def echo_all(cli, bundle, work, pos, fields, times, targets, query, param):
    """{pose: frames at the target frame indices}: fields {name: [K, N, ...]} at all frame indices, times [K]."""
    need = sorted({k + o for k in targets for v in POSES.values() for o in v})
    csv = work / "probes.csv"
    write_csv(csv, pos, {f: v[need] for f, v in fields.items()}, [times[k] for k in need])
    return {pose: reconstruct(cli, bundle, csv, query, param, work / "out", pose, [times[k] for k in targets],
                              1 if pose == "same" else ENSEMBLE) for pose in POSES}


def interpolators(pos, values, at, periodic):
    """{method: values at `at`} for values [N] or [N, C]."""
    if periodic:
        shifts = np.array([(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)], dtype=float)
        pos = np.concatenate([pos + s for s in shifts])
        values = np.concatenate([values] * len(shifts))
    out = {}
    nearest = griddata(pos, values, at, method="nearest")
    for method in ("linear", "cubic"):
        v = griddata(pos, values, at, method=method)
        bad = ~np.isfinite(v)
        v[bad] = nearest[bad]
        out[method] = v
    out["rbf"] = RBFInterpolator(pos, values, kernel="thin_plate_spline")(at)
    return out


METHODS = ("linear", "cubic", "rbf")
ENSEMBLE = 8


def ns2d_cases(trajs=4, targets=(1, 17)):
    from . import ns2d
    cases = []
    last = max(targets) + max(POSES["after"]) + 1
    for i, nu in enumerate((1e-3, 1e-4)):
        w = ns2d.trajectories(trajs, 64, nu, last, 0.25, 2000 + i, burn_in=5.0, workers=1)
        for b in range(trajs):
            cases.append({"nu": nu, "traj": b, "w": w[b].reshape(last, -1), "times": [0.25 * f for f in range(last)], "targets": list(targets)})
    return cases


def run_ns2d(cli, work, counts, log):
    from .train.superres import lattice
    bundle = ROOT / "onnx/bundles/ns2d-vorticity"
    n = 64
    pts = lattice(n)[:, :2]                                        # x fastest, as w[..., j, i].ravel()
    query = work / "ns2d_query.vtu"
    write_vtu(query, Mesh(np.c_[pts, np.zeros(len(pts))].astype(np.float32)))
    rows, pictures = {}, {}
    cases = ns2d_cases()
    log(f"ns2d: {len(cases)} held-out trajectories x {len(cases[0]['targets'])} frames")
    for N in counts:
        errs = {m: [] for m in ECHO + METHODS + SPREAD}
        for c, case in enumerate(cases):
            rng = np.random.default_rng(1000 * N + c)
            idx = rng.choice(n * n, N, replace=False)
            w = case["w"]
            echo = echo_all(cli, bundle, work, pts[idx], {"vorticity": w[:, idx]}, case["times"], case["targets"], query,
                            f"viscosity={case['nu']!r}")
            for j, k in enumerate(case["targets"]):
                for pose, frames in echo.items():
                    errs[f"echo_{pose}"].append(rel(frames[j].point_data["vorticity"], w[k]))
                    if pose != "same":
                        pd = frames[j].point_data
                        errs[f"var_{pose}"].append(float(np.mean(pd["vorticity_std"] ** 2)))
                        errs[f"mse_{pose}"].append(float(np.mean((pd["vorticity"] - w[k]) ** 2)))
                interp = interpolators(pts[idx], w[k, idx], pts, periodic=True)
                for m in METHODS:
                    errs[m].append(rel(interp[m], w[k]))
                if c == 0 and j == 0:
                    a = echo["after"][0].point_data
                    pictures[N] = {"truth": w[k], "probes": pts[idx], "echo": a["vorticity"], "std": a["vorticity_std"], "interp": interp,
                                   "t": case["times"][k]}
        rows[N] = summarise(errs)
        log(f"ns2d N={N}: " + ", ".join(f"{m} {v:.3f}" for m, v in rows[N].items()))
    return rows, pictures, pts


def run_cylinder(cli, work, counts, data, log):
    bundle = ROOT / "onnx/bundles/cylinder-wake"
    files = [f for f in (data / "Re118.npz", data / "Re75.npz", data / "Re170.npz") if f.exists()]
    rows, pictures = {}, {}
    if not files:
        log(f"cylinder: no held-out data under {data}; skipped")
        return rows, pictures, None
    free = np.array([1.0, 0.0])
    speed = lambda v: np.hypot(v[:, 0], v[:, 1])  # noqa: E731
    for N in counts:
        errs = {f"{m}_{f}": [] for m in ECHO + METHODS for f in ("U", "dU", "p")}
        errs.update({m: [] for m in SPREAD})
        for c, f in enumerate(files):
            d = np.load(f)
            pts, t = d["points"], d["t"]
            U, p = d["U"].astype(np.float64), d["p"].astype(np.float64)
            targets = [int(np.argmin(np.abs(t - s))) for s in (60.0, 65.0, 70.0)]
            query = work / f"cyl_query_{c}.vtu"
            if not query.exists():
                write_vtu(query, Mesh(np.c_[pts, np.zeros(len(pts))].astype(np.float32)))
            rng = np.random.default_rng(7000 + 100 * N + c)
            cand = []
            while len(cand) < N:
                x = rng.uniform([-5, -5], [15, 5])
                if np.hypot(*x) > 0.55:
                    j = int(np.argmin(((pts - x) ** 2).sum(1)))
                    if j not in cand:
                        cand.append(j)
            idx = np.array(cand)
            echo = echo_all(cli, bundle, work, pts[idx], {"U": U[:, idx], "p": p[:, idx]}, [float(x) for x in t], targets, query,
                            f"Re={float(d['Re'])!r}")
            for j, k in enumerate(targets):
                for pose, frames in echo.items():
                    u, q = frames[j].point_data["U"][:, :2], frames[j].point_data["p"]
                    errs[f"echo_{pose}_U"].append(rel(u, U[k]))
                    errs[f"echo_{pose}_dU"].append(rel(u, U[k], U[k] - free))
                    errs[f"echo_{pose}_p"].append(rel(q, p[k]))
                    if pose != "same":
                        errs[f"var_{pose}"].append(float(np.mean(frames[j].point_data["U_std"][:, :2] ** 2)))
                        errs[f"mse_{pose}"].append(float(np.mean((u - U[k]) ** 2)))
                iu = interpolators(pts[idx], U[k, idx], pts, periodic=False)
                ip = interpolators(pts[idx], p[k, idx], pts, periodic=False)
                for m in METHODS:
                    errs[f"{m}_U"].append(rel(iu[m], U[k]))
                    errs[f"{m}_dU"].append(rel(iu[m], U[k], U[k] - free))
                    errs[f"{m}_p"].append(rel(ip[m], p[k]))
                if c == 0 and j == 0:
                    a = echo["after"][0].point_data
                    pictures[N] = {"truth": speed(U[k]), "probes": pts[idx], "echo": speed(a["U"]), "std": speed(a["U_std"]),
                                   "interp": {m: speed(iu[m]) for m in METHODS}, "t": float(t[k]),
                                   # the table's measure, U - U_inf, for the titles
                                   "errors": {"echo": rel(a["U"][:, :2], U[k], U[k] - free),
                                              **{m: rel(iu[m], U[k], U[k] - free) for m in METHODS}}}
            log(f"cylinder N={N} {f.name}: " + ", ".join(f"{m} dU {np.mean(errs[m + '_dU'][-3:]):.3f}" for m in ECHO + ("rbf",)))
        rows[N] = summarise(errs)
    return rows, pictures, np.load(files[0])["points"]


def table(ns, cyl):
    def cells(vals):
        return " | ".join(f"**{v:.3f}**" if v == min(vals) else f"{v:.3f}" for v in vals)
    heads = "ECHO --from same | ECHO --from before | ECHO --from after | griddata linear | griddata cubic | thin-plate RBF"
    L = [f"| NS2D vorticity, probes | {heads} |", "|---|---|---|---|---|---|---|"]
    for N, r in ns.items():
        L.append(f"| {N} | " + cells([r[m] for m in ECHO + METHODS]) + " |")
    spread = [f"spread-skill of the {ENSEMBLE}-member ensembles (1 = calibrated; below 1: over-confident), --from before / after:"]
    spread += [f"NS2D, {N} probes: {r['spread_skill_before']:.2f} / {r['spread_skill_after']:.2f}" for N, r in ns.items()]
    spread += [f"cylinder U, {N} probes: {r['spread_skill_before']:.2f} / {r['spread_skill_after']:.2f}" for N, r in (cyl or {}).items()]
    if cyl:
        for f, what in (("dU", "cylinder U - U_inf"), ("p", "cylinder p")):
            L += ["", f"| {what}, probes | {heads} |", "|---|---|---|---|---|---|---|"]
            for N, r in cyl.items():
                L.append(f"| {N} | " + cells([r[f"{m}_{f}"] for m in ECHO + METHODS]) + " |")
    return "\n".join(L + [""] + spread)


COMMAND = ".venv/bin/python -m echo_onnx.probes_eval --reports --cylinder DATA/test"


def probes_section(r: dict, case: str) -> list:
    """The REPORT.md section of one bundle (`case` "ns2d" or "cylinder") from its metrics["probes"]."""
    rows, n_cases = r["rows"], r["cases"]
    best = lambda row, f="": min(row[m + f] for m in METHODS)  # noqa: E731
    f = "" if case == "ns2d" else "_dU"
    L = ["## Full fields from probes", "",
         "`echo-onnx reconstruct` rebuilds the full field at a time t from N probes (an OpenFOAM case with probes output, or a "
         "CSV; README, \"Full fields from probes\"), against plain interpolation of the probes at t (scipy griddata linear / "
         "cubic with the nearest probe outside their hull, thin-plate RBF" + (", periodic images included" if case == "ns2d" else "")
         + "). Probes: N random " + ("lattice points" if case == "ns2d" else "cell centres (uniform in the box outside the cylinder)")
         + f"; {n_cases} held-out cases (" + ("test-split trajectories 0..3 at both viscosities, t = 0.25 and 4.25"
                                             if case == "ns2d" else "Re 75, 118, 170 at t = 60, 65, 70") + "); relative L2 error "
         + ("of the vorticity" if case == "ns2d" else "of U - U_inf (the velocity's deviation from the free stream) and of p")
         + f" at every point, mean over cases. ECHO: `--from same` (the probes at t alone), `before` (the probes at t - dt, "
         f"forecast one frame), `after` (the probes at t + dt .. t + 4 dt, the frame before them generated, as `inverse`; the "
         f"default); {r['ensemble']}-member ensemble means for before/after, conditioned on the true parameter, seed 0. "
         "Bold: best per row.", ""]
    heads = "ECHO same | ECHO before | ECHO after | griddata linear | griddata cubic | thin-plate RBF"
    fields = [("", "vorticity")] if case == "ns2d" else [("_dU", "U - U_inf"), ("_p", "p")]
    for suffix, name in fields:
        L += [f"| {name}, probes | {heads} |", "|---|---|---|---|---|---|---|"]
        for N, row in rows.items():
            vals = [row[m + suffix] for m in ECHO + METHODS]
            L.append(f"| {N} | " + " | ".join(f"**{v:.3f}**" if v == min(vals) else f"{v:.3f}" for v in vals) + " |")
        L.append("")
    verdict = []
    for N, row in rows.items():
        e, i = row["echo_after" + f], best(row, f)
        verdict.append(f"{N} probes: ECHO {'wins' if e < i else 'loses'} ({e:.3f} against {i:.3f}, {e / i:.2f}x)")
    L += ["Verdict (computed, " + ("vorticity" if case == "ns2d" else "velocity") + ", `--from after` against the best "
          "interpolation): " + "; ".join(verdict) + ".", "",
          f"Spread-skill of the {r['ensemble']}-member ensembles (sqrt((M+1)/M) x RMS std over the RMSE of the mean; 1: "
          "calibrated, below 1: over-confident), before / after: "
          + "; ".join(f"{N} probes {row['spread_skill_before']:.2f} / {row['spread_skill_after']:.2f}" for N, row in rows.items()) + ".", "",
          "Read with care: `after` and `before` use the probes at other times (4 x N values for `after`), the interpolation "
          "only the N values at t. `same` is the comparison on the same N values; against the best interpolation: "
          + "; ".join(f"{N} probes {row['echo_same' + f]:.3f} against {best(row, f):.3f}" for N, row in rows.items()) + ". The shipped bundles were "
          "trained with 50-100% of the data's points as input (at least 2048 points for NS2D, 5262 cells for the cylinder), "
          "never with a few probes; the encoder of a sparse frame is out of its training distribution (its lift covers only the "
          "grid nodes within 2 spacings of a probe), which is why `same` is poor and why the generated frames (`before`, `after`), "
          "which the generator keeps on the data's distribution, do better. Training with probe-like inputs (keep down to ~1%) "
          "is the next step.", "",
          f"Regenerate, after `cargo build --release`: `{r['command']}` (DATA: the cylinder data of `scripts/cylinder-wake.sh`, "
          "`.echo/cylinder/data` by default)" + (f"; {r['seconds']:.0f} s on 2 shared cores." if r.get("seconds") else "."), "",
          "![truth, probes, ECHO, the best interpolation, error difference and ECHO's std](../../../docs/probes.png)", ""]
    return L


def splice(report: Path, section: list, before: str):
    """Put `section` into REPORT.md in place of an earlier one (which ends at the next heading or at the
    line starting with `before`), else before that line."""
    text = report.read_text()
    block = "\n".join(section)
    start = text.find("## Full fields from probes")
    if start >= 0:
        ends = [e for e in (text.find("\n## ", start + 1), text.find("\n" + before, start + 1)) if e >= 0]
        end = min(ends) + 1 if ends else len(text)
        text = text[:start] + block + ("\n" if end < len(text) else "") + text[end:]
    else:
        at = text.find("\n" + before)
        at = len(text) if at < 0 else at + 1
        text = text[:at] + block + "\n" + text[at:]
    report.write_text(text)


def picture(path, ns_pics, ns_pts, cyl_pics, cyl_pts, ns_rows, cyl_rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation
    rows = [("ns2d", N) for N in ns_pics] + [("cyl", N) for N in cyl_pics]
    fig, axes = plt.subplots(len(rows), 6, figsize=(25, 3.6 * len(rows)), squeeze=False)
    for r, (case, N) in enumerate(rows):
        pics, pts = (ns_pics, ns_pts) if case == "ns2d" else (cyl_pics, cyl_pts)
        p = pics[N]
        res = ns_rows[N] if case == "ns2d" else cyl_rows[N]
        best = min(METHODS, key=lambda m: res[m] if case == "ns2d" else res[f"{m}_dU"])
        truth = p["truth"]
        lo, hi = (np.percentile(truth, 0.5), np.percentile(truth, 99.5))
        if case == "ns2d":
            lim = max(abs(lo), abs(hi))
            lo, hi, cmap, label, unit = -lim, lim, "RdBu_r", "vorticity", "1/s"
        else:
            cmap, label, unit = "viridis", "|U|", "m/s"
        err_pred = {"ECHO": p["echo"] - truth, best: p["interp"][best] - truth}
        elim = max(np.percentile(np.abs(v), 99.5) for v in err_pred.values())
        if case == "ns2d":
            tri = Triangulation(pts[:, 0], pts[:, 1])
        else:
            tri = Triangulation(pts[:, 0], pts[:, 1])
            c = pts[tri.triangles].mean(1)
            tri.set_mask(np.hypot(c[:, 0], c[:, 1]) < 0.5)
        errors = p.get("errors") or {"echo": rel(p["echo"], truth), best: rel(p["interp"][best], truth)}
        e_echo, e_int = errors["echo"], errors[best]
        measure = "rel. L2" if case == "ns2d" else "rel. L2 of U - U_inf"
        panels = [(truth, f"truth ({label})", cmap, lo, hi, unit),
                  (truth, f"{N} probes (black dots) on the truth", cmap, lo, hi, unit),
                  (p["echo"], f"ECHO --from after (mean of {ENSEMBLE}),\n{measure} {e_echo:.2f}", cmap, lo, hi, unit),
                  (p["interp"][best], f"{best} interpolation,\n{measure} {e_int:.2f}", cmap, lo, hi, unit),
                  (np.abs(err_pred["ECHO"]) - np.abs(err_pred[best]), f"|ECHO error| - |{best} error|", "PuOr_r", -elim, elim, unit),
                  (p["std"], f"ECHO ensemble std ({ENSEMBLE} members)", "magma", 0, max(float(np.percentile(p["std"], 99.5)), 1e-12), unit)]
        for a, (v, title, cm, vmin, vmax, u) in enumerate(panels):
            ax = axes[r, a]
            im = ax.tripcolor(tri, v, cmap=cm, vmin=vmin, vmax=vmax, shading="gouraud")
            if a == 1:
                ax.plot(p["probes"][:, 0], p["probes"][:, 1], "k.", ms=4)
            name = f"NS2D (periodic unit box), t = {p['t']:g}" if case == "ns2d" else f"cylinder wake, Re 118, t = {p['t']:g}"
            ax.set_title(f"{name}\n{title}" if a == 0 else title, fontsize=8)
            ax.set_aspect("equal")
            ax.set_xlabel("x (box units)" if case == "ns2d" else "x / D")
            ax.set_ylabel("y (box units)" if case == "ns2d" else "y / D")
            what = label if a < 4 else ("error difference" if a == 4 else f"std of {label}")
            fig.colorbar(im, ax=ax, shrink=0.8, label=f"{what} ({u})")
    fig.suptitle("Full fields from N probes: ECHO (echo-onnx reconstruct) against the best plain interpolation; "
                 "purple (< 0): ECHO closer to the truth, orange: interpolation closer", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=64)
    plt.close(fig)
    shrink_png(path)  # 24 Gouraud-shaded panels: 1 MB as RGBA


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=str(ROOT / "target/release/echo-onnx"))
    ap.add_argument("--out", default="out/probes")
    ap.add_argument("--cylinder", default=str(ROOT / ".echo/cylinder/data/test"),
                    help="directory with the held-out ReNN.npz (scripts/cylinder-wake.sh's data/test)")
    ap.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    ap.add_argument("--saved", action="store_true", help="do not measure: take the figures of an earlier run from --out")
    ap.add_argument("--reports", action="store_true", help="store the figures in the bundles' metrics.json, put the section into "
                    "their REPORT.md and the picture at docs/probes.png")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if a.saved:
        # The figures of an earlier run (its probes.json and probes.png in --out): only the reports are written.
        saved = json.loads((out / "probes.json").read_text())
        ns, cyl, seconds = saved["ns2d"], saved["cylinder"], saved.get("seconds")
        print(table(ns, cyl))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            ns, ns_pics, ns_pts = run_ns2d(a.cli, work, a.counts, print)
            cyl, cyl_pics, cyl_pts = run_cylinder(a.cli, work, a.counts, Path(a.cylinder), print)
        print(table(ns, cyl))
        picture(out / "probes.png", {N: ns_pics[N] for N in (16, 64, 256) if N in ns_pics}, ns_pts,
                {N: cyl_pics[N] for N in (64,) if N in cyl_pics}, cyl_pts, ns, cyl)
        seconds = time.perf_counter() - t0
        (out / "probes.json").write_text(json.dumps({"ns2d": ns, "cylinder": cyl, "seconds": seconds}, indent=1) + "\n")
        print(f"wrote {out / 'probes.json'} and {out / 'probes.png'} in {seconds:.0f} s")
    if a.reports:
        import shutil
        shutil.copy(out / "probes.png", ROOT / "docs/probes.png")
        for case, rows, n_cases, name, before in (("ns2d", ns, 16, "ns2d-vorticity", "Evaluation wall time"),
                                                   ("cylinder", cyl, 9, "cylinder-wake", "## Continuity of the output")):
            if not rows:
                continue
            d = ROOT / "onnx/bundles" / name
            m = json.loads((d / "metrics.json").read_text())
            m["probes"] = {"rows": {str(k): v for k, v in rows.items()}, "cases": n_cases, "ensemble": ENSEMBLE, "command": COMMAND,
                           "seconds": seconds}
            (d / "metrics.json").write_text(json.dumps(m, indent=1, default=float) + "\n")
            splice(d / "REPORT.md", probes_section(m["probes"], case), before)
            print(f"wrote the probes section of {d / 'REPORT.md'}")


if __name__ == "__main__":
    main()
