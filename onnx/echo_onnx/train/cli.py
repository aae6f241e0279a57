"""`echo-onnx-train`: the training side's command line, one subcommand per step.

    echo-onnx-train generate-data --out DATA [--preset ns2d|smoke]
    echo-onnx-train train --stage 1|2|3 --data DATA --run-dir RUN [--preset ...] [--steps N] [--minutes M]
    echo-onnx-train baseline --data DATA --run-dir RUN [--steps N] [--minutes M]     (FNO, neuraloperator)
    echo-onnx-train export --run-dir RUN --out BUNDLE
    echo-onnx-train evaluate --run-dir RUN --data DATA --bundle BUNDLE --out REPORT_DIR
    echo-onnx-train super-res --bundle BUNDLE --n 256 512 1024     (the bundle alone; no PyTorch)
    echo-onnx-train super-res --bundle BUNDLE --sparse 2 4 --data DATA  (inputs on lattice subsets; no PyTorch)
    echo-onnx-train sampler-study --bundle BUNDLE --data DATA     (accuracy per NFE of each ODE method; no PyTorch)
    echo-onnx-train ablate --data DATA --variant grid lift+query --out DIR  (the autoencoder's ends vs POD)
    echo-onnx-train write-example --data DATA --out BUNDLE/example  (what evaluate writes; no PyTorch)
    echo-onnx-train calibration --data DATA --bundle BUNDLE --out DIR  (--ensemble spread vs error; no PyTorch)

Data-parallel: `torchrun --nproc-per-node 2 -m echo_onnx.train.cli train ...` (gloo on CPU).
"""

import argparse
import json
import sys
from pathlib import Path

# PyTorch is imported by the steps that need it: generate-data and super-res run without it.

# Presets: the shipped bundle and the CI smoke path (every stage a few steps).
PRESETS = {
    "ns2d": {
        "data": {"n": 64, "nus": [1e-3, 1e-4], "frames": 41, "dt": 0.25, "burn_in": 5.0,
                 "train": {"traj": 32, "seed": 1000}, "test": {"traj": 8, "seed": 2000}},
        "model": {},
        "stages": {1: {"steps": 4000, "batch": 4, "lr": 1e-3}, 2: {"steps": 2000, "batch": 8, "lr": 3e-4},
                   3: {"steps": 20000, "batch": 16, "lr": 3e-4}},
    },
    # ns2d v2 (issue 14; scripts/ns2d-v2.sh): 10x the trajectories per viscosity and the harder 1e-5
    # (66 min of solver time on one core, resumable: generate-data caches chunks), 64x compression (Z = 3
    # latent channels: 9 frames x 64^2 / (3 slots x 8^2 x 3)), the continuous query head (issue 15). The
    # viscosity, two decades, is normalised by its logarithm (param_scale). (--augment is there for stage
    # 1; the shipped bundle was trained without it: its held-out error still fell from step 1479 to 3479.)
    "ns2d-v2": {
        "param_scale": "log",
        "data": {"n": 64, "nus": [1e-3, 1e-4, 1e-5], "frames": 41, "dt": 0.25, "burn_in": 5.0,
                 "train": {"traj": 320, "seed": 1000}, "test": {"traj": 16, "seed": 2000}},
        "model": {"latent_channels": 3, "query_window": True},
        # Stage 2 refines nothing (steps 0: it only measures the latent normalisation): its single-frame
        # training undid stage 1 here, 2616 steps took the held-out autoencoder error from 0.009 / 0.038 /
        # 0.075 to 0.119 / 0.105 / 0.125 (4 test trajectories per viscosity). Stage 3 encodes its windows
        # once, three encoder passes each (clean, inverse, interpolate): a window start every 4 frames
        # (8640 windows) keeps that to ~10 min on one core, and the run keeps them (stage3-latents.pt) for
        # a --resume. The shipped bundle: 20 min of stage 3, then a warm restart of 50 at lr 2e-4.
        "stages": {1: {"steps": 20000, "batch": 8, "lr": 1e-3}, 2: {"steps": 0, "batch": 8, "lr": 3e-4},
                   3: {"steps": 40000, "batch": 32, "lr": 3e-4, "starts_every": 4}},
    },
    # cylinder-wake: OpenFOAM's cylinder flow (python -m echo_onnx.cylinder data --preset full) on the
    # case's 10.5k cell centres; latent grid 80 x 40 over the domain [-5, 15] x [-5, 5] (spacing 0.25,
    # the cylinder 4 spacings across), 20 x 10 x 8 latent per slot: 59x compression of 9-frame
    # windows. Sized for a 2-core CPU: the stages run against --minutes budgets (README).
    "cylinder": {
        "data": {"cylinder_preset": "full"},
        "model": {"grid": [80, 40], "neighbours": 8, "radius": 2.0, "query_window": True, "lift_features": 8,
                  "decoder_channels": 24, "widths": [32, 64], "latent_channels": 8, "time_stride": 4, "slots": 3,
                  "patch": 2, "width": 128, "depth": 4, "heads": 4},
        "stages": {1: {"steps": 3000, "batch": 4, "lr": 1e-3}, 2: {"steps": 1000, "batch": 4, "lr": 3e-4},
                   3: {"steps": 10000, "batch": 16, "lr": 3e-4}},
    },
    "cylinder-smoke": {
        "data": {"cylinder_preset": "ci"},
        "model": {"grid": [16, 8], "neighbours": 4, "radius": 2.0, "query_window": True, "lift_features": 4,
                  "decoder_channels": 4, "widths": [8, 8], "latent_channels": 2, "time_stride": 2, "slots": 3,
                  "width": 32, "depth": 1, "heads": 2},
        "stages": {1: {"steps": 3, "batch": 2, "lr": 1e-3}, 2: {"steps": 2, "batch": 2, "lr": 1e-3},
                   3: {"steps": 3, "batch": 4, "lr": 1e-3}},
    },
    "smoke": {
        "param_scale": "log",  # the logarithmic parameter's path through training, export and the CLI
        "data": {"n": 16, "nus": [1e-3, 1e-4], "frames": 9, "dt": 0.25, "burn_in": 0.5,
                 "train": {"traj": 2, "seed": 1}, "test": {"traj": 1, "seed": 2}},
        "model": {"grid": [16, 16], "lift_features": 4, "neighbours": 4, "decoder_channels": 4,
                  "widths": [8, 8], "latent_channels": 2, "time_stride": 2, "slots": 3,
                  "width": 32, "depth": 1, "heads": 2},
        "stages": {1: {"steps": 3, "batch": 2, "lr": 1e-3}, 2: {"steps": 2, "batch": 2, "lr": 1e-3},
                   3: {"steps": 3, "batch": 4, "lr": 1e-3}},
    },
}


def cmd_generate(a):
    from .data import generate
    p = PRESETS[a.preset]["data"]
    common = {k: p[k] for k in ("n", "nus", "frames", "dt", "burn_in")}
    for split in ("train", "test"):
        info = generate(Path(a.out) / f"{split}.npz", p[split]["traj"], p[split]["seed"], workers=a.workers,
                        log=lambda s: print(s, flush=True), **common)
        print(f"{split}: {json.dumps(info)}")


def cmd_train(a):
    import torch

    from ..model import ModelConfig
    from . import stages
    preset = PRESETS[a.preset]
    st = preset["stages"][a.stage]
    steps = st["steps"] if a.steps is None else a.steps  # stage 2 with --steps 0: the latent normalisation alone
    batch = a.batch or st["batch"]
    lr = a.lr or st["lr"]
    if a.threads:
        torch.set_num_threads(a.threads)
    spec = stages.param_spec(a.data, preset.get("param_scale", "linear"))
    if a.stage == 1:
        cfg = ModelConfig(**{**preset["model"], "params": len(spec)})
        stages.train_autoencoder(1, a.data, a.run, cfg, steps, batch, lr, a.minutes, a.seed, resume=a.resume,
                                 augment=a.augment)
    elif a.stage == 2:
        stages.train_autoencoder(2, a.data, a.run, None, steps, batch, lr, a.minutes, a.seed, augment=a.augment)
    elif a.augment:
        raise SystemExit("--augment applies to stages 1 and 2 (stage 3 learns from the encoded windows as they are)")
    else:
        stages.train_generator(a.data, a.run, steps, batch, lr, a.minutes, a.seed, param_spec=spec, patch=a.patch,
                               starts_every=st.get("starts_every", 2), resume=a.resume)
    if torch.distributed.is_initialized():
        # The DDP wrapper (in a reference cycle) must be collected while its process group lives: freed
        # by the garbage collector after destroy_process_group, its reducer aborts the process
        # ("terminate called without an active exception", 1 run in 3). And every rank must be done
        # (rank 0 writes the checkpoint after the last collective) before the group goes.
        import gc
        gc.collect()
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def cmd_baseline(a):
    import torch

    from .fno import train_fno
    from .fno_points import train_fno_points
    from .stages import is_point_data
    if a.threads:
        torch.set_num_threads(a.threads)
    small = a.preset.endswith("smoke")
    if is_point_data(a.data):  # on the ECHO run's latent grid (needs its stage1.pt)
        train_fno_points(a.data, a.run, a.steps or 3000, a.batch or 16, a.lr or 1e-3, a.minutes, a.seed, small=small)
    else:
        train_fno(a.data, a.run, a.steps or 3000, a.batch or 16, a.lr or 1e-3, a.minutes, a.seed, small=small,
                  scale=PRESETS[a.preset].get("param_scale", "linear"))


def cmd_export(a):
    from .export import export_bundle
    m = export_bundle(a.run, a.out, name=a.name)
    print(f"wrote bundle {m['name']} to {a.out}")


def cmd_evaluate(a):
    from .evaluate import evaluate
    evaluate(a.run, a.data, a.bundle, a.out, quick=a.quick, super_res=a.super_res)


def cmd_super_res(a):
    if not a.n and not a.sparse:
        sys.exit("echo-onnx-train super-res: give --n (finer solver runs) or --sparse (subsets of the data), or both")
    if a.sparse:
        if not a.data:
            sys.exit("echo-onnx-train super-res --sparse needs --data, the directory with the test split's test.npz")
        from .sparse_superres import run as run_sparse
        run_sparse(a.bundle, a.data, a.sparse, out=a.out, traj=a.traj, seed=a.seed, threads=a.threads)
    if a.n:
        from .superres import run
        run(a.bundle, a.n, out=a.out, segments=a.segments, seed=a.seed, threads=a.threads, workers=a.workers,
            chunk=a.chunk, cache=a.cache)


def cmd_requery(a):
    from .requery import refit
    refit(a.bundle, a.data, a.out, minutes=a.minutes, seed=a.seed, threads=a.threads, stencil=a.stencil)


def cmd_ablate(a):
    from ..model import ModelConfig
    from . import ablation
    out = Path(a.out)
    if a.table:
        print(ablation.table(out))
        return
    if not (a.pod or a.variant or a.stage1_run):
        sys.exit("echo-onnx-train ablate: give --variant NAME..., --pod, --stage1-run RUN or --table")
    if not a.data:
        sys.exit("echo-onnx-train ablate: --variant, --pod and --stage1-run need --data, the directory with train.npz and test.npz")
    cfg = ModelConfig(**PRESETS[a.preset]["model"])
    n = PRESETS[a.preset]["data"]["n"]
    if a.pod:
        ablation.pod(a.data, ablation.compression(cfg, n), out)
    if a.stage1_run:
        ablation.stage1_row(a.stage1_run, a.data, out)
    for name in a.variant or []:
        ablation.train_variant(name, cfg, a.data, out, a.steps, a.batch, a.lr, a.seed, a.augment, a.threads)


def cmd_sampler_study(a):
    from .sampler_study import run
    run(a.bundle, a.data, out=a.out, traj=a.traj, threads=a.threads)


def cmd_calibration(a):
    from .calibration import run
    run(a.data, a.bundle, a.cli, out=a.out, members=a.members, traj=a.traj, horizon=a.horizon, threads=a.threads)


def cmd_evaluate_wake(a):
    import numpy as np

    from . import wake, wake_report
    out = Path(a.out or a.bundle)
    res, methods, test = wake.evaluate(a.run, a.data, a.bundle, out, quick=a.quick, threads=a.threads, other_mesh=a.other_mesh)
    mid = len(test.param) // 2
    start = res["forecast"]["starts"][-1]
    k = wake.frame_index(test, start)
    hs = [h for h in (4, 8, 16) if h <= res["forecast"]["horizons"][-1]]
    pred = methods.echo(test.series[mid][k:k + 1], test.param[mid], max(hs))
    wake_report.plot_fields(test.points, test.series[mid][[k + h for h in hs]], pred[[h - 1 for h in hs]],
                            [(k + h) * test.dt for h in hs], float(test.param[mid]), start, out / "fields.png")
    wake_report.write_example(a.data, test, out / "example", mid, start)
    # The example's score (seed 0, the CLI's default; its first 8 frames are the first segment of the
    # 16 above): tests/cylinder-wake/check.py holds the shipped bundle to it, with room for runtimes.
    e = wake.errors(pred[:8], test.series[mid][k + 1:k + 9])
    res["example"] = {"Re": float(test.param[mid]), "start": start, "frames": 8,
                      "rel_l2": {"U": float(np.sqrt(np.mean(e["U"] ** 2))), "p": float(np.sqrt(np.mean(e["p"] ** 2)))}}
    res["example"]["rel_l2_bound"] = {f: round(1.25 * v + 0.01, 4) for f, v in res["example"]["rel_l2"].items()}
    (out / "metrics.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    (out / "example" / "README.md").write_text(
        f"Held-out Re {test.param[mid]:g}: `input.pvd` is the solver's state at t = {start:g} on the case's mesh (2D "
        f"cross-section, cell data U and p, as foamToVTK of a 2D case gives), `truth.pvd` the solver's next 8 frames.\n\n"
        f"    target/release/echo-onnx forecast --bundle onnx/bundles/cylinder-wake --input onnx/bundles/cylinder-wake/example/input.pvd "
        f"--param Re={test.param[mid]:g} --horizon 16 --truth onnx/bundles/cylinder-wake/example/truth.pvd --out out/cylinder --force\n")
    render_wake_report(out, a.warm, a.monitor)
    print(json.dumps({k: res[k] for k in ("compression_ratio", "held_out_Re", "seconds")}))


def render_wake_report(out, warm_dirs, monitor=None):
    from . import wake_report
    res = json.loads((Path(out) / "metrics.json").read_text())
    if monitor:
        res["surrogate_monitor"] = json.loads((Path(monitor) / "monitor.json").read_text())
    warm = wake_report.warm_start_rows(warm_dirs or [])
    wake_report.plot_errors(res, Path(out) / "error_vs_horizon.png")
    if "shedding" in res:
        wake_report.plot_lift(res, Path(out) / "lift.png")
    if warm:
        wake_report.plot_warm_start(warm, Path(out) / "warm_start.png")
        res["warm_start"] = [{**r, "runs": {k: {kk: vv for kk, vv in v.items() if kk != "dir"} for k, v in r["runs"].items()}}
                             for r in warm]
    (Path(out) / "metrics.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    wake_report.write_report(res, warm, Path(out) / "REPORT.md")
    print(f"wrote {Path(out) / 'REPORT.md'}")


def cmd_wake_report(a):
    render_wake_report(a.bundle, a.warm, a.monitor)


def cmd_write_example(a):
    from .data import load, write_example
    write_example(load(Path(a.data) / "test.npz"), a.out)
    print(f"wrote {a.out}/input.pvd and truth.pvd")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="echo-onnx-train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate-data", help="solve the seeded Navier-Stokes train/test trajectories")
    g.add_argument("--out", required=True)
    g.add_argument("--preset", choices=PRESETS, default="ns2d")
    g.add_argument("--workers", type=int, default=1, help="scipy.fft threads")
    g.set_defaults(fn=cmd_generate)
    for name, fn in (("train", cmd_train), ("baseline", cmd_baseline)):
        t = sub.add_parser(name, help="one ECHO training stage" if name == "train" else "the FNO baseline")
        if name == "train":
            t.add_argument("--stage", type=int, choices=(1, 2, 3), required=True)
            t.add_argument("--resume", action="store_true", help="stages 1 and 3: continue from stage1.pt or stage3.pt (a warm restart)")
            t.add_argument("--patch", type=int, help="stage 3: the DiT's patch size, replacing the configuration's")
            t.add_argument("--augment", action="store_true",
                           help="stages 1-2, NS2D: map each window by a random symmetry of the forced equations "
                                "(echo_onnx.ns2d.SYMMETRIES)")
        t.add_argument("--data", required=True, help="directory with train.npz")
        t.add_argument("--run-dir", dest="run", required=True, help="run directory (checkpoints stageN.pt)")
        t.add_argument("--preset", choices=PRESETS, default="ns2d")
        t.add_argument("--steps", type=int)
        t.add_argument("--batch", type=int)
        t.add_argument("--lr", type=float)
        t.add_argument("--minutes", type=float, help="wall-time budget; the cosine schedule follows it")
        t.add_argument("--seed", type=int, default=0)
        t.add_argument("--threads", type=int, help="torch intra-op threads")
        t.set_defaults(fn=fn)
    e = sub.add_parser("export", help="write the bundle (ONNX graphs + manifest) from a stage-3 run")
    e.add_argument("--run-dir", dest="run", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--name", default="ns2d-vorticity")
    e.set_defaults(fn=cmd_export)
    v = sub.add_parser("evaluate", help="the evaluation report on held-out trajectories")
    v.add_argument("--run-dir", dest="run", required=True)
    v.add_argument("--data", required=True)
    v.add_argument("--bundle", required=True)
    v.add_argument("--out", required=True, help="directory for metrics.json")
    v.add_argument("--quick", action="store_true", help="fewer trajectories (CI)")
    v.add_argument("--super-res", type=int, default=0, help="also compare against a solver run at this n (e.g. 256)")
    v.set_defaults(fn=cmd_evaluate)
    q = sub.add_parser("requery", help="refit a bundle's query head with the continuous window (issue 15)",
                       description="Copy the bundle with its query head refitted on the decoder's features of "
                                   "training windows, the tent window on (continuous across latent cells); "
                                   "metrics.json gains `continuous_query` (held-out, before and after).")
    q.add_argument("--bundle", required=True)
    q.add_argument("--data", required=True, help="directory with train.npz and test.npz (generate-data)")
    q.add_argument("--out", required=True, help="the new bundle's directory (replaced)")
    q.add_argument("--minutes", type=float, default=10.0, help="training time budget (default 10)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--stencil", type=int, help="the new head's stencil nodes per axis (default: the bundle's; wider is smoother)")
    q.add_argument("--threads", type=int, help="torch intra-op threads")
    q.set_defaults(fn=cmd_requery)
    r = sub.add_parser("super-res", help="super-resolution against the solver at finer grids, from the bundle alone",
                       description="Solve the bundle's held-out trajectories (metrics.json `test`) again at each "
                                   "--n, forecast them with the bundle from the training-resolution frame 0, "
                                   "score at the fine lattice; writes metrics.json `super_resolution` and REPORT.md.",
                       epilog="examples: echo-onnx-train super-res --bundle onnx/bundles/ns2d-vorticity --n 256 512\n"
                              "          echo-onnx-train super-res --bundle onnx/bundles/ns2d-vorticity --sparse 2 4 --data .echo/data",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--bundle", required=True, help="bundle directory with metrics.json (its `test` key)")
    r.add_argument("--n", type=int, nargs="+", help="fine grid sides (multiples of the data's n)")
    r.add_argument("--sparse", type=int, nargs="+", help="strides s: inputs every s-th point of the held-out lattice, "
                                                         "outputs at all of it (needs --data)")
    r.add_argument("--data", help="with --sparse: directory with test.npz (generate-data)")
    r.add_argument("--traj", type=int, default=4, help="with --sparse: held-out trajectories per viscosity (default 4)")
    r.add_argument("--out", help="directory with the metrics.json / REPORT.md to update (default: the bundle)")
    r.add_argument("--cache", help="directory keeping the solver's fine references (they do not depend on the "
                                   "bundle): solved once, read back by later runs")
    r.add_argument("--segments", type=int, default=1, help="segments forecast (default 1)")
    r.add_argument("--seed", type=int, default=0, help="ECHO's sampler noise seed")
    r.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (default 1)")
    r.add_argument("--workers", type=int, default=1, help="scipy.fft threads of the solver (default 1)")
    r.add_argument("--chunk", type=int, default=65536, help="output points per query-graph call")
    r.set_defaults(fn=cmd_super_res)
    ss = sub.add_parser("sampler-study", help="forecast accuracy per velocity evaluation of each ODE method (no torch)",
                        epilog="example: echo-onnx-train sampler-study --bundle onnx/bundles/ns2d-vorticity --data .echo/data")
    ss.add_argument("--bundle", required=True)
    ss.add_argument("--data", required=True, help="directory with test.npz (generate-data)")
    ss.add_argument("--out", help="directory with the metrics.json / REPORT.md to update (default: the bundle)")
    ss.add_argument("--traj", type=int, default=4, help="held-out trajectories per viscosity (default 4)")
    ss.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (default 1)")
    ss.set_defaults(fn=cmd_sampler_study)
    ab = sub.add_parser("ablate", help="the autoencoder's trunk with and without the learned lift and query, and POD (issue 14)",
                        epilog="example: echo-onnx-train ablate --data .echo/data-v2 --preset ns2d-v2 --variant grid --out .echo/ablation")
    ab.add_argument("--data", help="directory with train.npz and test.npz (generate-data)")
    ab.add_argument("--preset", choices=PRESETS, default="ns2d-v2", help="the model configuration (trunk, compression)")
    ab.add_argument("--variant", nargs="*", choices=["grid", "grid+query", "lift+grid", "lift+query"])
    ab.add_argument("--pod", action="store_true", help="POD at the preset's compression ratio")
    ab.add_argument("--table", action="store_true", help="print the table of the results in --out")
    ab.add_argument("--stage1-run", help="also score this `train --stage 1` run's autoencoder like the variants")
    ab.add_argument("--steps", type=int, default=3000)
    ab.add_argument("--batch", type=int, default=8)
    ab.add_argument("--lr", type=float, default=1e-3)
    ab.add_argument("--seed", type=int, default=0)
    ab.add_argument("--augment", action="store_true", help="random symmetries of the forced equations")
    ab.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ab.add_argument("--out", required=True, help="directory for <variant>.json, <variant>.pt, pod.json")
    ab.set_defaults(fn=cmd_ablate)
    c = sub.add_parser("calibration", help="spread-skill, CRPS and rank histogram of --ensemble forecasts (the Rust CLI) on the test split",
                       epilog="example: echo-onnx-train calibration --data .echo/data --bundle onnx/bundles/ns2d-vorticity "
                              "--cli target/release/echo-onnx --out onnx/bundles/ns2d-vorticity")
    c.add_argument("--data", required=True, help="directory with test.npz (generate-data)")
    c.add_argument("--bundle", required=True)
    c.add_argument("--cli", default="target/release/echo-onnx", help="the echo-onnx executable")
    c.add_argument("--out", help="directory for calibration.json and calibration.png")
    c.add_argument("--members", type=int, default=16)
    c.add_argument("--traj", type=int, default=8, help="test trajectories per viscosity")
    c.add_argument("--horizon", type=int, default=32, help="frames forecast from frame 0")
    c.add_argument("--threads", type=int, help="ONNX Runtime threads of the CLI (default: all cores)")
    c.set_defaults(fn=cmd_calibration)
    w = sub.add_parser("evaluate-wake", help="cylinder-wake: held-out Re accuracy, St, lift, plots, example, REPORT.md",
                       epilog="example: echo-onnx-train evaluate-wake --run-dir .echo/cylinder/run --data .echo/cylinder/data "
                              "--bundle onnx/bundles/cylinder-wake")
    w.add_argument("--run-dir", dest="run", required=True)
    w.add_argument("--data", required=True, help="directory with train/ and test/ (python -m echo_onnx.cylinder data)")
    w.add_argument("--bundle", required=True)
    w.add_argument("--out", help="directory for metrics.json, REPORT.md, the plots and example/ (default: the bundle)")
    w.add_argument("--warm", nargs="*", help="warm-start result directories (python -m echo_onnx.cylinder warmstart)")
    w.add_argument("--monitor", help="a surrogate-mode run's directory (python -m echo_onnx.cylinder monitor)")
    w.add_argument("--quick", action="store_true", help="one held-out Re (CI)")
    w.add_argument("--other-mesh", help="a data directory whose test/ holds a held-out trajectory on another mesh "
                                        "(python -m echo_onnx.cylinder data --preset fine-test)")
    w.add_argument("--threads", type=int, help="ONNX Runtime and torch threads")
    w.set_defaults(fn=cmd_evaluate_wake)
    wr = sub.add_parser("wake-report", help="cylinder-wake: REPORT.md and plots again from metrics.json and warm-start runs")
    wr.add_argument("--bundle", required=True, help="directory with metrics.json (evaluate-wake's --out)")
    wr.add_argument("--warm", nargs="*", help="warm-start result directories")
    wr.add_argument("--monitor", help="a surrogate-mode run's directory (python -m echo_onnx.cylinder monitor)")
    wr.set_defaults(fn=cmd_wake_report)
    x = sub.add_parser("write-example", help="a bundle's example/: the first held-out trajectory's frame 0 and the next 8",
                       epilog="example: echo-onnx-train write-example --data .echo/data --out onnx/bundles/ns2d-vorticity/example")
    x.add_argument("--data", required=True, help="directory with test.npz (generate-data)")
    x.add_argument("--out", required=True, help="directory to write input.pvd, truth.pvd and their .vtu files")
    x.set_defaults(fn=cmd_write_example)
    a = ap.parse_args(argv)
    a.fn(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
