# SPDX-License-Identifier: MIT OR Apache-2.0
"""echo_onnx.cylinder: shedding metrics on synthetic signals, the generated meshes (blockMesh,
checkMesh, cell counts and sizes), the ci data preset end to end, OpenFOAM forces on solver fields
against the solver's own forceCoeffs, and the warm-start driver with a random-weights bundle.
Needs OpenFOAM (scripts/setup-openfoam.sh); does not skip without it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from echo_onnx.cylinder import case as cs
from echo_onnx.cylinder import data, forces, foam, shedding, testbundle, warmstart

os.environ.setdefault("WM_PROJECT_DIR", "/usr/share/openfoam")


def synthetic(st=0.17, amp=0.4, onset=30.0, width=3.0, end=120.0, dt=0.01):
    t = np.arange(0, end, dt)
    env = amp / (1 + np.exp(-(t - onset) / width))
    return t, env * np.sin(2 * np.pi * st * t + 0.3)


def test_shedding_metrics_on_a_growing_sine():
    t, cl = synthetic()
    m = shedding.metrics(t, cl)
    assert m["St"] == pytest.approx(0.17, rel=1e-4)
    assert m["amplitude"] == pytest.approx(0.4, rel=1e-4)
    # the envelope is within 5% of its final value from onset + width ln 19 on; a period counts
    # from its start, whose maximum comes up to one period later
    t95 = 30.0 + 3.0 * np.log(19.0)
    assert t95 - 1 / 0.17 <= m["time_to_developed"] <= t95 + 1 / 0.17


def test_shedding_metrics_with_an_offset_and_no_shedding():
    t, cl = synthetic(st=0.2, amp=1.0, onset=10.0)
    m = shedding.metrics(t, cl + 0.25)
    assert m["St"] == pytest.approx(0.2, rel=1e-4) and m["amplitude"] == pytest.approx(1.0, rel=1e-4)
    assert shedding.metrics(t, 1e-3 * t)["St"] is None


def mesh_case(tmp, preset):
    d = cs.write_case(tmp / preset, preset, 100.0, 1.0, kick=False)
    foam.run(d, ["blockMesh"], "log.blockMesh")
    return d


@pytest.mark.parametrize("preset", ["ci", "full", "fine"])
def test_mesh(tmp_path, preset):
    d = mesh_case(tmp_path, preset)
    foam.run(d, ["checkMesh"], "log.checkMesh")
    log = (d / "log.checkMesh").read_text()
    assert "Mesh OK." in log
    cells = int(re.search(r"cells:\s+(\d+)", log).group(1))
    assert cells == cs.expected_cells(cs.PRESETS[preset])
    lo, hi = {"ci": (1500, 3000), "full": (10000, 14000), "fine": (20000, 30000)}[preset]
    assert lo <= cells <= hi
    if preset == "fine":
        return
    # cell sizes: sqrt(area) <= far everywhere and <= wake in the wake column (5% slack)
    foam.run(d, ["postProcess", "-func", "writeCellVolumes", "-time", "0"], "log.writeCellVolumes")
    size = np.sqrt(foam.read_internal_field(d / "0/V", cells, 1)[:, 0] / cs.DZ)
    xy = foam.cell_centres(d)
    p = cs.PRESETS[preset]
    assert size.max() <= 1.05 * p.far
    wake = (xy[:, 0] > 0) & (np.abs(xy[:, 1]) < 2)
    assert size[wake].max() <= 1.05 * p.wake
    # the model's lift needs cell centres within 0.5 of every point of the box
    g = np.stack(np.meshgrid(np.linspace(cs.X0, cs.X1, 201), np.linspace(cs.Y0, cs.Y1, 101)), -1).reshape(-1, 2)
    g = g[np.hypot(g[:, 0], g[:, 1]) > cs.RADIUS]
    assert cKDTree(xy).query(g)[0].max() < 0.5
    assert xy[:, 0].min() > cs.X0 and xy[:, 0].max() < cs.X1 and np.abs(xy[:, 1]).max() < cs.Y1


@pytest.fixture(scope="module")
def ci_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("cyl-data")
    data.generate(out, "ci", workers=2, log=lambda *a: None)
    return out


def test_ci_data(ci_data, tmp_path):
    info = json.loads((ci_data / "info.json").read_text())
    cfg = data.PRESETS["ci"]
    assert info["train"] == [f"train/Re{r:g}.npz" for r in cfg["train"]]
    assert info["test"] == [f"test/Re{r:g}.npz" for r in cfg["test"]]
    pts = np.load(ci_data / "mesh/ci/points.npy")
    assert (ci_data / "mesh/ci/constant/polyMesh/owner").exists() and (ci_data / "mesh/ci/VTK").is_dir()
    for name in info["train"] + info["test"]:
        z = np.load(ci_data / name)
        F, P = len(z["t"]), len(pts)
        assert np.allclose(z["t"], np.arange(F) * 0.5) and z["t"][-1] == cfg["end"]
        assert z["U"].shape == (F, P, 2) and z["U"].dtype == np.float32
        assert z["p"].shape == (F, P) and z["p"].dtype == np.float32
        assert np.isfinite(z["U"]).all() and np.isfinite(z["p"]).all()
        assert np.array_equal(z["points"], pts)
        assert np.all(z["U"][0] == np.float32([1, 0])) and np.all(z["p"][0] == 0)
        assert z["cl"].shape == (round(cfg["end"] / cs.DT), 2) and z["cd"].shape == z["cl"].shape
        assert float(z["nu"]) == pytest.approx(1 / float(z["Re"]))
        meta = json.loads(str(z["info"]))
        assert meta["kick"] and meta["cells"] == P and meta["courant_max"] < 0.8
        assert np.abs(z["U"][-1]).max() < 3
    # the mesh (and so the points) is deterministic
    again = data.write_mesh_skeleton(tmp_path, "ci")
    assert np.array_equal(again, pts)


def test_forces_reproduce_the_solver(ci_data):
    z = np.load(ci_data / "test/Re120.npz")
    k = [2, 7, 12]
    r = forces.coefficients(ci_data / "mesh/ci", z["U"][k], z["p"][k], float(z["Re"]), times=z["t"][k])
    idx = [int(np.argmin(np.abs(z["cl"][:, 0] - t))) for t in z["t"][k]]
    scale = np.abs(z["cl"][:, 1]).max()
    assert np.allclose(r["Cl"], z["cl"][idx, 1], rtol=1e-3, atol=1e-3 * scale)
    assert np.allclose(r["Cd"], z["cd"][idx, 1], rtol=1e-3)


def test_warmstart_with_a_test_bundle(tmp_path):
    bundle = testbundle.build(tmp_path / "bundle")
    res = warmstart.measure(bundle, 100.0, tmp_path / "ws", preset="ci", end=1.0, workers=2)
    saved = json.loads((tmp_path / "ws/warmstart.json").read_text())
    assert saved["runs"].keys() == {"cold", "kicked", "warm"} == res["runs"].keys()
    for r in saved["runs"].values():
        assert r["wall_s"] > 0
    log = (tmp_path / "ws/warm/log.pimpleFoam").read_text()
    assert "warm start at t = 0: replaced 2(U p)" in log
    assert saved["runs"]["warm"]["model_s"] > 0
    # the warm start replaced the uniform start: U at the end differs from the cold run's
    cold = foam.read_internal_field(tmp_path / "ws/cold/1/U", cs.expected_cells(cs.PRESETS["ci"]), 2)
    warm = foam.read_internal_field(tmp_path / "ws/warm/1/U", len(cold), 2)
    assert np.isfinite(warm).all() and np.abs(warm - cold).max() > 1e-3


def test_cli_help():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-m", "echo_onnx.cylinder", "--help"], capture_output=True,
                         text=True, env=env, check=True).stdout
    for sub in ("data", "forces", "shedding", "warmstart", "test-bundle", "case"):
        assert sub in out
