"""What the pvpython checks of the ParaView plugin share (check_plugin.py, check_openfoam.py): the
pass/fail account, and a filter's frames against the CLI's output of the same task.

SPDX-License-Identifier: MIT OR Apache-2.0
"""
import sys

import numpy as np
from paraview import servermanager as sm
from paraview.simple import Delete, PVDReader
from paraview.vtk.util.numpy_support import vtk_to_numpy

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def finish(passed):
    """Print the verdict (`passed` when every check held) and exit with it."""
    print("FAILED: " + "; ".join(failures) if failures else passed, flush=True)
    sys.exit(1 if failures else 0)


def worst_difference(proxy, ref_dir, names, what, cells=False):
    """Largest |proxy - CLI| over every time step of `ref_dir/prediction.pvd` and every array in
    `names` (point arrays, or cell arrays with `cells`), the filter's values at Float32 (the CLI's
    precision); None when the time steps differ or an array is missing or of another size."""
    proxy.UpdatePipelineInformation()
    ref = PVDReader(FileName=f"{ref_dir}/prediction.pvd")
    got_times, ref_times = list(proxy.TimestepValues), list(ref.TimestepValues)
    if not check(len(got_times) == len(ref_times) > 0 and np.allclose(got_times, ref_times),
                 f"{what}: output times {got_times} equal the CLI's {ref_times}"):
        return None
    worst = 0.0
    for t in ref_times:
        proxy.UpdatePipeline(t)
        ref.UpdatePipeline(t)
        got, want = sm.Fetch(proxy), sm.Fetch(ref)
        for name in names:
            a, b = ((d.GetCellData() if cells else d.GetPointData()).GetArray(name) for d in (got, want))
            a, b = (None if x is None else vtk_to_numpy(x).astype(np.float32) for x in (a, b))
            if a is None or b is None or a.shape != b.shape:
                check(False, f"{what}: {name} at time {t} in both outputs, of one shape")
                return None
            worst = max(worst, float(np.max(np.abs(a - b))))
    Delete(ref)
    return worst
