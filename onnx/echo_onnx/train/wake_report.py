"""The cylinder-wake bundle's pictures, example and REPORT.md, from wake.py's metrics.json and the data.

Pictures (matplotlib, Agg): error against horizon (U_dev and p, ECHO / FNO / persistence), the lift
coefficient of 20-time-unit rollouts against the solver's, and predicted beside solver fields.
"""

from pathlib import Path

import numpy as np

from ..vtkxml import VTK_QUAD, Mesh, read_vtu, write_pvd, write_vtu
from .wake import ROLLOUT_FRAMES, ROLLOUT_START

COLOURS = {"echo": "tab:blue", "fno": "tab:orange", "persistence": "tab:gray", "solver": "k", "solver_frames": "k"}
LABELS = {"echo": "ECHO (this bundle)", "fno": "FNO on the latent grid", "persistence": "persistence",
          "solver_frames": "OpenFOAM (frames every dt)", "solver": "OpenFOAM"}


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_errors(res: dict, path):
    plt = pyplot()
    fc = res["forecast"]
    hs = np.array(fc["horizons"]) * res["dt"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for ax, q, what in zip(axes, ("U_dev", "p"), ("||U - U_true|| / ||U_true - U_inf||", "||p - p_true|| / ||p_true||")):
        for name, m in fc["methods"].items():
            ax.plot(hs, m[q]["all"], marker="o", color=COLOURS[name], label=LABELS[name] + " (mean)")
            for re, v in m[q].items():
                if re != "all":
                    ax.plot(hs, v, color=COLOURS[name], lw=0.6, alpha=0.5)
        ax.set(xlabel="forecast horizon (time units D/U; dt = 0.5)", ylabel=f"relative L2 error, {what}",
               title=f"{'velocity' if q == 'U_dev' else 'pressure'}: held-out Re {', '.join(f'{r:g}' for r in res['held_out_Re'])}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Forecasts from one solver frame in developed shedding (starts t = {', '.join(f'{s:g}' for s in fc['starts'])}); "
                 "thin lines: each Re", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_lift(res: dict, path):
    plt = pyplot()
    sh = res["shedding"]
    fig, axes = plt.subplots(len(sh), 1, figsize=(11, 2.8 * len(sh)), squeeze=False)
    for ax, (re, row) in zip(axes[:, 0], sh.items()):
        for name in ("solver_frames", "echo", "fno"):
            if name in row:
                r = row[name]
                st = "-" if r["St"] is None else f"{r['St']:.4f}"
                ax.plot(r["t"], r["Cl"], color=COLOURS[name], ls="--" if name == "solver_frames" else "-",
                        marker="." if name != "solver_frames" else None, label=f"{LABELS[name]}: St {st}")
        ax.set(xlabel="time (D/U)", ylabel="lift coefficient Cl", title=f"Re {re} (held out): solver St {row['solver']['St']:.4f}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Lift of {ROLLOUT_FRAMES}-frame rollouts from the solver frame at t = {ROLLOUT_START:g} (OpenFOAM forceCoeffs on every "
                 "field)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_fields(points, truth, pred, times, re, start, path, component=1, name="U_y"):
    """Rows: horizons; columns: solver, ECHO, ECHO - solver, on the cell centres (triangulated, the
    cylinder masked)."""
    plt = pyplot()
    from matplotlib.tri import Triangulation
    tri = Triangulation(points[:, 0], points[:, 1])
    c = points[tri.triangles].mean(axis=1)
    tri.set_mask(np.hypot(c[:, 0], c[:, 1]) < 0.5)
    lim = float(np.abs(truth[..., component]).max())
    err_lim = float(np.abs(pred[..., component] - truth[..., component]).max())
    fig, axes = plt.subplots(len(times), 3, figsize=(16, 2.6 * len(times)), squeeze=False)
    for row, (t, tr, pr) in enumerate(zip(times, truth, pred)):
        panels = [(tr[:, component], "OpenFOAM", "RdBu_r", lim), (pr[:, component], "ECHO", "RdBu_r", lim),
                  (pr[:, component] - tr[:, component], "ECHO - OpenFOAM", "PuOr_r", err_lim)]
        for ax, (v, title, cmap, vmax) in zip(axes[row], panels):
            im = ax.tripcolor(tri, v, cmap=cmap, vmin=-vmax, vmax=vmax, shading="gouraud")
            ax.set(aspect="equal", xlim=(-5, 15), ylim=(-5, 5), title=f"{title}, t = {t:g}", xlabel="x / D", ylabel="y / D")
            fig.colorbar(im, ax=ax, shrink=0.8, label=f"{name} (U_inf)")
    fig.suptitle(f"Cross-stream velocity at held-out Re {re:g}: ECHO forecast from the solver frame at t = {start:g}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def section_mesh(internal_vtu):
    """The 2D cross-section of a foamToVTK one-cell-thick mesh: (points [N, 3] on z = 0, quad cells),
    same cell order as the case."""
    m = read_vtu(internal_vtu)
    conn, offs, types = m.cells
    if not (types == 12).all():
        raise ValueError(f"{internal_vtu}: expected hexahedra only (a blockMesh O-grid)")
    hexes = conn.reshape(-1, 8)
    low = m.points[:, 2] <= m.points[:, 2].min() + 1e-6
    # The section of a hexahedron: its 4 points on the lower plane, counter-clockwise around their
    # centroid (the hexahedron's own point order need not put them first; src/mesh/mod.rs does the same).
    on_low = low[hexes]
    if not (on_low.sum(axis=1) == 4).all():
        raise ValueError(f"{internal_vtu}: not every hexahedron has 4 points on the lower plane (not a one-cell-thick mesh)")
    quads = hexes[on_low].reshape(-1, 4)
    xy = m.points[quads][..., :2].astype(np.float64)
    angle = np.arctan2(xy[..., 1] - xy[..., 1].mean(1, keepdims=True), xy[..., 0] - xy[..., 0].mean(1, keepdims=True))
    quads = np.take_along_axis(quads, np.argsort(angle, axis=1), axis=1)
    keep = np.flatnonzero(low)
    new = np.full(len(m.points), -1)
    new[keep] = np.arange(len(keep))
    pts = m.points[keep].astype(np.float32)
    pts[:, 2] = 0
    n = len(quads)
    return pts, (new[quads].ravel().astype(np.int64), 4 * np.arange(1, n + 1, dtype=np.int64), np.full(n, VTK_QUAD, np.uint8))


def write_example(data_dir, test, out_dir, re_index, start_time, truth_frames=8):
    """The bundle's example: the held-out trajectory's frame at `start_time` as input.pvd and the solver's
    next frames as truth.pvd, cell data U (3 components, as foamToVTK writes) and p on the case's 2D
    cross-section (quads), zlib-compressed."""
    vtk = sorted(Path(data_dir, "mesh").glob("*/VTK/*_0/internal.vtu"))
    pts, cells = section_mesh(vtk[0])
    v, dt = test.series[re_index], test.dt
    k0 = int(round(start_time / dt))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.vtu"):
        old.unlink()
    for name, ks in (("input", [k0]), ("truth", range(k0 + 1, k0 + 1 + truth_frames))):
        entries = []
        for k in ks:
            u3 = np.c_[v[k][:, :2], np.zeros(len(v[k]), np.float32)].astype(np.float32)
            write_vtu(out_dir / f"{name}_{k:04d}.vtu", Mesh(pts, cell_data={"U": u3, "p": v[k][:, 2].copy()}, cells=cells), compress=True)
            entries.append((round(k * dt, 9), f"{name}_{k:04d}.vtu"))
        write_pvd(out_dir / f"{name}.pvd", entries)


def fmt(x, d=3):
    return "-" if x is None else f"{x:.{d}f}"


def table(fc: dict, q: str, dt: float = 0.5) -> list:
    names = list(fc["methods"])
    lines = ["| horizon (time units) | " + " | ".join(LABELS[n] for n in names) + " |", "|---|" + "---|" * len(names)]
    for i, h in enumerate(fc["horizons"]):
        vals = [fc["methods"][n][q]["all"][i] for n in names]
        best = min(vals)
        lines.append(f"| {h * dt:g} | " + " | ".join(f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in vals) + " |")
    return lines


def warm_start_rows(warm_dirs) -> list:
    """One row per held-out Re from the warmstart.json files of `warm_dirs` (echo_onnx.cylinder warmstart;
    the runs of one Re may come from several directories, e.g. the cold baselines and the warm run made
    separately), with each run's case directory and its ratios to the cold run. Sorted by Re."""
    import json
    by_re = {}
    for d in warm_dirs:
        f = Path(d) / "warmstart.json"
        if not f.exists():
            continue
        w = json.loads(f.read_text())
        row = by_re.setdefault(w["Re"], {"Re": w["Re"], "preset": w["preset"], "developed": w["developed"], "runs": {}})
        for kind, r in w["runs"].items():
            label = kind if not w.get("seed") else f"{kind}, seed {w['seed']}"
            row["runs"][label] = {**r, "end": w["end"], "seed": w.get("seed", 0), "dir": str(Path(d) / kind)}
    for row in by_re.values():
        cold = row["runs"].get("cold")
        for r in row["runs"].values():
            if cold and cold["St"] and r["St"]:
                r["St_rel_cold"] = r["St"] / cold["St"]
                r["amplitude_rel_cold"] = r["amplitude"] / cold["amplitude"]
        order = {"cold": 0, "kicked": 1, "warm": 2}  # then warm runs with other seeds
        row["runs"] = dict(sorted(row["runs"].items(), key=lambda kv: order.get(kv[0], 3)))
    return [by_re[k] for k in sorted(by_re)]


def plot_warm_start(rows, path):
    """Lift history of the cold, kicked and warm runs of each held-out Re."""
    from ..cylinder import foam
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 2.8 * len(rows)), squeeze=False)
    styles = {"cold": ("k", "cold: uniform start"), "kicked": ("tab:gray", "cold + wall-rotation kick"),
              "warm": ("tab:blue", "warm: echoSurrogate warmStart (seed 0)")}
    for ax, row in zip(axes[:, 0], rows):
        for kind, r in row["runs"].items():
            colour, label = styles.get(kind, ("tab:green", f"warm: echoSurrogate warmStart ({kind.split(', ')[-1]})"))
            c = foam.read_coefficients(r["dir"])
            dev = r["time_to_developed"]
            ax.plot(c["Time"], c["Cl"], color=colour, lw=0.8,
                    label=f"{label}: developed at t = {fmt(dev, 1)}, {fmt(r['wall_s_to_developed'], 0)} s CPU")
            if dev is not None:
                ax.axvline(dev, color=colour, ls=":", lw=1)
        ax.set(xlabel="time (D/U)", ylabel="lift coefficient Cl", title=f"Re {row['Re']:g} (held out)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Lift history: cold start vs warm start from the bundle's generated state (dotted: developed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


REGENERATE = """```sh
scripts/cylinder-wake.sh          # every step below, in order, into .echo/cylinder; --ci: the test suite's size
```
The steps it runs (each can be re-run alone; the training stages checkpoint, the data generation resumes):
```sh
.venv/bin/python -m echo_onnx.cylinder data --out .echo/cylinder/data --preset full --workers 2   # 13 Re, 21 min
.venv/bin/python -m echo_onnx.cylinder data --out .echo/cylinder/data-fine --preset fine-test      # Re 118 on the fine mesh
.venv/bin/echo-onnx-train train --stage 1 --preset cylinder --data .echo/cylinder/data --run-dir .echo/cylinder/run --minutes 26
.venv/bin/echo-onnx-train train --stage 2 --preset cylinder --data .echo/cylinder/data --run-dir .echo/cylinder/run --minutes 6
.venv/bin/echo-onnx-train train --stage 3 --preset cylinder --data .echo/cylinder/data --run-dir .echo/cylinder/run --minutes 27
.venv/bin/echo-onnx-train baseline --preset cylinder --data .echo/cylinder/data --run-dir .echo/cylinder/run --minutes 12
.venv/bin/echo-onnx-train export --run-dir .echo/cylinder/run --out onnx/bundles/cylinder-wake --name cylinder-wake
.venv/bin/python -m echo_onnx.cylinder warmstart --bundle onnx/bundles/cylinder-wake --re RE --runs cold|kicked|warm --end T --out .echo/cylinder/warm/ReRE-RUN
.venv/bin/python -m echo_onnx.cylinder monitor --bundle onnx/bundles/cylinder-wake --trajectory .echo/cylinder/data/test/Re118.npz --out .echo/cylinder/monitor
.venv/bin/echo-onnx-train evaluate-wake --run-dir .echo/cylinder/run --data .echo/cylinder/data --bundle onnx/bundles/cylinder-wake \\
    --other-mesh .echo/cylinder/data-fine --monitor .echo/cylinder/monitor --warm .echo/cylinder/warm/*
```
This bundle: stage 1 and 2 with 2 threads, stage 3 and the FNO with 1 thread each while the solver baselines ran on
the other core (2 shared cores; a GPU was not available). The minutes bought the steps in the table above."""


def write_report(res: dict, warm: list, path):
    """REPORT.md from metrics.json (`res`) and the warm-start rows."""
    fc = res["forecast"]
    names = list(fc["methods"])
    one_period = min(range(len(fc["horizons"])), key=lambda i: abs(fc["horizons"][i] * res["dt"] - 6.0))
    lines = [f"# cylinder-wake: evaluation on held-out Reynolds numbers",
             "",
             f"Held out: Re {', '.join(f'{r:g}' for r in res['held_out_Re'])} (trained on Re "
             f"{', '.join(f'{r:g}' for r in res['train_Re'])}); the case's {res['cells']} cells, frames every "
             f"dt = {res['dt']:g} D/U; compression {res['compression_ratio']:.0f}x. Every figure below is produced by the "
             "commands at the end; the plots are next to this file.", "",
             "## Forecast accuracy (developed shedding)", "",
             f"From one solver frame at t = {', '.join(f'{s:g}' for s in fc['starts'])} of each held-out Re, relative L2 "
             "over all cells, mean over starts and Reynolds numbers (best in bold). Velocity: error over the deviation "
             "from the free stream, ||U - U_true|| / ||U_true - U_inf||.", ""]
    lines += table(fc, "U_dev", res["dt"]) + ["", "Pressure, ||p - p_true|| / ||p_true||:", ""] + table(fc, "p", res["dt"]) + [""]
    u_plain = {n: fc["methods"][n]["U"]["all"][one_period] for n in names}
    if "fno_roundtrip" in res:
        rt = res["fno_roundtrip"]
        lines += [f"The FNO works on the latent grid: interpolating the solver's own frames cells -> grid -> cells alone costs "
                  f"{rt['U_dev']:.3f} (velocity) and {rt['p']:.3f} (pressure), its floor. Its budget was smaller than ECHO's "
                  "(see Training).", ""]
    lines += [f"Relative L2 of U itself after {fc['horizons'][one_period] * res['dt']:g} time units (about one shedding "
              "period; the issue's aim is 5%): " + ", ".join(f"{LABELS[n]} {100 * v:.1f}%" for n, v in u_plain.items()) + ".",
              "", "![error against horizon](error_vs_horizon.png)", ""]
    if "forecast_onset" in res:
        fo = res["forecast_onset"]
        lines += ["## During the onset of shedding", "",
                  f"From the solver frame at t = {fo['starts'][0]:g} (the wake still growing), velocity error as above:", ""]
        lines += table(fo, "U_dev", res["dt"]) + [""]
    if "shedding" in res:
        lines += ["## Strouhal number and lift amplitude", "",
                  f"{ROLLOUT_FRAMES * res['dt']:g}-time-unit rollouts ({ROLLOUT_FRAMES} frames, chained segments) from the solver frame at t = {ROLLOUT_START:g}; Cl of every "
                  "frame by OpenFOAM's forceCoeffs; St and amplitude over the last 3 periods (shedding.py). Reference: "
                  "the solver's own every-step lift history (its last 5 periods). The aim: St within 2%.", "",
                  "| Re | solver St | solver amplitude | " + " | ".join(f"{LABELS[n]} St (error)" for n in ("solver_frames", "echo", "fno") if n in next(iter(res["shedding"].values()))) + " | ECHO amplitude (error) |",
                  "|---|---|---|" + "---|" * (sum(1 for n in ("solver_frames", "echo", "fno") if n in next(iter(res["shedding"].values()))) + 1)]
        for re, row in res["shedding"].items():
            cells = []
            for n in ("solver_frames", "echo", "fno"):
                if n in row:
                    r = row[n]
                    cells.append("no shedding" if r["St"] is None else f"{r['St']:.4f} ({100 * r.get('St_error', float('nan')):+.1f}%)")
            e = row["echo"]
            amp = "-" if e["St"] is None else f"{e['amplitude']:.3f} ({100 * e.get('amplitude_error', float('nan')):+.0f}%)"
            lines.append(f"| {re} | {row['solver']['St']:.4f} | {row['solver']['amplitude']:.3f} | " + " | ".join(cells) + f" | {amp} |")
        lines += ["", "![lift of rollouts](lift.png)", ""]
    if "other_mesh" in res:
        om = res["other_mesh"]
        i = len(om["horizons"]) - 1
        lines += ["## On a mesh it was not trained on", "",
                  f"The same forecasts at Re {', '.join(f'{r:g}' for r in om['Re'])} on the `{om['mesh']}` mesh ({om['cells']} cells, "
                  f"1.5x finer per direction than the {res['cells']} training cells; solved again by OpenFOAM), input and output at "
                  "its cells; velocity error as above, next to the same Re on the training mesh:", "",
                  "| horizon (time units) | " + " | ".join(f"{LABELS[n]}, new mesh | {LABELS[n]}, training mesh" for n in om["methods"]) + " |",
                  "|---|" + "---|---|" * len(om["methods"])]
        for i, h in enumerate(om["horizons"]):
            cells = []
            for n in om["methods"]:
                re = f"{om['Re'][0]:g}"
                same = fc["methods"][n]["U_dev"].get(re, [None] * len(fc["horizons"]))
                j = fc["horizons"].index(h) if h in fc["horizons"] else None
                cells.append(f"{om['methods'][n]['U_dev']['all'][i]:.3f} | {fmt(same[j] if j is not None else None)}")
            lines.append(f"| {h * res['dt']:g} | " + " | ".join(cells) + " |")
        lines += [""]
    if "calibration" in res:
        cal = res["calibration"]
        n = cal["members"]
        pick = [h for h in (1, 4, 8, 12, 16) if h <= len(cal["horizons"])]
        lines += ["## Ensembles: is the spread honest?", "",
                  f"{n} members (seeds 0..{n - 1}) per start and held-out Re. Spread-skill: sqrt((N+1)/N) x ensemble std over the "
                  "RMSE of the ensemble mean (1: calibrated; < 1: under-dispersed); CRPS of the ensemble against the mean "
                  "absolute error of one member (lower is better); truth outside the members' range (calibrated: "
                  f"{100 * 2 / (n + 1):.0f}%).", "",
                  "| field | horizon (time units) | spread-skill | CRPS | one member's MAE | truth outside the range |",
                  "|---|---|---|---|---|---|"]
        for f, r in cal["fields"].items():
            for h in pick:
                i = h - 1
                lines.append(f"| {f} | {h * res['dt']:g} | {r['spread_skill'][i]:.2f} | {r['crps'][i]:.4f} | {r['mae_member'][i]:.4f} | "
                             f"{100 * r['outside']:.0f}% (all horizons) |")
        lines += [""]
    if "probes" in res:
        from ..probes_eval import probes_section  # torch-free
        lines += probes_section(res["probes"], "cylinder")
    if "continuity" in res:
        c = res["continuity"]
        lines += ["## Continuity of the output", "",
                  f"The first predicted frame on a {c['lattice'][0]} x {c['lattice'][1]} lattice over the box: mean |difference| of "
                  "x-neighbours across a latent-cell boundary over that inside a cell (1 for a continuous field; the query "
                  "head's weights fade to zero at the stencil's edge, ModelConfig.query_window): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in c["jump_ratio"].items()) + ".", ""]
    ae = res["autoencoder"]
    pod = res["pod_same_ratio"]
    lines += ["## Autoencoder against POD at the same compression", "",
              f"Reconstruction of held-out windows at every cell ({res['compression_ratio']:.0f}x; POD: {pod['modes']} "
              "modes per frame fitted on the training frames):", "",
              "| | velocity (U_dev) | pressure |", "|---|---|---|"]
    lines += [f"| ECHO autoencoder, {k} of the cells as input | {v['U_dev']:.3f} | {v['p']:.3f} |" for k, v in ae.items()]
    lines += [f"| POD | {pod['U_dev']:.2e} | {pod['p']:.2e} |", "",
              "The periodic wake is low-dimensional: POD with that many modes (fitted on 760 training frames) is nearly "
              "exact, and the autoencoder (1671 + 868 steps on CPU) is the floor of every forecast error above (about 10% "
              "of the velocity's deviation). A longer stage 1 (a GPU) is what would lower it.", ""]
    sp, mo = res["speed"], res.get("surrogate_monitor")
    if mo:
        solver = mo["solver_cpu_s_per_time_unit"] * sp["simulated_time"]
        inside = float(np.median(mo["forecast_s"]))
        lines += ["## Speed", "",
                  f"A forecast of {sp['horizon_frames']} frames ({sp['simulated_time']:g} time units, 2 chained segments) takes "
                  f"{inside:.2f} s inside OpenFOAM (echoSurrogate, the Rust runtime, {mo['threads']} threads) and {sp['echo_forecast_s']:.2f} s "
                  f"in the numpy reference pipeline used above; pimpleFoam needs {solver:.1f} CPU s for the same simulated time "
                  f"({mo['solver_cpu_s_per_time_unit']:.2f} s per time unit on this mesh, one core): {solver / inside:.0f}x.", ""]
    if warm:
        lines += ["## Warm start", "",
                  "Each held-out Re run three ways to the same end time (echo_onnx.cylinder warmstart): cold (uniform start, "
                  "what users do), kicked (uniform start and a brief rotation of the wall that breaks the symmetry, what an "
                  "informed user does) and warm (echoSurrogate in warmStart mode replaces the uniform start by the bundle's "
                  "generated state at the Re, the function object's default seed 0). Developed: every later per-period lift "
                  "amplitude within 5% of the final one. CPU seconds from the solver log (model time included; the runs "
                  "shared the 2 cores with training, so CPU time, not wall time, is the figure). `warm, seed 3` is the same "
                  "warm start from another generated sample: the generator samples the training windows' mix of phases, "
                  "before and after the onset of shedding, and seed 0's frame is still in the onset (its wake's cross-stream "
                  "velocity is 40% of the developed one), seed 3's is developed. A generator conditioned on the phase would "
                  "give the second kind every time.", "",
                  "| Re | run | developed at (D/U) | CPU s to developed | St | amplitude | St / cold | amplitude / cold |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in warm:
            for kind, r in row["runs"].items():
                lines.append(f"| {row['Re']:g} | {kind} | {fmt(r['time_to_developed'], 1)} | {fmt(r['wall_s_to_developed'], 0)} | "
                             f"{fmt(r['St'], 4)} | {fmt(r['amplitude'], 3)} | {fmt(r.get('St_rel_cold'), 4)} | {fmt(r.get('amplitude_rel_cold'), 4)} |")
        lines += ["", "![warm start](warm_start.png)", ""]
    if "surrogate_monitor" in res:
        mo = res["surrogate_monitor"]
        leads = list(mo["error_by_lead"])
        lines += ["## Surrogate mode in OpenFOAM", "",
                  f"pimpleFoam restarted from the held-out Re {mo['Re']:g} trajectory at t = {mo['start']:g} (developed shedding) "
                  f"with echoSurrogate in `surrogate` mode, {mo['horizon_frames']}-frame forecasts every "
                  f"{mo['horizon_frames'] * mo['dt']:g} time units; its live monitor (error.dat: relative L2 of each predicted "
                  "frame when the solver reaches it), averaged over the forecasts, against the lead time:", "",
                  "| lead (time units) | " + " | ".join(leads) + " |", "|---|" + "---|" * len(leads)]
        for f in ("U", "p"):
            lines.append(f"| {f} | " + " | ".join(f"{mo['error_by_lead'][lead][f]:.3f}" for lead in leads) + " |")
        fs = mo["forecast_s"]
        lines += ["", f"Each forecast took {', '.join(f'{x:.1f}' for x in fs)} s (ONNX Runtime, {mo['threads']} threads, inside the "
                  f"solver); the solver needs {mo['solver_cpu_s_per_forecast']:.0f} CPU s for the {mo['horizon_frames'] * mo['dt']:g} "
                  "time units a forecast stands for (the log's ExecutionTime, forecasts included).", ""]
    tr = res["training"]
    lines += ["## Training", "", "| stage | steps | batch | wall (min) | final loss |", "|---|---|---|---|---|"]
    for k, v in tr.items():
        final = v.get("final") or {}
        lines.append(f"| {k} | {v['steps']} | {v['batch']} | {fmt(final.get('s', 0) / 60, 1)} | {fmt(final.get('loss'), 4)} |")
    if "fno" in res:
        f = res["fno"]
        lines.append(f"| FNO baseline ({f['params']} parameters) | {f['steps']} | {f['batch']} | {fmt(f['s'] / 60, 1)} | {fmt(f['loss'], 4)} |")
    lines += ["", "## Reproduce", "", REGENERATE, ""]
    Path(path).write_text("\n".join(lines))
