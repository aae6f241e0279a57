# SPDX-License-Identifier: MIT OR Apache-2.0
"""Training data: kicked pimpleFoam trajectories per Reynolds number, exported at every bundle time
step (0.5) as DIR/{train,test}/Re<Re>.npz, plus one mesh skeleton DIR/mesh/<preset>/ (with VTK) for
later post-processing (forces.py) and DIR/info.json."""

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import case as cs
from . import foam, shedding

# Reynolds numbers: train spans [60, 200]; test values lie inside, none next to another.
PRESETS = {
    "ci": {"mesh": "ci", "train": [80, 160], "test": [120], "end": 6.0},
    "full": {"mesh": "full", "train": [60, 70, 80, 95, 110, 125, 140, 160, 180, 200],
             "test": [75, 118, 170], "end": 75.0},
    # A mesh the model is not trained on: one held-out Re on the `fine` mesh (1.5x per direction).
    "fine-test": {"mesh": "fine", "train": [], "test": [118], "end": 75.0},
}


def re_name(re: float) -> str:
    return f"Re{re:g}"


def write_mesh_skeleton(out, mesh: str):
    """DIR/mesh/<mesh>/: a case with constant/polyMesh, 0/ (uniform start, no kick), system/ (with
    forceCoeffs) and VTK/ (foamToVTK), and points.npy (cell centres). Returns the cell centres."""
    d = Path(out) / "mesh" / mesh
    if d.exists():
        shutil.rmtree(d)
    cs.write_case(d, mesh, 100.0, 1.0, kick=False)
    foam.run(d, ["blockMesh"], "log.blockMesh")
    pts = foam.cell_centres(d)
    foam.run(d, ["foamToVTK", "-time", "0"], "log.foamToVTK")
    np.save(d / "points.npy", pts)
    return pts


def expected_times(end: float):
    n = int(round(end / cs.WRITE_INTERVAL))
    return np.arange(n + 1) * cs.WRITE_INTERVAL


def read_frames(case, times, n_cells: int):
    """U [F, P, 2] and p [F, P] (float32) of the written times."""
    names = {round(float(n), 6): n for n in foam.time_dirs(case)}
    U = np.empty((len(times), n_cells, 2), np.float32)
    p = np.empty((len(times), n_cells), np.float32)
    for k, t in enumerate(times):
        name = names.get(round(float(t), 6))
        if name is None:
            raise FileNotFoundError(f"{case}: no time directory for t = {t:g} (have {sorted(names)[:5]}...)")
        U[k] = foam.read_internal_field(Path(case) / name / "U", n_cells, 2)
        p[k] = foam.read_internal_field(Path(case) / name / "p", n_cells, 1)[:, 0]
    return U, p


def run_trajectory(work, mesh: str, re: float, end: float, kick: bool = True, extra_functions: str = ""):
    """Write, mesh and solve one case; returns (case dir, solver wall s)."""
    d = cs.write_case(work, mesh, re, end, kick, extra_functions)
    foam.run(d, ["blockMesh"], "log.blockMesh")
    wall = foam.run(d, ["pimpleFoam"], "log.pimpleFoam")
    return d, wall


def purge(case):
    """Drop the time directories and the mesh (the export holds what training needs; logs and the
    forceCoeffs history stay)."""
    for name in foam.time_dirs(case):
        shutil.rmtree(Path(case) / name)
    shutil.rmtree(Path(case) / "constant/polyMesh", ignore_errors=True)


def export(npz, case, points, re: float, end: float, mesh: str, wall: float, kick: bool):
    times = expected_times(end)
    U, p = read_frames(case, times, len(points))
    coef = foam.read_coefficients(case)
    log = Path(case) / "log.pimpleFoam"
    info = {"mesh": mesh, "cells": int(len(points)), "deltaT": cs.DT, "kick": kick,
            "kick_omega": cs.KICK_OMEGA if kick else 0.0, "kick_end": cs.KICK_END if kick else 0.0,
            "end": end, "solver_wall_s": round(wall, 2), "courant_max": foam.log_courant_max(log),
            "openfoam": foam.log_version(log), "solver": "pimpleFoam (laminar, PIMPLE 1 outer, 2 correctors)",
            "domain": [cs.X0, cs.X1, cs.Y0, cs.Y1], "D": 2 * cs.RADIUS, "U_inf": cs.U_INF}
    nu = cs.U_INF * 2 * cs.RADIUS / re
    np.savez(npz, points=points, t=times, U=U, p=p, Re=np.float64(re), nu=np.float64(nu),
             cl=np.stack([coef["Time"], coef["Cl"]], 1), cd=np.stack([coef["Time"], coef["Cd"]], 1),
             info=np.array(json.dumps(info, sort_keys=True)))
    return info


def shedding_summary(out, cfg) -> dict:
    """St, lift amplitude and time to developed (shedding.metrics) per exported Reynolds number."""
    res = {}
    for split in ("train", "test"):
        for re in cfg[split]:
            c = np.load(Path(out) / split / f"{re_name(re)}.npz")["cl"]
            res[f"{split}/{re_name(re)}"] = shedding.metrics(c[:, 0], c[:, 1])
    return res


def generate(out, preset: str, workers: int = 2, log=print, resume: bool = False):
    """Run every Reynolds number of the preset (kicked) and export; `workers` solvers at once.
    resume: keep npz files that already exist (after an interrupted run)."""
    cfg = PRESETS[preset]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    points = write_mesh_skeleton(out, cfg["mesh"])
    jobs = [(split, re) for split in ("train", "test") for re in cfg[split]]
    t0 = time.monotonic()

    def one(job):
        split, re = job
        npz = out / split / f"{re_name(re)}.npz"
        if resume and npz.exists():
            log(f"{split} Re {re:g}: kept {npz}")
            return json.loads(str(np.load(npz)["info"]))
        work = out / "runs" / re_name(re)
        if work.exists():
            shutil.rmtree(work)
        d, wall = run_trajectory(work, cfg["mesh"], re, cfg["end"], kick=True)
        (out / split).mkdir(exist_ok=True)
        info = export(npz, d, points, re, cfg["end"], cfg["mesh"], wall, True)
        purge(d)
        log(f"{split} Re {re:g}: {wall:.1f} s solver wall, Courant max {info['courant_max']:.3f} "
            f"({time.monotonic() - t0:.0f} s since start)")
        return info

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        infos = list(pool.map(one, jobs))
    summary = {"preset": preset, "mesh": cfg["mesh"], "cells": int(len(points)), "end": cfg["end"],
               "dt_frames": cs.WRITE_INTERVAL, "deltaT": cs.DT,
               "train": [f"train/{re_name(r)}.npz" for r in cfg["train"]],
               "test": [f"test/{re_name(r)}.npz" for r in cfg["test"]],
               "Re": {"train": cfg["train"], "test": cfg["test"]},
               "mesh_case": f"mesh/{cfg['mesh']}", "openfoam": infos[0]["openfoam"],
               "wall_s": round(time.monotonic() - t0, 1), "workers": workers,
               "shedding": shedding_summary(out, cfg)}
    (out / "info.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
