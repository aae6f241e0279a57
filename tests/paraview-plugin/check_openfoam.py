"""pvpython test of the ECHO Forecast filter on an OpenFOAM result read by ParaView's own OpenFOAM
reader (the internal mesh, cell fields, merged into one unstructured grid): the filter's frames
against the CLI's on the same data (written by ParaView as a .pvd series), the same bundle and seed.
FIELDS (default T) are the bundle's fields, comma-separated, e.g. U,T for a bundle with a vector
field: every component of each is compared (the reader's U has 3 components, a 2D bundle's 2).

Usage: pvpython check_openfoam.py PLUGIN CASE.foam BUNDLE CLI WORK_DIR [FIELDS]
SPDX-License-Identifier: MIT OR Apache-2.0
"""
import os
import subprocess
import sys

from paraview.simple import *  # noqa: F401,F403

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pvcheck import check, finish, worst_difference  # noqa: E402

plugin, foam, bundle, cli, work = sys.argv[1:6]
fields = sys.argv[6].split(",") if len(sys.argv) > 6 else ["T"]

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
worst = worst_difference(f, f"{work}/foam-cli", fields, "the OpenFOAM mesh", cells=True)
check(worst is not None and worst <= 1e-6, f"every frame on the OpenFOAM mesh equals the CLI's at Float32 (max difference {worst})")
finish("all OpenFOAM-reader checks passed")
