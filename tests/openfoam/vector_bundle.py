#!/usr/bin/env python3
"""A test bundle for the example case with a vector and a scalar field, (U T): the project's test
bundle generator (echo_onnx.testbundle, random weights) with 3 channels, then the manifest split
into U (2 components, the 2D case's solved directions) and T, cell data, a grid box over the unit
square, and the parameter DT. Run with the project's .venv python.

Usage: vector_bundle.py OUT_DIR. SPDX-License-Identifier: MIT OR Apache-2.0
"""
import json
import sys
from pathlib import Path

from echo_onnx import testbundle
from echo_onnx.manifest import dumps_manifest

out = Path(sys.argv[1])
testbundle.FIELD = dict(testbundle.FIELD, components=3, mean=[0.0] * 3, std=[1.0] * 3)
testbundle.build_bundle(out)
m = json.loads((out / "manifest.json").read_text())
m["name"] = "example-UT-" + m["name"]
m["fields"] = [
    {"name": "U", "components": 2, "units": "m/s", "association": "cell", "mean": [0.5, 0.25], "std": [0.2, 0.2]},
    {"name": "T", "components": 1, "units": "K", "association": "cell", "mean": [0.25], "std": [0.5]},
]
m["latent_grid"]["bbox"] = {"min": [-0.0123, -0.0131], "max": [1.0147, 1.0109]}
m["latent_grid"]["periodic"] = [False, False]
for p in m["parameters"]:
    p.update(name="DT", min=1e-4, max=1e-2, default=1e-3, units="m^2/s")
(out / "manifest.json").write_text(dumps_manifest(m) + "\n")
