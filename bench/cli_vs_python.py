#!/usr/bin/env python3
"""Benchmark: the Rust CLI's forecast against the Python reference on the same bundle, input and seed.

    .venv/bin/python bench/cli_vs_python.py [--bundle B] [--example E | --points N] [--horizon 16]
        [--seed 0] [--reps 3] [--steps N] [--method euler|midpoint|rk4] [--query]
        [--threads N] [--cli target/release/echo-onnx] [--python-process] [--python-only]

Both run the same forecast; one table shows, side by side (medians over --reps):
- wall time of the Rust CLI as a process (measured around the subprocess, so it includes process
  start, ONNX Runtime loading, reading the input and writing the output), and the CLI's own
  `timings.total_s` from its `--json` summary;
- wall time of the Python reference in-process: manifest + sessions, reading the input series,
  the forecast, and writing prediction.pvd + .vtu files (imports and interpreter start are not
  counted; `--python-process` also times `python -m echo_onnx.reference` as a process);
- time inside ONNX Runtime sessions and the share of wall time outside them;
- python / rust time ratios, and max |rust - python| / max |python| over the predictions.

Larger configurations keep start-up from dominating, e.g. `--points 100000 --horizon 32` (a denser
example, generated into a temporary directory). The CLI is run as
`echo-onnx forecast --bundle B --input E/input.pvd --horizon H --seed S --out DIR --json --quiet`
and prints one JSON object (pretty-printed, several lines) with `timings.total_s`, `timings.onnx_s`,
`timings.outside_onnx_share`, `sampling.segments`, `output.dir`.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime

from echo_onnx.example import make_example
from echo_onnx.manifest import load_manifest
from echo_onnx.reference import forecast, read_series, write_prediction
from echo_onnx.testbundle import build_bundle
from echo_onnx.vtkxml import read_pvd, read_vtu

ROOT = Path(__file__).resolve().parents[1]


def inputs(args, tmp: Path):
    """The bundle and example directories: given, else shipped, else built into `tmp`.
    `--points N` always generates a fresh example of N points."""
    bundle = Path(args.bundle) if args.bundle else ROOT / "examples" / "bundle-2d"
    if not (bundle / "manifest.json").exists():
        if args.bundle:
            sys.exit(f"{bundle}: no manifest.json")
        bundle = tmp / "bundle"
        build_bundle(bundle)
    if args.points:
        example = tmp / f"example-{args.points}"
        make_example(example, points=args.points)
        return bundle, example
    example = Path(args.example) if args.example else ROOT / "examples" / "vorticity2d"
    if not (example / "input.pvd").exists():
        if args.example:
            sys.exit(f"{example}: no input.pvd")
        example = tmp / "example"
        make_example(example)
    return bundle, example


def cli_command(args, bundle, example, out):
    cmd = [str(args.cli), "forecast", "--bundle", str(bundle), "--input", str(example / "input.pvd"),
           "--horizon", str(args.horizon), "--seed", str(args.seed), "--out", str(out), "--json", "--quiet"]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if args.method:
        cmd += ["--method", args.method]
    if args.query:
        cmd += ["--query", str(example / "query.vtu")]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    return cmd


def run_cli_once(args, bundle, example, out: Path) -> dict:
    """One CLI run: {wall, total, onnx, share, segments, out}."""
    cmd = cli_command(args, bundle, example, out)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"echo-onnx failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}{proc.stdout}")
    try:
        report = json.loads(proc.stdout)  # one JSON object, pretty-printed over several lines
    except json.JSONDecodeError as e:
        sys.exit(f"echo-onnx --json printed no JSON object ({e}):\n{proc.stdout[:2000]}")
    t, ph = report["timings"], report["phases"]
    # Where the time outside ONNX Runtime's runs goes, by the CLI's phases (issue 13 part 5). Session
    # creation (ONNX Runtime loading and optimising the graphs) is outside the runs but is ORT's work.
    outside = {"reading the input": ph["read_s"], "ORT session creation": ph["load_s"],
               "geometry (neighbours, stencils)": ph["geometry_s"],
               "run outside ORT (lift gather, sampler, noise)": ph["run_s"] - t["onnx_s"],
               "writing (VTK, preview PNG)": ph["write_s"]}
    outside["rest (arguments, bundle checks)"] = t["total_s"] - sum(ph.values())
    return {"wall": wall, "total": t["total_s"], "onnx": t["onnx_s"], "share": t["outside_onnx_share"],
            "segments": report["sampling"]["segments"], "out": Path(report["output"]["dir"]),
            "ort": report.get("runtime", {}).get("version", "?"), "outside": outside}


def run_python_once(args, bundle, example, out: Path):
    """One reference run, in-process, reading the input and writing the output like the CLI:
    ({wall, total, onnx, share}, prediction [H, N, C])."""
    fields = load_manifest(bundle)["fields"]
    t0 = time.perf_counter()
    qp = read_vtu(example / "query.vtu").points if args.query else None
    t = {}
    times, values = forecast(bundle, example / "input.pvd", args.horizon, args.seed, args.steps, args.method,
                             query_points=qp, threads=args.threads, timings=t)
    # The output points: the query mesh's, else the input's (one file; forecast() read the series).
    points = qp if qp is not None else read_vtu(read_pvd(example / "input.pvd")[-1][1]).points
    write_prediction(out, times, points, values, fields)
    wall = time.perf_counter() - t0
    return {"wall": wall, "total": wall, "onnx": t["onnx_s"], "share": 1 - t["onnx_s"] / wall}, values


def run_python_process(args, bundle, example, out: Path) -> float:
    """Wall time of `python -m echo_onnx.reference` (interpreter start, imports, run, write)."""
    cmd = [sys.executable, "-m", "echo_onnx.reference", "--bundle", str(bundle), "--input",
           str(example / "input.pvd"), "--horizon", str(args.horizon), "--seed", str(args.seed), "--out", str(out)]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if args.method:
        cmd += ["--method", args.method]
    if args.query:
        cmd += ["--query", str(example / "query.vtu")]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"python reference failed ({proc.returncode}):\n{proc.stderr}")
    return wall


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def ratio(p, r):
    return None if p is None or r is None or r == 0 else p / r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", help="bundle dir (default examples/bundle-2d, else a fresh test bundle)")
    ap.add_argument("--example", help="example dir with input.pvd (default examples/vorticity2d)")
    ap.add_argument("--points", type=int, help="generate a fresh example with this many input points")
    ap.add_argument("--horizon", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, help="ODE steps (default: the bundle's)")
    ap.add_argument("--method", choices=("euler", "midpoint", "rk4"), help="ODE method (default: the bundle's)")
    ap.add_argument("--query", action="store_true", help="predict at the example's query.vtu points")
    ap.add_argument("--threads", type=int, help="threads per ONNX Runtime session, both sides (default: all cores)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "echo-onnx"))
    ap.add_argument("--python-process", action="store_true", help="also time the reference as a process")
    ap.add_argument("--python-only", action="store_true", help="skip the Rust CLI")
    args = ap.parse_args(argv)
    if args.reps < 1:
        sys.exit("--reps must be at least 1")
    if not args.python_only and not Path(args.cli).is_file():
        sys.exit(f"{args.cli} is missing: run `cargo build --release` (or scripts/setup.sh), or pass --python-only")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bundle, example = inputs(args, tmp)
        m = load_manifest(bundle)
        n_in = len(read_vtu(read_pvd(example / "input.pvd")[-1][1]).points)
        n_out = len(read_vtu(example / "query.vtu").points) if args.query else n_in
        per_segment = m["time"]["frames"] - m["time"]["context_frames"]
        print(f"bundle   {bundle}\nexample  {example} ({n_in} input points, output at {n_out} points)")
        print(f"forecast horizon {args.horizon} ({-(-args.horizon // per_segment)} segments), seed {args.seed}, "
              f"{args.method or m['sampler']['method']} x {args.steps or m['sampler']['steps']} steps, "
              f"threads {args.threads or 'all'}, median of {args.reps} reps")

        py_runs, rs_runs, py_proc = [], [], []
        py_values = rs_out = None
        for i in range(args.reps):  # interleaved, so load from elsewhere hits both alike
            if not args.python_only:
                rs_runs.append(run_cli_once(args, bundle, example, tmp / f"rust{i}"))
            run, py_values = run_python_once(args, bundle, example, tmp / f"python{i}")
            py_runs.append(run)
            if args.python_process:
                py_proc.append(run_python_process(args, bundle, example, tmp / f"pyproc{i}"))
        py_proc_wall = statistics.median(py_proc) if py_proc else None
        py_wall, py_onnx, py_share = median(py_runs, "wall"), median(py_runs, "onnx"), median(py_runs, "share")
        print(f"onnxruntime: python {onnxruntime.__version__}"
              + ("" if args.python_only else f", rust cli {rs_runs[0]['ort']}") + "\n")

        if args.python_only:
            rows = [("process wall [s]", py_proc_wall, ".4f"), ("run wall, read+forecast+write [s]", py_wall, ".4f"),
                    ("in ORT sessions [s]", py_onnx, ".4f"), ("outside ORT [% of run wall]", 100 * py_share, ".1f")]
            print(f"{'':36}{'python':>12}")
            for name, v, spec in rows:
                print(f"{name:36}{fmt(v, spec):>12}")
            return

        rs_wall, rs_total, rs_onnx = median(rs_runs, "wall"), median(rs_runs, "total"), median(rs_runs, "onnx")
        rs_share = median(rs_runs, "share")
        rs_share_wall = statistics.median(1 - r["onnx"] / r["wall"] for r in rs_runs)
        segments = {r["segments"] for r in rs_runs}
        rs_out = rs_runs[-1]["out"]
        rs_values = read_series(rs_out / "prediction.pvd", m["fields"])[2]

        # (row, rust, python, python/rust, format)
        table = [
            ("process wall [s]", rs_wall, py_proc_wall, ratio(py_proc_wall, rs_wall), ".4f"),
            ("run wall (rust: timings.total_s) [s]", rs_total, py_wall, ratio(py_wall, rs_total), ".4f"),
            ("python run wall / rust process wall", None, None, ratio(py_wall, rs_wall), ".4f"),
            ("in ORT sessions [s]", rs_onnx, py_onnx, ratio(py_onnx, rs_onnx), ".4f"),
            ("outside ORT [% of run wall]", 100 * rs_share, 100 * py_share, None, ".1f"),
            ("outside ORT [% of process wall]", 100 * rs_share_wall, None, None, ".1f"),
        ]
        print(f"{'':38}{'rust cli':>12}{'python':>12}{'py/rust':>10}")
        for name, r, p, q, spec in table:
            print(f"{name:38}{fmt(r, spec):>12}{fmt(p, spec):>12}{fmt(q, '.2f'):>10}")
        print(f"\nrust cli, time outside ORT's runs by phase (median) [ms, % of timings.total_s]:")
        for name in rs_runs[0]["outside"]:
            v = statistics.median(r["outside"][name] for r in rs_runs)
            print(f"  {name:46}{1000 * v:9.1f}{100 * v / rs_total:8.1f}")
        print(f"\nrust segments {sorted(segments)}; python run wall excludes interpreter start and imports"
              + ("" if args.python_process else " (--python-process times them)"))
        if rs_values.shape != py_values.shape:
            print(f"prediction shapes differ: rust {rs_values.shape}, python {py_values.shape}")
            sys.exit(1)
        diff = float(np.abs(rs_values.astype(np.float64) - py_values).max())
        scale = float(np.abs(py_values).max())
        print(f"max |rust - python| / max |python| = {diff / scale:.3e}  (max abs diff {diff:.3e}, "
              f"max |python| {scale:.3g}, {rs_values.shape[0]} frames x {rs_values.shape[1]} points)")


if __name__ == "__main__":
    main()
