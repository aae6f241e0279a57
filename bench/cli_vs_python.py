#!/usr/bin/env python3
"""Benchmark: the Rust CLI's forecast against the Python reference on the same bundle and input.

    .venv/bin/python bench/cli_vs_python.py [--bundle B] [--example E] [--horizon 16] [--seed 0]
                                            [--reps 3] [--cli target/release/echo-onnx] [--python-only]

Both run the same forecast; the table shows wall time, the share of it spent outside ONNX Runtime
sessions, the time ratio, and the largest difference between the two predictions. The Rust CLI is
run as `echo-onnx forecast --bundle B --input E/input.pvd --horizon H --seed S --out DIR --json --quiet`
and is expected to print one JSON object with its timings and to write DIR/prediction.pvd.
Python times are measured in-process (no interpreter start-up); the CLI's include process start.
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

from echo_onnx.example import make_example
from echo_onnx.manifest import load_manifest
from echo_onnx.reference import forecast, read_series
from echo_onnx.testbundle import build_bundle

ROOT = Path(__file__).resolve().parents[1]

# The CLI's JSON keys, read only here: the first key found wins.
TIMING_GROUPS = ("timings", "timing", "times")
TOTAL_KEYS = ("total_s", "total", "wall_s", "elapsed_s")
ONNX_KEYS = ("onnx_s", "ort_s", "onnx", "inference_s", "session_s")


def cli_timings(report: dict, wall: float):
    """(total_s, onnx_s or None) from the CLI's JSON; the measured wall time if no total is given."""
    group = next((report[k] for k in TIMING_GROUPS if isinstance(report.get(k), dict)), report)
    total = next((float(group[k]) for k in TOTAL_KEYS if k in group), wall)
    onnx = next((float(group[k]) for k in ONNX_KEYS if k in group), None)
    return total, onnx


def inputs(args, tmp: Path):
    """The bundle and example directories, built into `tmp` when not given and not shipped."""
    bundle = Path(args.bundle) if args.bundle else ROOT / "examples" / "bundle-2d"
    example = Path(args.example) if args.example else ROOT / "examples" / "vorticity2d"
    if not (bundle / "manifest.json").exists():
        bundle = tmp / "bundle"
        build_bundle(bundle)
    if not (example / "input.pvd").exists():
        example = tmp / "example"
        make_example(example)
    return bundle, example


def run_python(bundle, example, args):
    """[(total_s, onnx_s)] per repetition and the last prediction [H, N, C]."""
    runs, values = [], None
    for _ in range(args.reps):
        t = {}
        _, values = forecast(bundle, example / "input.pvd", args.horizon, args.seed, timings=t)
        runs.append((t["total_s"], t["onnx_s"]))
    return runs, values


def run_cli(bundle, example, args, tmp: Path):
    """[(total_s, onnx_s)] and external wall times per repetition, and the last prediction."""
    runs, walls, out = [], [], None
    for i in range(args.reps):
        out = tmp / f"rust{i}"
        cmd = [str(args.cli), "forecast", "--bundle", str(bundle), "--input", str(example / "input.pvd"),
               "--horizon", str(args.horizon), "--seed", str(args.seed), "--out", str(out), "--json", "--quiet"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"echo-onnx failed ({proc.returncode}):\n{proc.stderr}")
        report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
        runs.append(cli_timings(report, wall))
        walls.append(wall)
    fields = load_manifest(bundle)["fields"]
    return runs, walls, read_series(out / "prediction.pvd", fields)[2]


def summary(runs):
    """(median total, median onnx, median share outside ORT) over repetitions."""
    total = statistics.median(r[0] for r in runs)
    if any(r[1] is None for r in runs):
        return total, None, None
    onnx = statistics.median(r[1] for r in runs)
    share = statistics.median(1 - r[1] / r[0] for r in runs)
    return total, onnx, share


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", help="bundle dir (default examples/bundle-2d, else a fresh test bundle)")
    ap.add_argument("--example", help="example dir with input.pvd (default examples/vorticity2d)")
    ap.add_argument("--horizon", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "echo-onnx"))
    ap.add_argument("--python-only", action="store_true", help="skip the Rust CLI")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bundle, example = inputs(args, tmp)
        print(f"bundle {bundle}\nexample {example}\nhorizon {args.horizon}, seed {args.seed}, {args.reps} reps\n")
        py_runs, py_values = run_python(bundle, example, args)
        py = summary(py_runs)
        rows = [("wall time, median [s]", fmt(py[0], ".4f")), ("in ORT sessions [s]", fmt(py[1], ".4f")),
                ("outside ORT [%]", fmt(None if py[2] is None else 100 * py[2], ".1f"))]
        if args.python_only:
            print(f"{'':28}{'python':>12}")
            for name, p in rows:
                print(f"{name:28}{p:>12}")
            return
        rs_runs, rs_walls, rs_values = run_cli(bundle, example, args, tmp)
        rs = summary(rs_runs)
        diff = np.abs(rs_values - py_values).max() if rs_values.shape == py_values.shape else None
        scale = float(np.abs(py_values).max())
        print(f"{'':28}{'rust cli':>12}{'python':>12}")
        table = [("wall time, median [s]", fmt(rs[0], ".4f"), rows[0][1]),
                 ("  process wall [s]", fmt(statistics.median(rs_walls), ".4f"), "-"),
                 ("in ORT sessions [s]", fmt(rs[1], ".4f"), rows[1][1]),
                 ("outside ORT [%]", fmt(None if rs[2] is None else 100 * rs[2], ".1f"), rows[2][1]),
                 ("python / rust", "", fmt(py[0] / rs[0], ".2f"))]
        for name, r, p in table:
            print(f"{name:28}{r:>12}{p:>12}")
        if diff is None:
            print(f"\nprediction shapes differ: rust {rs_values.shape}, python {py_values.shape}")
        else:
            print(f"\nmax |rust - python| / max |python| = {diff / scale:.3e}  (max abs diff {diff:.3e})")


if __name__ == "__main__":
    main()
