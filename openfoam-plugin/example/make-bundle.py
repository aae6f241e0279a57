#!/usr/bin/env python3
"""Adapt a 2D test bundle (scalar field, from `echo-make-test-bundle`) to this example case: the
field becomes the case's cell field T, the latent grid covers the unit square (not periodic), the
parameter becomes the case's diffusivity DT. Only manifest.json changes: the graphs (and their
sha256) stay as they are, because field names, association, box, periodicity, dt and parameter
names are manifest-only (docs/bundle-format.md).

Usage: make-bundle.py TEST_BUNDLE_DIR OUT_DIR
SPDX-License-Identifier: GPL-3.0-or-later
"""
import json
import shutil
import sys
from pathlib import Path


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    m = json.loads((src / "manifest.json").read_text())
    if m["latent_grid"]["dim"] != 2 or [f["components"] for f in m["fields"]] != [1]:
        sys.exit(f"{src}: needs a 2D bundle with one scalar field")
    m["name"] = "example-T-" + m["name"]
    m["description"] = "Test bundle (random weights) adapted to openfoam-plugin/example: not physics"
    m["fields"][0].update(name="T", units="K", association="cell", mean=[0.25], std=[0.5])
    # A box slightly larger than the case and not aligned with its cells: grid nodes are never
    # equidistant from cell centres by construction.
    m["latent_grid"]["bbox"] = {"min": [-0.0123, -0.0131], "max": [1.0147, 1.0109]}
    m["latent_grid"]["periodic"] = [False, False]
    m["time"]["dt"] = 0.1
    for p in m["parameters"]:
        p.update(name="DT", min=1e-4, max=1e-2, default=1e-3, units="m^2/s")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(src, out)
    (out / "manifest.json").write_text(json.dumps(m, indent=2) + "\n")


if __name__ == "__main__":
    main()
