# SPDX-License-Identifier: MIT OR Apache-2.0
"""A random-weights bundle that matches the cylinder case (fields U with 2 components and p, cell
data, parameter Re in [60, 200], latent grid box [-5, -5]..[15, 5], not periodic, dt 0.5), so the
warm-start driver and the plugin can be tested before the trained bundle exists. Its predictions
are meaningless (they are finite and O(1) after de-normalisation)."""

import json
from pathlib import Path

from .. import testbundle
from ..manifest import dumps_manifest
from . import case as cs

FIELDS = [
    {"name": "U", "components": 2, "units": "m/s", "association": "cell", "mean": [0.9, 0.0], "std": [0.3, 0.3]},
    {"name": "p", "components": 1, "units": "m^2/s^2", "association": "cell", "mean": [0.0], "std": [0.3]},
]
PARAMETER = {"name": "Re", "min": 60.0, "max": 200.0, "default": 100.0, "units": "1"}


def build(out) -> Path:
    """Write the bundle into `out`; returns its path."""
    out = Path(out)
    saved = testbundle.FIELD
    testbundle.FIELD = dict(saved, components=3, mean=[0.0] * 3, std=[1.0] * 3)
    try:
        testbundle.build_bundle(out)
    finally:
        testbundle.FIELD = saved
    m = json.loads((out / "manifest.json").read_text())
    m["name"] = "cylinder-wake-test-" + m["name"]
    m["fields"] = FIELDS
    m["latent_grid"]["bbox"] = {"min": [cs.X0, cs.Y0], "max": [cs.X1, cs.Y1]}
    m["latent_grid"]["periodic"] = [False, False]
    m["time"]["dt"] = cs.WRITE_INTERVAL
    m["parameters"] = [dict(PARAMETER)]
    (out / "manifest.json").write_text(dumps_manifest(m) + "\n")
    return out
