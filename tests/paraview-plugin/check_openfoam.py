"""pvpython test of the ECHO Forecast filter on an OpenFOAM result read by ParaView's own OpenFOAM
reader (the internal mesh, cell fields, merged into one unstructured grid): the filter's frames
against the CLI's on the same data (written by ParaView as a .pvd series), the same bundle and seed.
FIELDS (default T) are the bundle's fields, comma-separated, e.g. U,T for a bundle with a vector
field: every component of each is compared (the reader's U has 3 components, a 2D bundle's 2).

Usage: pvpython check_openfoam.py PLUGIN CASE.foam BUNDLE CLI WORK_DIR [FIELDS]
SPDX-License-Identifier: MIT OR Apache-2.0
"""
import subprocess
import sys

from paraview import servermanager as sm
from paraview.simple import *  # noqa: F401,F403
from paraview.vtk.util.numpy_support import vtk_to_numpy

import numpy as np

plugin, foam, bundle, cli, work = sys.argv[1:6]
fields = sys.argv[6].split(",") if len(sys.argv) > 6 else ["T"]
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)


LoadPlugin(plugin, remote=False, ns=globals())
reader = OpenFOAMReader(FileName=foam)
reader.MeshRegions = ["internalMesh"]
reader.CellArrays = fields
reader.Createcelltopointfiltereddata = 0
reader.UpdatePipelineInformation()
merged = MergeBlocks(Input=reader)
in_times = list(reader.TimestepValues)
check(len(in_times) > 1, f"the OpenFOAM reader sees the time steps {in_times}")

# The CLI's input: the same merged grid, every time step, as ParaView writes it (ASCII).
SaveData(f"{work}/foam-input.pvd", proxy=merged, WriteTimeSteps=1, DataMode="Ascii")
subprocess.run([cli, "forecast", "--bundle", bundle, "--input", f"{work}/foam-input.pvd", "--seed", "3",
                "--out", f"{work}/foam-cli", "--force"], check=True)

f = ECHOForecast(Input=merged)
f.BundlePath = bundle
f.Seed = 3
f.UpdatePipelineInformation()
times = list(f.TimestepValues)
ref = PVDReader(FileName=f"{work}/foam-cli/prediction.pvd")
ref_times = list(ref.TimestepValues)
check(len(times) > 0 and np.allclose(times, ref_times), f"output times {times} equal the CLI's {ref_times}")
worst = 0.0
for t in ref_times:
    f.UpdatePipeline(t)
    ref.UpdatePipeline(t)
    for name in fields:
        got = sm.Fetch(f).GetCellData().GetArray(name)
        want = sm.Fetch(ref).GetCellData().GetArray(name)
        if got is None or want is None:
            check(False, f"cell array {name} at time {t} in both outputs")
            continue
        g, w = vtk_to_numpy(got).astype(np.float32), vtk_to_numpy(want).astype(np.float32)
        check(g.shape == w.shape, f"time {t}: {name} {g.shape} cell values, the CLI {w.shape}")
        if g.shape == w.shape:
            worst = max(worst, float(np.max(np.abs(g - w))))
check(worst <= 1e-6, f"every frame on the OpenFOAM mesh equals the CLI's at Float32 (max difference {worst})")
print("FAILED: " + "; ".join(failures) if failures else "all OpenFOAM-reader checks passed", flush=True)
sys.exit(1 if failures else 0)
