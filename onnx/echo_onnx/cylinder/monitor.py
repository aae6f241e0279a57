# SPDX-License-Identifier: MIT OR Apache-2.0
"""Surrogate mode measured: pimpleFoam restarted from a held-out trajectory's developed state with
echoSurrogate in `mode surrogate`, whose live monitor (postProcessing/echo/<t>/error.dat) logs the
relative L2 error of each predicted frame when the solver reaches it. Reports that error against the
lead time, and the wall time of each forecast against the solver's CPU time for the simulated time
it stands for."""

import json
import re
from pathlib import Path

import numpy as np

from . import case as cs
from . import foam, forces
from .warmstart import echo_function, plugin_lib_dir


def read_error_dat(path) -> dict:
    """Columns of error.dat: Time, lead, one per field."""
    rows, names = [], None
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            cols = line.lstrip("#").split()
            if cols and cols[0] == "Time":
                names = cols
            continue
        if line.strip():
            rows.append([float(x) for x in line.split()])
    if names is None or not rows:
        raise ValueError(f"{path}: no header or no rows (did any prediction reach its time?)")
    a = np.array(rows)
    return {n: a[:, i] for i, n in enumerate(names)}


def forecast_seconds(log_path) -> list:
    """Seconds of each echoSurrogate forecast ('forecast N frames from t = ... in S s')."""
    text = Path(log_path).read_text(errors="replace")
    return [float(s) for s in re.findall(r"forecast \d+ frames from t = .*? in (\S+) s$", text, re.M)]


def measure(bundle, npz, out, start: float = 50.0, forecasts: int = 2, horizon: int = 16, threads: int = 2) -> dict:
    """Restart the trajectory `npz` (a data set's test/Re*.npz, on its mesh preset) at `start` and run
    `forecasts` segments of `horizon` frames in surrogate mode; writes out/monitor.json."""
    d = np.load(npz)
    info = json.loads(str(d["info"]))
    re_, dt = float(d["Re"]), float(d["t"][1] - d["t"][0])
    k = int(round(start / dt))
    end = start + forecasts * horizon * dt
    out = Path(out)
    case = out / "case"
    fn = echo_function(bundle, re_, "surrogate", threads).replace(
        "writeControl writeTime;", f"horizon {horizon};\n        interval {horizon * dt:g};\n        writeControl writeTime;")
    cs.write_case(case, info["mesh"], re_, end, kick=False, extra_functions=fn, write_interval=horizon * dt)
    ctl = case / "system/controlDict"
    ctl.write_text(ctl.read_text().replace("startTime 0;", f"startTime {start:g};"))
    foam.run(case, ["blockMesh"], "log.blockMesh")
    forces.write_frames(case, d["U"][k:k + 1], d["p"][k:k + 1], [start])
    wall = foam.run(case, ["pimpleFoam"], "log.pimpleFoam", env=foam.foam_env([plugin_lib_dir()]))
    err = read_error_dat(next((case / "postProcessing").glob("*/*/error.dat")))
    ex = foam.log_execution_times(case / "log.pimpleFoam")
    fc = forecast_seconds(case / "log.pimpleFoam")
    solver_per_unit = float(ex[-1, 1] / (ex[-1, 0] - start)) if len(ex) else None
    leads = sorted(set(np.round(err["lead"], 6)))
    table = {f"{lead:g}": {f: float(np.mean(err[f][np.isclose(err["lead"], lead)])) for f in ("U", "p") if f in err}
             for lead in leads}
    res = {"Re": re_, "start": start, "end": end, "horizon_frames": horizon, "dt": dt, "mesh": info["mesh"],
           "error_by_lead": table, "forecast_s": fc, "solver_cpu_s_per_time_unit": solver_per_unit,
           "solver_cpu_s_per_forecast": solver_per_unit * horizon * dt if solver_per_unit else None,
           "run_wall_s": round(wall, 1), "threads": threads}
    out.mkdir(parents=True, exist_ok=True)
    (out / "monitor.json").write_text(json.dumps(res, indent=1) + "\n")
    return res
