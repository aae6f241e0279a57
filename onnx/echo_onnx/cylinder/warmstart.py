# SPDX-License-Identifier: MIT OR Apache-2.0
"""The warm-start measurement (see /work/shared/notes/warm-start.md): the same case run three ways
to the same end time, each timed as a whole (model time included) and scored with the same
definition of "developed" (shedding.py):

- cold:   uniform start, no perturbation (what users do);
- kicked: uniform start + the brief wall rotation (what an informed user does);
- warm:   uniform start + echoSurrogate in mode warmStart at t = 0 (the bundle's generated frame).
"""

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import case as cs
from . import foam, shedding

REPO = Path(__file__).resolve().parents[3]


def plugin_lib_dir() -> Path:
    """Directory of libechoSurrogate.so: $ECHO_OPENFOAM_LIB, else the repository's build/openfoam/lib."""
    d = Path(os.environ.get("ECHO_OPENFOAM_LIB", REPO / "build/openfoam/lib"))
    if not (d / "libechoSurrogate.so").exists():
        raise FileNotFoundError(f"{d}/libechoSurrogate.so is missing: run scripts/setup-openfoam.sh "
                                "or set ECHO_OPENFOAM_LIB")
    return d


def echo_function(bundle, re: float, mode: str = "warmStart", threads: int = 1, seed: int = 0) -> str:
    """controlDict entry of the function object (fields U p, parameter Re)."""
    return f"""    echo
    {{
        type echoSurrogate;
        libs ("libechoSurrogate.so");
        mode {mode};
        bundle "{Path(bundle).resolve()}";
        fields (U p);
        parameters {{ Re {re:g}; }}
        threads {threads};
        seed {seed};
        writeControl writeTime;
    }}
"""


def run_one(kind: str, bundle, re: float, out, preset: str, end: float, seed: int = 0) -> dict:
    """One run; returns its timings and shedding metrics."""
    d = Path(out) / kind
    extra = echo_function(bundle, re, "warmStart" if kind == "warm" else "surrogate", seed=seed) \
        if kind in ("warm", "surrogate") else ""
    cs.write_case(d, preset, re, end, kick=(kind == "kicked"), extra_functions=extra, write_interval=end)
    foam.run(d, ["blockMesh"], "log.blockMesh")
    env = foam.foam_env([plugin_lib_dir()]) if extra else None
    t0 = time.monotonic()
    foam.run(d, ["pimpleFoam"], "log.pimpleFoam", env=env)
    wall = time.monotonic() - t0
    c = foam.read_coefficients(d)
    m = shedding.metrics(c["Time"], c["Cl"])
    ex = foam.log_execution_times(d / "log.pimpleFoam")
    res = {"wall_s": round(wall, 2), "execution_s": float(ex[-1, 1]) if len(ex) else None, **m}
    res["wall_s_to_developed"] = res["clock_s_to_developed"] = None
    if m["time_to_developed"] is not None and len(ex):
        k = min(int(np.searchsorted(ex[:, 0], m["time_to_developed"])), len(ex) - 1)
        res["wall_s_to_developed"] = float(ex[k, 1])
        res["clock_s_to_developed"] = float(ex[k, 2])
    if extra:
        res["model_s"] = model_seconds(d / "log.pimpleFoam")
    return res


def model_seconds(log_path) -> float:
    """Seconds echoSurrogate reports for loading the bundle and generating ('ready in', 'in ... s')."""
    text = Path(log_path).read_text(errors="replace")
    return sum(float(v) for v in re.findall(r"^echoSurrogate .*? in (\S+) s$", text, re.M))


def measure(bundle, re: float, out, preset: str = "full", end: float = 150.0, seed: int = 0,
            runs=("cold", "kicked", "warm"), workers: int = 2) -> dict:
    """Run `runs` (at most `workers` solvers at once) and write out/warmstart.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for r in runs:
        if r not in ("cold", "kicked", "warm", "surrogate"):
            raise ValueError(f"unknown run {r!r}: expected cold, kicked, warm or surrogate")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(runs, pool.map(lambda k: run_one(k, bundle, re, out, preset, end, seed), runs)))
    ref = results.get("cold")
    for k, r in results.items():
        if ref and ref["St"] and r["St"]:
            r["St_rel_cold"] = r["St"] / ref["St"]
            r["amplitude_rel_cold"] = r["amplitude"] / ref["amplitude"]
    summary = {"Re": re, "preset": preset, "end": end, "seed": seed, "bundle": str(Path(bundle).resolve()),
               "developed": f"every per-period lift amplitude within {shedding.TOLERANCE:.0%} of the mean "
                            f"of the last {shedding.LAST_PERIODS} periods",
               "wall_s_to_developed": "the log's ExecutionTime (process CPU s, model included) at the "
                                      "developed time; clock_s_to_developed: its ClockTime (wall, 1 s steps)",
               "runs": results}
    (out / "warmstart.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
