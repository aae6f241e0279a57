"""REPORT.md from metrics.json: every table with how its numbers were produced."""

import json
from pathlib import Path

# How each bundle's metrics were made, by its name (metrics.json's `bundle`; the first bundle's
# metrics predate the key).
REGENERATE_V1 = """```sh
.venv/bin/echo-onnx-train generate-data --out .echo/data                      # ~2 min, deterministic
.venv/bin/echo-onnx-train train --stage 1 --data .echo/data --run-dir .echo/runs/ns2d --minutes 14
.venv/bin/echo-onnx-train train --stage 1 --resume --lr 5e-4 --batch 2 --seed 1 --data .echo/data --run-dir .echo/runs/ns2d --minutes 12
.venv/bin/echo-onnx-train train --stage 2 --data .echo/data --run-dir .echo/runs/ns2d --minutes 6
.venv/bin/echo-onnx-train train --stage 3 --batch 16 --data .echo/data --run-dir .echo/runs/ns2d --minutes 40
.venv/bin/echo-onnx-train baseline --data .echo/data --run-dir .echo/runs/ns2d --minutes 15
.venv/bin/echo-onnx-train export --run-dir .echo/runs/ns2d --out onnx/bundles/ns2d-vorticity
.venv/bin/echo-onnx-train evaluate --run-dir .echo/runs/ns2d --data .echo/data --bundle onnx/bundles/ns2d-vorticity \\
    --out onnx/bundles/ns2d-vorticity
.venv/bin/echo-onnx-train requery --bundle onnx/bundles/ns2d-vorticity --data .echo/data \\
    --out onnx/bundles/ns2d-vorticity --minutes 12                         # the continuous query head (issue 15)
OMP_NUM_THREADS=1 .venv/bin/echo-onnx-train super-res --bundle onnx/bundles/ns2d-vorticity --n 256 512   # ~15 min
.venv/bin/echo-onnx-train super-res --bundle onnx/bundles/ns2d-vorticity --sparse 2 4 --data .echo/data --traj 8  # ~1 min
.venv/bin/echo-onnx-train sampler-study --bundle onnx/bundles/ns2d-vorticity --data .echo/data   # ~5 min
cargo build --release && .venv/bin/echo-onnx-train calibration --data .echo/data --bundle onnx/bundles/ns2d-vorticity \\
    --cli target/release/echo-onnx                                             # ~2 min
```
(all with `--threads 2` on the 2-core machine, except `super-res`, which runs one thread; `--minutes` budgets
make the step counts machine-dependent: the steps actually run are in the training table below. `super-res`
needs only the bundle and the `test` description in its metrics.json, not the run directory nor the data
(`--sparse` also the test split), and keeps the other metrics; run it after `evaluate`, which rewrites metrics.json. So does `calibration`, which
needs the bundle, the test split and the Rust CLI.)"""


REGENERATE = {
    "ns2d-vorticity": REGENERATE_V1,
    "ns2d-v2": """```sh
scripts/ns2d-v2.sh     # data, the three stages, the FNO, export, evaluate, super-res --sparse, sampler-study
```
(on the 2-core machine, with the `--minutes` budgets and threads the script states: the steps actually run are in
the training table below; each command the script prints can be re-run alone.)""",
}


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def forecast_table(fc: dict, key: str) -> list:
    methods = list(fc)
    hs = list(fc[methods[0]][key])
    lines = ["| horizon (frames) | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for h in hs:
        best = min(fc[m][key][h] for m in methods)
        cells = [(f"**{fc[m][key][h]:.3f}**" if fc[m][key][h] == best else f"{fc[m][key][h]:.3f}") for m in methods]
        lines.append(f"| {h} | " + " | ".join(cells) + " |")
    return lines


def verdict(fc: dict, seg: int) -> list:
    out = []
    for key in fc["echo_100%"]:
        beyond = [h for h in fc["echo_100%"][key] if int(h) > seg]
        wins = [h for h in beyond if fc["echo_100%"][key][h] < min(fc["persistence"][key][h], fc["fno"][key][h])]
        out.append(f"- viscosity {key}: ECHO (100% of points) has the lowest error at {len(wins)} of {len(beyond)} "
                   f"horizons beyond one segment ({', '.join(wins) or 'none'}).")
    return out


def super_resolution_section(sr: dict, n: int) -> list:
    """One table, a row per (fine resolution, viscosity). `sr` is {str(n_fine): entry} or, as written
    before `super-res` existed, a single entry with its own `n_fine`."""
    if "n_fine" in sr:
        sr = {str(sr["n_fine"]): sr}
    L = ["## Super-resolution", "",
         f"One held-out trajectory per viscosity (the test split's first, same seed and initial GRF) solved again at "
         f"finer resolutions n_fine^2. Reference: the n_fine^2 solver run from that initial GRF through the full "
         f"burn-in and the evaluated frames at n_fine^2. ECHO gets the reference's frame 0 spectrally truncated to "
         f"the training resolution {n}^2 (all {n}^2 lattice points) and forecasts one segment, queried at every "
         f"n_fine^2 lattice point (up to 10^6 points through the learned query head); error against the reference, "
         f"averaged over the segment's frames. `coarse truth upsampled`: the reference truncated to {n}^2 and "
         f"band-limited interpolated back, the floor set by what {n}^2 data cannot represent. `{n}^2 solver`: the "
         f"{n}^2 solver's own run of the trajectory (what the test split holds) against the reference truncated to "
         f"{n}^2 (the data's discretisation error). E(k)/E_max: the reference's shell-summed vorticity spectrum at "
         f"the last mode kept by the {n}^2 grid's dealiasing and by the n_fine^2 grid's, over the segment's frames "
         "(values near 1e-18 are the round-off floor of the float32 fields: nothing resolved there). Solve: seconds of the "
         "n_fine^2 solver (one thread), ECHO: seconds of the bundle through ONNX Runtime (one thread).", "",
         f"| n_fine | viscosity | ECHO | coarse truth upsampled | {n}^2 solver | E(k)/E_max at {n}^2 edge | "
         "E(k)/E_max at n_fine^2 edge | solver steps | solve s | ECHO s |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for nf, e in sorted(sr.items(), key=lambda kv: int(kv[0])):
        for nu, v in e.items():
            if not isinstance(v, dict):
                continue
            sp = v.get("spectrum", {})
            cells = [f"{nf}^2", nu, f"{v['echo']:.3f}", f"{v['coarse_truth_upsampled']:.1e}",
                     fmt_e(v.get("data_solver_vs_fine")),
                     fmt_e(sp.get("E_data_edge_over_peak")) + (f" (k={sp['k_data_edge']})" if sp else ""),
                     fmt_e(sp.get("E_fine_edge_over_peak")) + (f" (k={sp['k_fine_edge']})" if sp else ""),
                     str(v.get("solver_steps", "-")), fmt(v.get("solve_s"), 1), fmt(v.get("echo_s"), 1)]
            L.append("| " + " | ".join(cells) + " |")
    return L + [""]


def sparse_super_resolution_section(sp: dict) -> list:
    """Super-resolution from a regular subset of the lattice (sparse_superres.py): ECHO's dense output
    against upsampling the input and ECHO's own output at the input points."""

    def band(r):  # a ratio to a truth with (almost) nothing in the band says nothing
        return f"{r['band_echo_over_truth']:.2f}" if r["band_share_truth"] > 1e-3 else "(truth empty)"

    n, h = sp["n"], sp["horizon"]
    L = ["## Super-resolution from sparse inputs", "",
         f"The input is every s-th point per axis of a held-out {n}^2 frame ((n/s)^2 points); the truth is the whole "
         f"{n}^2 lattice, so the wavenumbers between the input's Nyquist n/(2s) and the data's carry what the input "
         f"cannot represent. First {sp['traj_per_nu']} held-out trajectories per viscosity, frame 0, seed {sp['seed']}. "
         "Rel L2 at every lattice point. *Reconstruction*: frame 0 itself, ECHO's autoencoder (lift from the subset, "
         "encode, decode, query) against spectral (Fourier zero-padding) and bilinear upsampling of the input. "
         f"*Forecast*: the next {h} frames (mean over frames): ECHO's dense output, spectral and bilinear upsampling "
         "of ECHO's own output at the input points (the same forecast), and the upsampled input held (persistence). "
         "*Band*: energy of ECHO's dense forecast in the shells n/(2s) <= k < n/2 over the truth's, and the truth's "
         "share of the field's norm there (how much there is to recover).", "",
         "| stride s | input | viscosity | recon ECHO | recon spectral | recon bilinear | forecast ECHO dense | "
         "ECHO coarse + spectral | ECHO coarse + bilinear | input spectral (persistence) | band energy ECHO / truth | truth's norm share in band |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s, entry in sorted(((k, v) for k, v in sp.items() if isinstance(v, dict)), key=lambda kv: int(kv[0])):
        for nu, r in entry.items():
            L.append(f"| {s} | {n // int(s)}^2 | {nu} | {r['recon_echo']:.4f} | {r['recon_spectral']:.4f} | "
                     f"{r['recon_bilinear']:.4f} | {r['echo_dense']:.4f} | {r['echo_coarse_spectral']:.4f} | "
                     f"{r['echo_coarse_bilinear']:.4f} | {r['input_spectral']:.4f} | {band(r)} | "
                     f"{r['band_share_truth']:.4f} |")
    rows = [r for v in sp.values() if isinstance(v, dict) for r in v.values()]
    wins = sum(r["recon_echo"] < r["recon_spectral"] for r in rows)
    dense = sum(r["echo_dense"] < r["echo_coarse_spectral"] for r in rows)
    L += ["", f"ECHO's reconstruction beats spectral upsampling of the input in {wins} of {len(rows)} cases; its dense "
          f"forecast beats spectral upsampling of its own coarse output in {dense} of {len(rows)}.",
          "", "![super-resolution from sparse input](superres_sparse.png)", ""]
    return L


def sampler_study_section(st: dict) -> list:
    """Accuracy per velocity evaluation of each ODE method (sampler_study.py)."""
    nus = [k for k in st["configs"][0] if k.replace(".", "").replace("e-", "").isdigit()]
    hs = [h for h in ("8", "32") if h in st["configs"][0][nus[0]]["rel_l2"]]
    L = ["## Sampler: does a higher order pay", "",
         f"The bundle's forecast from frame 0 of the first {st['traj_per_nu']} held-out trajectories per viscosity, "
         f"{st['horizon']} frames, the same noise seed per trajectory, with each method and step count (NFE: velocity-graph "
         "calls per segment). Rel L2 against the solver; E 5-10: the forecast's energy in shells k 5-10 over the "
         "truth's; vs finest: rel L2 to the RK4 10 forecast (how far from the converged ODE); s: seconds per "
         f"forecast (numpy reference, one ONNX Runtime thread). Shipped: {st['shipped']['method']} {st['shipped']['steps']}.", "",
         "| method | steps | NFE | " + " | ".join(f"nu {nu} h{h}" for nu in nus for h in hs)
         + " | " + " | ".join(f"nu {nu} E 5-10" for nu in nus) + " | vs finest | s |",
         "|---|---|---|" + "---|" * (len(nus) * len(hs) + len(nus)) + "---|---|"]
    for r in st["configs"]:
        L.append(f"| {r['method']} | {r['steps']} | {r['nfe']} | "
                 + " | ".join(f"{r[nu]['rel_l2'][h]:.4f}" for nu in nus for h in hs) + " | "
                 + " | ".join(fmt(r[nu]["band_energy_over_truth"].get("5-10"), 2) for nu in nus)
                 + f" | {r['vs_finest']:.4f} | {r['seconds_per_forecast']:.1f} |")
    return L + [""]


def calibration_section(c: dict, ae=None, first=None) -> list:
    """Ensemble calibration (calibration.py): spread-skill, CRPS and rank histogram by viscosity."""
    n = c["members"]
    L = ["## Ensemble calibration", "",
         f"`echo-onnx forecast --ensemble {n}` (the Rust CLI, the {n} members as one batch; seed = trajectory index, "
         "conditioned on the true viscosity) from frame 0 of "
         + ", ".join(f"{t} test trajectories at viscosity {k}" for k, t in c["trajectories_per_viscosity"].items())
         + f", {c['horizon']} frames, against the solver at the data lattice; averages over trajectories and points, "
         "vorticity in 1/s. RMSE: of the ensemble mean. Spread: sqrt of the mean ensemble variance (divisor N - 1). "
         f"Spread-skill: sqrt((N + 1) / N) spread / RMSE, 1 for a calibrated ensemble of N = {n}, below 1 "
         "under-dispersed (the spread understates the error). CRPS: of the members' empirical distribution; MAE: of "
         "member 0 alone (the plain single forecast, whose CRPS it is): CRPS / MAE below 1 is what the ensemble adds. "
         "Rank histogram: the truth's rank among the members at every point and horizon (flat when calibrated). "
         "`onnx/echo_onnx/train/calibration.py`; the figure is `calibration.png` next to this report.", "",
         "![rank histogram, spread and RMSE, spread-skill against horizon](calibration.png)", ""]
    for key, s in c["by_viscosity"].items():
        L += [f"### viscosity {key}", "",
              "| horizon (frames) | RMSE of the mean | spread | spread-skill | CRPS | MAE, one member | CRPS / MAE |",
              "|---|---|---|---|---|---|---|"]
        for h in [1, 2, 4, 8, 12, 16, 24, 32]:
            if h <= c["horizon"]:
                i = h - 1
                L.append(f"| {h} | {s['rmse_mean'][i]:.4f} | {s['spread'][i]:.4f} | {s['spread_skill'][i]:.2f} | "
                         f"{s['crps'][i]:.4f} | {s['mae_member'][i]:.4f} | {s['crps'][i] / s['mae_member'][i]:.2f} |")
        hist = s["rank_histogram"]
        L += ["", f"Rank histogram ({n + 1} bins, calibrated: {1 / (n + 1):.3f} each): " + " ".join(f"{v:.3f}" for v in hist)
              + f". Truth outside the members' range: {100 * s['outside']:.1f}% of points (calibrated: {200 / (n + 1):.1f}%).", ""]
    a = c["by_viscosity"]["all"]
    ssr = a["spread_skill"]
    mean_ssr = sum(ssr) / len(ssr)
    verdict = "under-dispersed" if mean_ssr < 0.9 else "over-dispersed" if mean_ssr > 1.1 else "calibrated within 10%"
    ratio = [cr / m for cr, m in zip(a["crps"], a["mae_member"])]
    L += ["Verdict (computed):", "",
          f"- the ensemble is **{verdict}**: spread-skill {min(ssr):.2f} to {max(ssr):.2f} over horizons 1 to {c['horizon']} "
          f"(mean {mean_ssr:.2f}), i.e. the spread is about {1 / mean_ssr:.1f}x too small"
          + (f" ({1 / ssr[0]:.1f}x at the first frame)" if ssr[0] < mean_ssr else "")
          + f"; the truth falls outside all {n} members at {100 * a['outside']:.0f}% of points where a calibrated "
          f"ensemble would leave {200 / (n + 1):.0f}%.",
          f"- the ensemble still helps: CRPS is {min(ratio):.2f} to {max(ratio):.2f} of one member's MAE, and its mean is "
          f"a better point forecast than one member (MAE of the mean {a['mae_mean'][-1]:.4f} vs {a['mae_member'][-1]:.4f} "
          f"at {c['horizon']} frames).", ""]
    if ae is not None and first is not None:
        L[-1:-1] = [f"- the first frames' error is mostly the autoencoder's: forecast rel L2 {first:.3f} at one frame against a "
                    f"reconstruction error of {ae:.3f} (sections above). The decoder is deterministic, so every member "
                    "shares that error and no spread of the generator can cover it; the spread only grows as the "
                    "generated latents diverge."]
    return L


def fmt_e(x):
    return "-" if x is None else f"{x:.1e}"


def continuous_query_section(cq: dict) -> list:
    """Issue 15: the query head refitted with the continuous window, held-out figures before and after."""
    b, a = cq["before"], cq["after"]
    f = cq["lattice_factor"]
    s_old, s = cq.get("stencil", [2, 2])
    L = ["## Continuous query (issue 15)", "",
         f"The first query head weighted the {s_old} x {s_old} stencil's nodes with a softmax whose support changes abruptly "
         "when a point crosses a latent-cell boundary, so the output stepped at every cell boundary. "
         "`echo-onnx-train requery` (onnx/echo_onnx/train/requery.py) refitted the head alone, "
         f"on a {s} x {s} stencil with a tent window that is 0 at the stencil's edge (continuous by construction), "
         "on the frozen decoder's features of the "
         f"training windows, targets the training frames upsampled {f}x (band-limited) at random points, from the old "
         f"head's weights: {cq['steps']} steps in {cq['minutes']:g} min. Held-out: {cq['held_out_windows']} test windows "
         f"decoded with every frame observed. Jump ratio: mean |difference| of neighbouring {f}x-lattice points across a "
         "latent-cell boundary over that inside a cell (x and y); difference profile: the same by position in the cell "
         "(max / min; the band-limited truth's is given), which also catches a field that is continuous but stair-like.", "",
         "| | old head | continuous head |", "|---|---|---|"]
    for k in b["rel_l2"]:
        L.append(f"| reconstruction rel L2, {k} | {b['rel_l2'][k]:.4f} | {a['rel_l2'][k]:.4f} |")
    L += [f"| jump ratio at the {f}x lattice | {b['jump_ratio']:.2f} | {a['jump_ratio']:.2f} |",
          f"| difference profile max / min (truth {a['truth_profile_max_over_min']:.2f}) | "
          f"{b['profile_max_over_min']:.2f} | {a['profile_max_over_min']:.2f} |"]
    sb, sa = cq.get("sections_before"), cq.get("sections_after")
    if sb and sa:
        for k in sb["autoencoder_onnx"]:
            L.append(f"| autoencoder, {k} of the inputs | {sb['autoencoder_onnx'][k]:.4f} | {sa['autoencoder_onnx'][k]:.4f} |")
        for h in ("1", "8", "32"):
            if h in sb["forecast"]["echo_100%"]["all"]:
                L.append(f"| forecast rel L2 at {h} frame{'' if h == '1' else 's'} (100% of points) | {sb['forecast']['echo_100%']['all'][h]:.4f} | "
                         f"{sa['forecast']['echo_100%']['all'][h]:.4f} |")
        for k in ("inverse", "interpolation"):
            L.append(f"| {k} | {sb['inverse_interpolation'][k]:.4f} | {sa['inverse_interpolation'][k]:.4f} |")
        for k, v in sb["generation"]["energy_ratio_generated_over_data"].items():
            L.append(f"| generated / data energy, {k} | {v:.2f} | {sa['generation']['energy_ratio_generated_over_data'][k]:.2f} |")
    return L + ["", f"![A held-out frame on the {f}x lattice by the old and the continuous head beside the truth, zoomed, and one row]"
                "(continuous_query.png)", ""]


def render(metrics: dict, readme: bool = False) -> str:
    m = metrics
    seg = m["segment_frames"]
    tr = m["training"]
    name = m.get("bundle", "ns2d-vorticity")
    L = [f"# {name}: evaluation report", "",
         "Generated by `echo-onnx-train evaluate` and `echo-onnx-train super-res` (onnx/echo_onnx/train/evaluate.py, "
         "superres.py, report.py) from `metrics.json` "
         "next to this file. Held-out data: the test split, seeds never used in training "
         f"({m['test']['traj_per_nu']} trajectories per viscosity, viscosities {m['test']['nus']}, "
         f"{m['test']['n']}^2, dt {m['dt']}, burn-in {m['test']['burn_in']}); {m['trajectories_per_viscosity']} "
         "trajectories per viscosity are used below. Errors are relative L2, ||pred - true|| / ||true||, per trajectory "
         "and frame, averaged over trajectories.", "",
         "## Regenerate", "", REGENERATE.get(name, "The commands of the README's \"Training\" section."), "",
         "## Model and training", "",
         f"- compression ratio (T N C) / (S h w Z) with N = {m['test']['n']}^2 input points per frame: **{m['compression_ratio']:.1f}x**",
         f"- segment: {seg + 1} frames (1 context frame + {seg} generated); forecasts chain segments",
         "", "| stage | steps | batch | processes | final training loss | final rel L2 (train batch) |", "|---|---|---|---|---|---|"]
    for name, h in tr.items():
        fin = h.get("final") or {}
        L.append(f"| {name} | {h['steps']} | {h['batch']} | {h['world']} | {fmt(fin.get('loss'), 4)} | {fmt(fin.get('rel_l2'), 4)} |")
    L += [f"| FNO baseline | {m['fno']['steps']} | {m['fno']['batch']} | 1 | | |", "",
          f"FNO: neuraloperator `FNO` (16 x 16 modes, 32 channels, 4 layers, {m['fno']['params']} parameters), input "
          "[vorticity, normalised viscosity], residual one-step map (dt), trained on the same training split with a "
          "2-step unrolled loss, rolled out autoregressively from the same single context frame.", "",
          "## Autoencoder reconstruction", "",
          ("Windows of the test split through the bundle's lift -> encoder -> decoder -> query graphs (ONNX Runtime, "
           "the numpy reference; computed again after the query head was refitted: see \"Continuous query\" below)"
           if m.get("autoencoder_via") == "onnx" else
           "Windows of the test split through lift -> encoder -> decoder -> query (PyTorch; the graphs match it to "
           "< 1e-4, see the parity tests)")
          + ", inputs a random fraction of the data lattice's points, outputs at every lattice point. POD: per-frame POD basis fitted on the training frames with n^2 / ratio modes (the same "
          "number of latent values per frame), applied to the test frames (all points).", "",
          "| inputs kept | ECHO AE | POD, same compression |", "|---|---|---|"]
    pod = m["pod_same_ratio"]
    for k, v in m["autoencoder"].items():
        L.append(f"| {k} | {v:.4f} | {pod['rel_l2']:.4f} ({pod['modes']} modes) |" if k == "100%" else f"| {k} | {v:.4f} | |")
    if m.get("autoencoder_by_viscosity"):
        by = m["autoencoder_by_viscosity"]
        nus = sorted((k for k in by if k != "windows"), key=float, reverse=True)
        L += ["", f"Per viscosity, on every non-overlapping window of the test split ({by['windows']} windows, all points "
              "in and out, PyTorch) and every test frame for POD:", "",
              "| viscosity | ECHO AE | POD, same compression | ECHO / POD |", "|---|---|---|---|"]
        L += [f"| {nu} | {by[nu]:.4f} | {pod['by_viscosity'][nu]:.4f} | {by[nu] / pod['by_viscosity'][nu]:.2f} |" for nu in nus]
    L += ["", "## Forecast vs horizon", "",
          "From frame 0 of each test trajectory (the one context frame), ECHO's exported bundle through the numpy "
          "reference of the runtime (ONNX Runtime, Euler, 10 steps, seed = trajectory index, conditioned on the "
          f"true viscosity), {seg} new frames per segment, chained to 4 segments. `echo_50%`/`echo_20%`: the context "
          "frame given at a random 50% / 20% of the lattice points (sparse inputs), outputs at all points. "
          "Persistence repeats the context frame. Bold: best per row.", ""]
    for key in m["forecast"]["echo_100%"]:
        L += [f"### viscosity {key}", ""] + forecast_table(m["forecast"], key) + [""]
    if m.get("forecast_picture"):
        L += [f"![The solver, ECHO and the FNO on the first held-out trajectory of each viscosity]({m['forecast_picture']})", ""]
    L += ["Verdict (computed):", ""] + verdict(m["forecast"], seg) + [""]
    if readme:
        L += ["What the figures mean and what would change them: README.md next to this report (written by hand).", ""]
    ii = m["inverse_interpolation"]
    L += ["## Inverse problem and temporal interpolation", "",
          f"One segment from frame 0 of each test trajectory. Inverse: frames {[int(x) for x in ii['observed_inverse']]} observed (1 = "
          "observed; the last slot, as `echo-onnx inverse` poses it), error over the unobserved earlier frames and on "
          f"frame 0 alone. Interpolation: frames {[int(x) for x in ii['observed_interpolation']]} observed, error over the frames between.", "",
          "| task | rel L2 |", "|---|---|",
          f"| inverse, frames before the observed slot | {ii['inverse']:.3f} |",
          f"| inverse, initial frame (frame 0) | {ii['inverse_frame0']:.3f} |",
          f"| interpolation, missing frames | {ii['interpolation']:.3f} |", ""]
    g = m["generation"]
    L += ["## Unconditional generation: energy spectrum", "",
          f"{g['samples']} segments generated with nothing observed and no parameter (param_mask 0), decoded at the "
          "data lattice; shell-summed energy spectrum E(k) of the vorticity, averaged over frames, against all test frames.", "",
          "| k | " + " | ".join(str(k) for k in g["k"]) + " |", "|---|" + "---|" * len(g["k"]),
          "| E generated | " + " | ".join(f"{e:.2e}" for e in g["E_generated"]) + " |",
          "| E data | " + " | ".join(f"{e:.2e}" for e in g["E_data"]) + " |", "",
          "Energy ratio generated / data per band: " + ", ".join(f"{k}: {v:.2f}" for k, v in g["energy_ratio_generated_over_data"].items())
          + f"; field std generated {g['std_generated']:.3f} vs data {g['std_data']:.3f}.", ""]
    if m.get("super_resolution"):
        L += super_resolution_section(m["super_resolution"], m["test"]["n"])
    if m.get("super_resolution_sparse"):
        L += sparse_super_resolution_section(m["super_resolution_sparse"])
    if m.get("sampler_study"):
        L += sampler_study_section(m["sampler_study"])
    if m.get("continuous_query"):
        L += continuous_query_section(m["continuous_query"])
    if m.get("calibration"):
        L += calibration_section(m["calibration"], m.get("autoencoder", {}).get("100%"),
                                 m.get("forecast", {}).get("echo_100%", {}).get("all", {}).get("1"))
    if m.get("probes"):
        from ..probes_eval import probes_section  # torch-free
        L += probes_section(m["probes"], "ns2d")
    L += [f"Evaluation wall time: {m['seconds']} s.", ""]
    return "\n".join(L)


def write_report(metrics_json, out_md):
    """REPORT.md from metrics.json; it points to a hand-written README.md when one sits beside it."""
    m = json.loads(Path(metrics_json).read_text())
    Path(out_md).write_text(render(m, readme=(Path(out_md).parent / "README.md").exists()))


def store_section(out_dir, key, entry) -> dict:
    """Set `key` of OUT/metrics.json to `entry` (the other keys kept) and re-render OUT/REPORT.md: how
    the steps that add one section to an evaluated bundle (super-res, sampler-study) record it.
    Returns the whole metrics."""
    path = Path(out_dir) / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics[key] = entry
    path.write_text(json.dumps(metrics, indent=1, default=float) + "\n")
    write_report(path, Path(out_dir) / "REPORT.md")
    return metrics
