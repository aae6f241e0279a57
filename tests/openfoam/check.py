#!/usr/bin/env python3
"""Assertions of the OpenFOAM end-to-end tests (tests/openfoam/run.sh made the cases in WORK).

Usage: check.py WORK. Standard library only. SPDX-License-Identifier: MIT OR Apache-2.0
"""
import base64
import math
import re
import struct
import sys
from pathlib import Path

WORK = Path(sys.argv[1])
WRITE_TIMES = ["0.2", "0.4", "0.6", "0.8", "1", "1.2", "1.4", "1.6"]
CELLS = 96 * 96
TOL = 1e-6
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def log(case):
    return (WORK / case / "log.solver").read_text(errors="replace")


def rc(case):
    return int((WORK / case / "rc").read_text())


def field(case, time, name):
    """The internal field of an ASCII volScalarField file, as a list of floats."""
    text = (WORK / case / time / name).read_text()
    m = re.search(r"internalField\s+nonuniform\s+List<scalar>\s*(\d+)\s*\((.*?)\)\s*;", text, re.S)
    if m:
        values = [float(v) for v in m.group(2).split()]
        assert len(values) == int(m.group(1)), f"{case}/{time}/{name}: truncated list"
        return values
    m = re.search(r"internalField\s+uniform\s+(\S+);", text)
    return [float(m.group(1))] * CELLS


def vectors(case, time, name):
    """The internal field of an ASCII volVectorField file, as a list of (x, y, z)."""
    text = (WORK / case / time / name).read_text()
    m = re.search(r"internalField\s+nonuniform\s+List<vector>\s*(\d+)\s*\((.*?)\)\s*;", text, re.S)
    if m:
        values = [tuple(float(v) for v in t.split()) for t in re.findall(r"\(([^()]*)\)", m.group(2))]
        assert len(values) == int(m.group(1)), f"{case}/{time}/{name}: truncated list"
        return values
    m = re.search(r"internalField\s+uniform\s+\(([^()]*)\);", text)
    return [tuple(float(v) for v in m.group(1).split())] * CELLS


def rel_diff(a, b):
    """max |a - b| / max |b|."""
    return max(abs(x - y) for x, y in zip(a, b)) / max(max(abs(y) for y in b), 1e-300)


def errors(case):
    rows = []
    for line in error_dat(case).splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append([float(v) for v in line.split()])
    return rows


def error_dat(case):
    return (WORK / case / "postProcessing/echo/0/error.dat").read_text()


def vtu_cells(path, name):
    """A Float32 cell array of a .vtu the CLI wrote (inline base64, UInt64 header, uncompressed)."""
    text = path.read_text()
    m = re.search(rf'<DataArray type="Float32" Name="{name}" NumberOfComponents="1" format="binary">\s*(\S+)\s*</DataArray>', text)
    raw = base64.b64decode(m.group(1))
    n = struct.unpack("<Q", raw[:8])[0]
    return list(struct.unpack(f"<{n // 4}f", raw[8:8 + n]))


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def ran_cleanly(case, ranks):
    text = log(case)
    check(rc(case) == 0, f"{case}: the solver exits 0")
    check("Could not load" not in text and "FOAM Warning" not in text and "FOAM FATAL" not in text,
          f"{case}: no failed library load, no warning, no error in the log")
    check(f"echoSurrogate echo: bundle 'example-T-" in text, f"{case}: the library loaded and the function object was built")
    m = re.search(rf"{CELLS} cells on {ranks} rank\(s\), (\d+) gathered", text)
    check(m is not None, f"{case}: the function object saw {CELLS} cells on {ranks} rank(s)")
    # 32 x 32 grid nodes x 8 neighbours: at most 8192 of the 9216 cells reach the master.
    check(m is not None and int(m.group(1)) < CELLS, f"{case}: only the cells the latent grid needs were gathered ({m and m.group(1)})")
    check(re.search(r"^End\s*$", text, re.M) is not None, f"{case}: the solver ran to the end")


def surrogate():
    for case, ranks in [("serial-surrogate", 1), ("parallel-surrogate", 2)]:
        ran_cleanly(case, ranks)
        text = log(case)
        check("forecast 8 frames from t = 0 (0.1 .. 0.8)" in text and "forecast 8 frames from t = 0.8 (0.9 .. 1.6)" in text,
              f"{case}: forecast at t = 0 and t = 0.8, one segment each")
        check(len(re.findall(r"relative L2 error T \S+", text)) == 16, f"{case}: 16 errors logged (t = 0.1 .. 1.6)")
        rows = errors(case)
        check([round(r[0], 6) for r in rows] == [round(0.1 * k, 6) for k in range(1, 17)],
              f"{case}: error.dat has the 16 predicted times")
        check([round(r[1], 6) for r in rows] == [round(0.1 * (k % 8 or 8), 6) for k in range(1, 17)],
              f"{case}: error.dat's lead times restart with each forecast")
        check(all(math.isfinite(r[2]) and r[2] > 0 for r in rows), f"{case}: errors are finite and positive")
        for t in WRITE_TIMES:
            if not check((WORK / case / t / "TEcho").is_file(), f"{case}: {t}/TEcho written"):
                continue
            echo, solver = field(case, t, "TEcho"), field(case, t, "T")
            check(len(echo) == CELLS and all(math.isfinite(v) for v in echo), f"{case}: {t}/TEcho has {CELLS} finite values")
            # The written prediction and solution give back the logged error.
            e = math.sqrt(sum((a - b) ** 2 for a, b in zip(echo, solver))) / math.sqrt(sum(b * b for b in solver))
            row = next(r for r in rows if abs(r[0] - float(t)) < 1e-6)
            check(abs(e - row[2]) <= 1e-6 * row[2], f"{case}: error at t = {t} recomputed from the fields: {e:.9g} vs {row[2]:.9g}")
    check((WORK / "parallel-surrogate/processor1/0.2/TEcho").is_file(), "parallel-surrogate: each rank wrote its TEcho")
    worst = max(rel_diff(field("parallel-surrogate", t, "TEcho"), field("serial-surrogate", t, "TEcho")) for t in WRITE_TIMES)
    check(worst <= TOL, f"surrogate: parallel TEcho = serial TEcho to {worst:.2e} relative (max over write times; limit {TOL})")
    first = max(rel_diff(field("parallel-surrogate", t, "TEcho"), field("serial-surrogate", t, "TEcho")) for t in WRITE_TIMES[:4])
    print(f"     (first segment, from identical initial fields: {first:.2e})")
    es, ep = errors("serial-surrogate"), errors("parallel-surrogate")
    worst = max(abs(a[2] - b[2]) / a[2] for a, b in zip(es, ep))
    check(worst <= TOL, f"surrogate: parallel errors = serial errors to {worst:.2e} relative")


def interval():
    """interval 0.25 with the bundle's dt 0.1: forecasts start at snapshots, so every 0.3 (the
    warning says so); each prediction is compared until the next forecast replaces it."""
    case = "serial-interval"
    text = log(case)
    check(rc(case) == 0 and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: ran to the end")
    check("interval 0.25 is not a multiple of the bundle's dt 0.1; forecasts start at snapshots, every 0.3" in text
          and "FOAM Warning" in text, f"{case}: a warning says the interval is rounded up to 0.3")
    origins = [float(t) for t in re.findall(r"forecast 8 frames from t = (\S+) ", text)]
    check(origins == [0.0, 0.3, 0.6, 0.9, 1.2, 1.5], f"{case}: forecasts at t = 0, 0.3, .., 1.5 (got {origins})")
    rows = errors(case)
    check([round(r[0], 6) for r in rows] == [round(0.1 * k, 6) for k in range(1, 17)], f"{case}: error.dat has the 16 solver times")
    check([round(r[1], 6) for r in rows] == [round(0.1 * (k % 3 or 3), 6) for k in range(1, 17)],
          f"{case}: lead times 0.1, 0.2, 0.3, then the next forecast")


def zero_field():
    """The solver's T is zero in every cell: error.dat says nan (no relative error is defined), not a
    number divided by a tiny one, and the log says why."""
    case = "serial-zero-field"
    text = log(case)
    check(rc(case) == 0 and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: ran to the end")
    rows = errors(case)
    check(len(rows) == 16 and all(math.isnan(r[2]) for r in rows), f"{case}: error.dat has 16 rows, each error nan")
    check("relative L2 error T nan (error nan: the solver's field is zero, so no relative error is defined)" in text,
          f"{case}: the log says why the error is nan")


def warmstart():
    for case, ranks in [("serial-warmstart", 1), ("parallel-warmstart", 2)]:
        ran_cleanly(case, ranks)
        text = log(case)
        check("warm start at t = 0: replaced 1(T) with frame 0 of the generated segment (parameters DT=0.001)" in text,
              f"{case}: the fields were replaced at the start time, conditioned on DT")
        check(not (WORK / case / "postProcessing/echo/0/error.dat").exists(), f"{case}: no error monitor in warmStart mode")
        check(all((WORK / case / t / "TEcho").is_file() for t in WRITE_TIMES), f"{case}: the generated state TEcho is written")
        # The solver ran on from the generated state, not from the case's initial blob.
        d = rel_diff(field(case, "0.2", "T"), field("serial-surrogate", "0.2", "T"))
        check(d > 1e-2, f"{case}: T at 0.2 differs from the run without warm start ({d:.2f} relative)")
        echo0 = field(case, "0.2", "TEcho")
        check(len(set(echo0)) > 100, f"{case}: the generated state varies in space")
    d = rel_diff(field("parallel-warmstart", "0.2", "TEcho"), field("serial-warmstart", "0.2", "TEcho"))
    check(d <= TOL, f"warmStart: parallel generated state = serial to {d:.2e} relative (limit {TOL})")
    d = max(rel_diff(field("parallel-warmstart", t, "T"), field("serial-warmstart", t, "T")) for t in WRITE_TIMES)
    check(d <= TOL, f"warmStart: parallel solution = serial solution to {d:.2e} relative (all write times)")


def vector():
    """Two fields, one a vector (U, 2 components in 2D): both monitored, both predicted."""
    for case, ranks in [("serial-vector", 1), ("parallel-vector", 2)]:
        text = log(case)
        check(rc(case) == 0 and "FOAM Warning" not in text and re.search(r"^End\s*$", text, re.M) is not None,
              f"{case}: ran cleanly")
        check("fields 2(U T)" in text and f"{CELLS} cells on {ranks} rank(s)" in text, f"{case}: the function object took U and T")
        check(len(re.findall(r"relative L2 error U \S+ T \S+", text)) == 16, f"{case}: an error per field at each predicted time")
        rows = errors(case)
        check(len(rows) == 16 and all(len(r) == 4 and all(math.isfinite(v) for v in r) for r in rows),
              f"{case}: error.dat has time, lead, U and T columns")
        for t in ["0.4", "1.6"]:
            u, uecho = vectors(case, t, "U"), vectors(case, t, "UEcho")
            e = math.sqrt(sum((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 for a, b in zip(uecho, u))) / math.sqrt(sum(b[0] ** 2 + b[1] ** 2 for b in u))
            row = next(r for r in rows if abs(r[0] - float(t)) < 1e-6)
            check(abs(e - row[2]) <= 1e-6 * row[2], f"{case}: U error at t = {t} recomputed from U and UEcho: {e:.9g} vs {row[2]:.9g}")
            check(all(v[2] == 0.0 for v in uecho), f"{case}: {t}/UEcho has no z component (2D)")
    flat = lambda vs: [c for v in vs for c in v]
    d = max(rel_diff(flat(vectors("parallel-vector", t, "UEcho")), flat(vectors("serial-vector", t, "UEcho"))) for t in WRITE_TIMES)
    check(d <= TOL, f"vector: parallel UEcho = serial UEcho to {d:.2e} relative")
    case = "serial-vector-warmstart"
    text = log(case)
    check(rc(case) == 0 and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: ran to the end")
    check("warm start at t = 1.5: replaced 2(U T)" in text and "warm start at t = 0" not in text,
          f"{case}: the fields were replaced at the chosen time 1.5, not at the start")
    check(not (WORK / case / "1.4/UEcho").exists() and (WORK / case / "1.6/UEcho").is_file(), f"{case}: UEcho written after the warm start only")
    u, uecho = vectors(case, "1.6", "U"), vectors(case, "1.6", "UEcho")
    check(all(a[0] == b[0] and a[1] == b[1] and a[2] == 0.0 for a, b in zip(u, uecho)),
          f"{case}: U (not solved by scalarTransportFoam) is the generated state in x and y, z untouched")
    check(vectors(case, "1.4", "U")[0] == (0.5, 0.25, 0.0), f"{case}: U was the case's until the warm start")


def ensemble():
    """ensemble 4: <field>EchoMean and <field>EchoStd instead of <field>Echo, the spread next to the
    error, serial = parallel, the CLI's --ensemble 4 numbers; ensemble 1 is the run without the
    entry; maxSpread stops the surrogate; warmStart takes member 0."""
    for case, ranks in [("serial-ensemble", 1), ("parallel-ensemble", 2)]:
        ran_cleanly(case, ranks)
        text = log(case)
        check("forecast 8 frames from t = 0 (0.1 .. 0.8), ensemble of 4, in" in text
              and "forecast 8 frames from t = 0.8 (0.9 .. 1.6), ensemble of 4, in" in text, f"{case}: two forecasts of 4 members")
        check(len(re.findall(r"relative L2 error T \S+, ensemble spread T \S+", text)) == 16, f"{case}: 16 errors and spreads logged")
        check("\tspread(T)" in error_dat(case).replace(" ", ""), f"{case}: error.dat has a spread(T) column")
        rows = errors(case)
        check(len(rows) == 16 and all(len(r) == 4 and math.isfinite(r[3]) and r[3] > 0 for r in rows),
              f"{case}: error.dat rows are time, lead, error, spread > 0 (16 rows)")
        check(not list((WORK / case).glob("*/TEcho")) and not list((WORK / case).glob("processor*/*/TEcho")),
              f"{case}: no TEcho with an ensemble (the mean is TEchoMean)")
        for t in WRITE_TIMES:
            if not check((WORK / case / t / "TEchoMean").is_file() and (WORK / case / t / "TEchoStd").is_file(),
                         f"{case}: {t}/TEchoMean and {t}/TEchoStd written"):
                continue
            mean, std, solver = field(case, t, "TEchoMean"), field(case, t, "TEchoStd"), field(case, t, "T")
            check(len(std) == CELLS and min(std) > 0 and all(math.isfinite(v) for v in std),
                  f"{case}: {t}/TEchoStd > 0 in every cell (min {min(std):.3g}, max {max(std):.3g})")
            row = next(r for r in rows if abs(r[0] - float(t)) < 1e-6)
            e = math.sqrt(sum((a - b) ** 2 for a, b in zip(mean, solver))) / math.sqrt(sum(b * b for b in solver))
            check(abs(e - row[2]) <= 1e-6 * row[2], f"{case}: error of the mean at t = {t} recomputed from the fields: {e:.9g} vs {row[2]:.9g}")
            sp = math.sqrt(sum(v * v for v in std)) / math.sqrt(sum(v * v for v in mean))
            check(abs(sp - row[3]) <= 1e-6 * row[3], f"{case}: spread at t = {t} recomputed from the fields: {sp:.9g} vs {row[3]:.9g}")
    for name in ["TEchoMean", "TEchoStd"]:
        d = max(rel_diff(field("parallel-ensemble", t, name), field("serial-ensemble", t, name)) for t in WRITE_TIMES)
        check(d <= TOL, f"ensemble: parallel {name} = serial {name} to {d:.2e} relative (limit {TOL})")
    es, ep = errors("serial-ensemble"), errors("parallel-ensemble")
    d = max(max(abs(a[2] - b[2]) / a[2], abs(a[3] - b[3]) / a[3]) for a, b in zip(es, ep))
    check(d <= TOL, f"ensemble: parallel errors and spreads = serial to {d:.2e} relative")

    # The CLI's --ensemble 4 on the same cells (frames 0..7 at 0.1 .. 0.8): the first segment's
    # write times, at Float32 (the CLI writes Float32; the limit of the ParaView plugin's check
    # against the CLI on an OpenFOAM case, tests/paraview-plugin/check_openfoam.py).
    cli = WORK / "serial-ensemble/cli-ensemble"
    for name, cli_name in [("TEchoMean", "T"), ("TEchoStd", "T_std")]:
        worst = 0.0
        for k, t in [(1, "0.2"), (3, "0.4"), (5, "0.6"), (7, "0.8")]:
            want = vtu_cells(cli / f"frame_{k:04d}.vtu", cli_name)
            got = field("serial-ensemble", t, name)
            check(len(want) == len(got), f"ensemble: the CLI's frame {k} has {len(want)} cells")
            worst = max(worst, max(abs(f32(a) - b) for a, b in zip(got, want)))
        check(worst <= 1e-6, f"ensemble: {name} = the CLI's --ensemble 4 {cli_name} at Float32 (max difference {worst:.2e}, limit 1e-6)")

    # ensemble 1 given is the run without the entry, to the last bit.
    case = "serial-ensemble-1"
    ran_cleanly(case, 1)
    check(error_dat(case) == error_dat("serial-surrogate"), f"{case}: error.dat identical to serial-surrogate's")
    check(all((WORK / case / t / "TEcho").read_bytes() == (WORK / "serial-surrogate" / t / "TEcho").read_bytes() for t in WRITE_TIMES),
          f"{case}: TEcho identical to serial-surrogate's at every write time")
    check(not list((WORK / case).glob("*/TEchoMean")) and "spread" not in log(case), f"{case}: no ensemble output")

    # maxSpread tiny: stops at the first predicted time, before any write; the solver runs on.
    case = "serial-maxspread-tiny"
    text = log(case)
    check(rc(case) == 0 and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: the solver runs to the end")
    check(re.search(r"at t = 0.1 the ensemble spread of T is \S+ > maxSpread 0.001: the surrogate stops forecasting", text) is not None
          and "FOAM Warning" in text and "From now on: no forecasts" in text, f"{case}: a warning names the time, the spread and the threshold")
    check(text.count("forecast 8 frames") == 1 and len(errors(case)) == 1, f"{case}: no forecast, no error row after the stop")
    check(not list((WORK / case).glob("*/TEchoMean")) and not list((WORK / case).glob("*/TEchoStd")), f"{case}: no untrusted TEchoMean/TEchoStd written")

    # maxSpread in mid-run: stops at the first time serial-ensemble's spread exceeds it; what was
    # written before is the serial-ensemble's, nothing after.
    case, limit = "serial-maxspread-mid", 0.45
    text = log(case)
    rows = errors("serial-ensemble")
    stop = next((r[0] for r in rows if r[3] > limit), None)
    if check(stop is not None and stop > 0.2 + 1e-9, f"{case}: serial-ensemble's spread first exceeds {limit} after the first write time (at {stop})"):
        check(rc(case) == 0 and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: the solver runs to the end")
        check(f"at t = {stop:.6g} the ensemble spread of T is" in text and f"> maxSpread {limit:.6g}" in text,
              f"{case}: stopped at t = {stop:.6g}")
        got = errors(case)
        check(got == [r for r in rows if r[0] <= stop + 1e-9], f"{case}: error.dat is serial-ensemble's up to the stop, then nothing")
        before = [t for t in WRITE_TIMES if float(t) < stop - 1e-9]
        check(all(field(case, t, "TEchoMean") == field("serial-ensemble", t, "TEchoMean") for t in before),
              f"{case}: TEchoMean written before the stop ({', '.join(before)}) is serial-ensemble's")
        check(not any((WORK / case / t / "TEchoMean").exists() for t in WRITE_TIMES if t not in before),
              f"{case}: no TEchoMean from t = {stop:.6g} on")
        check(text.count("forecast 8 frames") == (1 if stop <= 0.8 else 2), f"{case}: no forecast after the stop")

    # A vector and a scalar field: both get a mean and a std (vectors component by component, no
    # z in 2D) and a spread column.
    case = "serial-vector-ensemble"
    text = log(case)
    check(rc(case) == 0 and "FOAM Warning" not in text and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: ran cleanly")
    check(len(re.findall(r"relative L2 error U \S+ T \S+, ensemble spread U \S+ T \S+", text)) == 16, f"{case}: an error and a spread per field")
    rows = errors(case)
    check(len(rows) == 16 and all(len(r) == 6 and all(math.isfinite(v) for v in r) and r[4] > 0 and r[5] > 0 for r in rows),
          f"{case}: error.dat has time, lead, U, T, spread(U), spread(T)")
    for t in ["0.4", "1.6"]:
        mean, std = vectors(case, t, "UEchoMean"), vectors(case, t, "UEchoStd")
        check(all(v[2] == 0.0 for v in mean + std) and min(min(v[0], v[1]) for v in std) >= 0 and max(v[0] for v in std) > 0,
              f"{case}: {t}/UEchoMean and UEchoStd in x and y, std >= 0, z = 0")
        row = next(r for r in rows if abs(r[0] - float(t)) < 1e-6)
        sp = math.sqrt(sum(v[0] ** 2 + v[1] ** 2 for v in std)) / math.sqrt(sum(v[0] ** 2 + v[1] ** 2 for v in mean))
        check(abs(sp - row[4]) <= 1e-6 * row[4], f"{case}: U spread at t = {t} recomputed from UEchoStd and UEchoMean: {sp:.9g} vs {row[4]:.9g}")
        check((WORK / case / t / "TEchoMean").is_file() and (WORK / case / t / "TEchoStd").is_file(), f"{case}: {t}/TEchoMean, TEchoStd written")

    # warmStart with an ensemble: the fields get member 0 (the one-member run's state, to the batch's
    # round-off); TEcho is that state, TEchoMean and TEchoStd show the ensemble.
    case = "serial-warmstart-ensemble"
    text = log(case)
    check(rc(case) == 0 and "FOAM Warning" not in text and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: ran cleanly")
    check(re.search(r"warm start at t = 0: replaced 1\(T\) with frame 0 of the generated segment \(parameters DT=0.001\); "
                    r"member 0 of an ensemble of 4, relative spread T \S+ in", text) is not None, f"{case}: warm start from member 0, spread logged")
    check(all((WORK / case / "0.2" / n).is_file() for n in ["TEcho", "TEchoMean", "TEchoStd"]), f"{case}: TEcho, TEchoMean, TEchoStd written")
    d = rel_diff(field(case, "0.2", "TEcho"), field("serial-warmstart", "0.2", "TEcho"))
    check(d <= 1e-4, f"{case}: the state is the one-member warm start's to {d:.2e} relative (batch round-off; limit 1e-4)")
    std = field(case, "0.2", "TEchoStd")
    check(min(std) >= 0 and max(std) > 0, f"{case}: TEchoStd >= 0, not all 0")


def mismatch():
    for case, message in [
        ("mismatch-fields", "has fields [vorticity (1 comp.)], but the case gives [T (1 comp.)]"),
        ("mismatch-fields-parallel", "has fields [vorticity (1 comp.)], but the case gives [T (1 comp.)]"),
        ("mismatch-dim", "is 3D, but the case's mesh is 2D"),
    ]:
        text = log(case)
        check(rc(case) != 0, f"{case}: the run stops (exit {rc(case)})")
        check("FOAM FATAL IO ERROR" in text and message in text, f"{case}: fatal error at read() with the message '{message}'")
        check("[echo-onnx: missing-field]" in text, f"{case}: the message names the core's error kind")
        check(re.search(r"^Time = ", text, re.M) is None, f"{case}: stopped before the first time step")
    text = log("mismatch-warn")
    check(rc("mismatch-warn") == 0 and re.search(r"^End\s*$", text, re.M) is not None, "mismatch-warn: failOnError no lets the solver finish")
    check("FOAM Warning" in text and "but the case gives [T (1 comp.)]" in text and "the solver continues without the surrogate" in text,
          "mismatch-warn: the mismatch is a warning with its message")
    check(not list((WORK / "mismatch-warn").glob("*/TEcho")), "mismatch-warn: no TEcho written")


# Each bad entry of the function object's dictionary, and what the fatal message must say. Before
# these were checked at read(), a warmStartFrame beyond the segment was a warning (the solver exited
# 0 without a warm start even with failOnError yes), steps -3 reached the runtime as
# 18446744073709551613, and a negative interval or a warmStartTime after endTime passed silently.
BAD_ENTRIES = {
    "bad-steps-negative": "entry 'steps': -3 is negative",
    "bad-steps-range": "entry 'steps': steps = 20000 is out of range 1..=10000",
    "bad-steps-type": "entry 'steps': ",
    "bad-horizon": "entry 'horizon': -1 is negative",
    "bad-threads": "entry 'threads': threads = 5000 is out of range 1..=1024",
    "bad-seed": "entry 'seed': -1 is negative",
    "bad-interval": "entry 'interval': -0.5 must be a time > 0",
    "bad-mode": "entry 'mode': 'sideways' is not a mode",
    "bad-method": "entry 'method': method 'heun' is not a sampler method",
    "bad-device": "entry 'device': device: unknown device 'gpu'",
    "bad-parameter": "entry 'parameters': parameter DT = 5 is outside the bundle's range",
    "bad-warmstart-frame": "entry 'warmStartFrame': 9 is not a frame of the generated segment (0 .. 8)",
    "bad-warmstart-time": "entry 'warmStartTime': 5 is after endTime 1.6",
    "bad-ensemble-zero": "entry 'ensemble': ensemble = 0 is out of range 1..=1024",
    "bad-ensemble-negative": "entry 'ensemble': -2 is negative",
    "bad-ensemble-type": "entry 'ensemble': Wrong token type - expected label",
    "bad-maxspread-negative": "entry 'maxSpread': maxSpread = -1 must be a number > 0",
    "bad-maxspread-no-ensemble": "entry 'maxSpread': maxSpread needs an ensemble (ensemble = 1)",
    "bad-warmstart-frame-parallel": "entry 'warmStartFrame': 9 is not a frame of the generated segment (0 .. 8)",
}


def bad_entries():
    for case, message in BAD_ENTRIES.items():
        text = log(case)
        check(rc(case) != 0, f"{case}: the run stops (exit {rc(case)})")
        check("FOAM FATAL IO ERROR" in text and message in text, f"{case}: fatal error at read() with the message '{message}'")
        check(re.search(r"^Time = ", text, re.M) is None, f"{case}: stopped before the first time step")
        check("18446744073709551" not in text, f"{case}: no negative value shown wrapped around")
    for case, message in [
        ("bad-warmstart-frame-warn", "entry 'warmStartFrame': 9 is not a frame of the generated segment"),
        ("bad-steps-warn", "entry 'steps': -3 is negative"),
        ("bad-mode-warn", "entry 'mode': 'sideways' is not a mode"),
    ]:
        text = log(case)
        check(rc(case) == 0 and re.search(r"^End\s*$", text, re.M) is not None, f"{case}: failOnError no lets the solver finish")
        check("FOAM Warning" in text and message in text and "the solver continues without the surrogate" in text,
              f"{case}: the bad entry is a warning with the message '{message}'")
        check("FOAM FATAL" not in text and "warm start at" not in text, f"{case}: no error, no warm start")
        check(not list((WORK / case).glob("*/TEcho")), f"{case}: no TEcho written")


surrogate()
interval()
zero_field()
warmstart()
vector()
ensemble()
mismatch()
bad_entries()
if failures:
    print(f"\n{len(failures)} check(s) failed:")
    for f in failures:
        print("  " + f)
    sys.exit(1)
print("\nall OpenFOAM checks passed")
