# SPDX-License-Identifier: MIT OR Apache-2.0
"""Running OpenFOAM utilities and reading what they write (ASCII fields, forceCoeffs' coefficient.dat,
the solver log). External processes only."""

import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np

FOAM_DIR = os.environ.get("WM_PROJECT_DIR", "/usr/share/openfoam")


class FoamError(RuntimeError):
    """An OpenFOAM command failed; the message holds the command and the tail of its log."""


def foam_env(extra_lib_dirs=()) -> dict:
    env = dict(os.environ)
    env.setdefault("WM_PROJECT_DIR", FOAM_DIR)
    libs = [str(d) for d in extra_lib_dirs] + ([env["LD_LIBRARY_PATH"]] if env.get("LD_LIBRARY_PATH") else [])
    if libs:
        env["LD_LIBRARY_PATH"] = ":".join(libs)
    return env


def run(case, args, log: str, env=None) -> float:
    """Run an OpenFOAM command in `case`, output to case/log; returns wall seconds. Raises FoamError
    with the log's tail when it fails (OpenFOAM's FatalError exits non-zero)."""
    case = Path(case)
    t0 = time.monotonic()
    with open(case / log, "w") as out:
        rc = subprocess.run(args, cwd=case, stdout=out, stderr=subprocess.STDOUT,
                            env=env or foam_env()).returncode
    wall = time.monotonic() - t0
    if rc != 0:
        tail = "\n".join((case / log).read_text(errors="replace").splitlines()[-30:])
        raise FoamError(f"{' '.join(map(str, args))} failed (exit {rc}) in {case}; end of {log}:\n{tail}")
    return wall


def time_dirs(case):
    """Time directories of a case, sorted by value (names as written)."""
    out = []
    for d in Path(case).iterdir():
        if d.is_dir():
            try:
                out.append((float(d.name), d.name))
            except ValueError:
                pass
    return [name for _, name in sorted(out)]


def read_internal_field(path, n_cells: int, components: int):
    """internalField of an ASCII volField file as float64 [n_cells, components] (uniform or
    nonuniform)."""
    text = Path(path).read_text()
    i = text.index("internalField")
    m = re.compile(r"internalField\s+(uniform|nonuniform)\s*").match(text, i)
    if m is None:
        raise ValueError(f"{path}: cannot read internalField")
    if m.group(1) == "uniform":
        end = text.index(";", m.end())
        vals = np.array(text[m.end():end].replace("(", " ").replace(")", " ").split(), float)
        return np.tile(vals, (n_cells, 1))[:, :components]
    m2 = re.compile(r"List<\w+>\s*(\d+)\s*\(").match(text, m.end())
    if m2 is None:
        raise ValueError(f"{path}: unexpected internalField format (binary or compressed?)")
    n = int(m2.group(1))
    end = text.index("\n)", m2.end())
    vals = np.array(text[m2.end():end].replace("(", " ").replace(")", " ").split(), float)
    if n != n_cells or vals.size % n:
        raise ValueError(f"{path}: {n} values, expected {n_cells} cells")
    return vals.reshape(n, -1)[:, :components]


def read_coefficients(case, start: str = "0"):
    """forceCoeffs' history: dict of column name -> array, from
    postProcessing/forceCoeffs/<start>/coefficient.dat (v1912's name; older releases wrote
    forceCoeffs.dat, also accepted)."""
    base = Path(case) / "postProcessing/forceCoeffs" / start
    for name in ("coefficient.dat", "forceCoeffs.dat"):
        if (base / name).exists():
            path = base / name
            break
    else:
        raise FileNotFoundError(f"no forceCoeffs output in {base}")
    return read_coefficients_file(path)


def read_coefficients_file(path):
    """Columns of a forceCoeffs .dat file by header name."""
    names, rows = None, []
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            cols = line[1:].split()
            if cols and cols[0] == "Time":
                names = cols
            continue
        if line.strip():
            rows.append([float(v) for v in line.split()])
    if names is None:
        raise ValueError(f"{path}: no '# Time ...' header")
    data = np.array(rows, float).reshape(-1, len(names))
    return {n: data[:, k] for k, n in enumerate(names)}


def log_execution_times(log_path):
    """(simulated time, ExecutionTime s, ClockTime s) per step from a solver log."""
    rows, t = [], None
    for line in Path(log_path).read_text(errors="replace").splitlines():
        if line.startswith("Time = "):
            t = float(line.split()[2])
        elif line.startswith("ExecutionTime = ") and t is not None:
            parts = line.split()
            rows.append((t, float(parts[2]), float(parts[6])))
    return np.array(rows, float).reshape(-1, 3)


def log_courant_max(log_path) -> float:
    vals = re.findall(r"Courant Number mean: \S+ max: (\S+)", Path(log_path).read_text(errors="replace"))
    return max(map(float, vals)) if vals else float("nan")


def log_version(log_path) -> str:
    """OpenFOAM release from the log banner ('Build  : OPENFOAM=1912 patch=200626' -> v1912)."""
    m = re.search(r"OPENFOAM=(\d+)(?: patch=(\d+))?", Path(log_path).read_text(errors="replace"))
    if not m:
        return "unknown"
    return f"v{m.group(1)}" + (f" patch {m.group(2)}" if m.group(2) else "")


def cell_centres(case):
    """Cell centres [P, 2] float64, from postProcess -func writeCellCentres (written into 0/)."""
    run(case, ["postProcess", "-func", "writeCellCentres", "-time", "0"], "log.writeCellCentres")
    c = Path(case) / "0/C"
    n = int(re.search(r"List<vector>\s*(\d+)", c.read_text()).group(1))
    xy = read_internal_field(c, n, 2)
    for name in ("C", "Cx", "Cy", "Cz", "V"):
        (Path(case) / "0" / name).unlink(missing_ok=True)
    return xy
