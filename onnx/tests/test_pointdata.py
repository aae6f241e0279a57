"""Training on unstructured, non-periodic, multi-field data with a parameter (the cylinder-wake path),
without OpenFOAM: a synthetic data set in the layout `python -m echo_onnx.cylinder data` writes (cell
centres of a triangulated box with a hole, U and p of a travelling wave, the Reynolds number), every
stage, export, and the Rust CLI on the exported bundle against the PyTorch model for the same seed.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial import Delaunay

from echo_onnx.manifest import load_manifest
from echo_onnx.model import Echo, ModelConfig
from echo_onnx.reference import read_series
from echo_onnx.train import cli
from echo_onnx.train.pointdata import PointWindowSampler, load_split
from echo_onnx.train.stages import load_checkpoint
from echo_onnx.train.torchpipe import forecast as torch_forecast
from echo_onnx.vtkxml import VTK_TRIANGLE, Mesh, write_pvd, write_vtu

from test_train import cli_path


def wave(c, t, re):
    """U [F, P, 2], p [F, P] of a wave travelling in x, its wavenumber set by re."""
    k = 0.2 * (1 + re / 200)
    ph = k * c[None, :, 0] - t[:, None] * 0.8
    env = np.exp(-c[None, :, 1] ** 2 / 4)
    u = np.stack([1 + 0.2 * np.sin(ph) * env, 0.3 * np.cos(ph) * env], -1)
    return u.astype(np.float32), (0.1 * np.sin(ph + 0.3)).astype(np.float32)


def synthetic(out: Path, seed=0, n=700, frames=13):
    """Train Re 60, 80 and test Re 100 on the centroids of a Delaunay mesh of [-5, 15] x [-5, 5]
    minus the unit disc; returns (vertices [V, 2], triangles [E, 3])."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform([-5, -5], [15, 5], size=(4 * n, 2))
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) > 0.5][:n]
    tri = Delaunay(pts).simplices
    c = pts[tri].mean(1)
    t = np.arange(frames) * 0.5
    for split, res in (("train", (60, 80)), ("test", (100,))):
        (out / split).mkdir(parents=True, exist_ok=True)
        for re in res:
            u, p = wave(c, t, re)
            np.savez(out / split / f"Re{re}.npz", points=c, t=t, U=u, p=p, Re=float(re))
    return pts, tri


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("points")
    data, run, bundle = d / "data", d / "run", d / "bundle"
    verts, tris = synthetic(data)
    common = ["--preset", "cylinder-smoke", "--data", str(data), "--run-dir", str(run)]
    for stage in (1, 2, 3):
        assert cli.main(["train", "--stage", str(stage), *common]) == 0
    assert cli.main(["export", "--run-dir", str(run), "--out", str(bundle), "--name", "cylinder-smoke"]) == 0
    return {"dir": d, "data": data, "run": run, "bundle": bundle, "verts": verts, "tris": tris}


def test_loader_stacks_fields_and_sorts_by_parameter(trained):
    ds = load_split(trained["data"], "train")
    assert ds.param.tolist() == [60.0, 80.0] and ds.channels == 3 and ds.dt == 0.5
    u, p = wave(ds.points, np.arange(13) * 0.5, 80)
    np.testing.assert_array_equal(ds.series[1][..., :2], u)
    np.testing.assert_array_equal(ds.series[1][..., 2], p)
    norm = ds.norm()
    assert len(norm["mean"]) == 3 and min(norm["std"]) > 0


def test_loader_refuses_trajectories_on_different_meshes(tmp_path):
    synthetic(tmp_path)
    d = np.load(tmp_path / "train" / "Re80.npz")
    np.savez(tmp_path / "train" / "Re80.npz", **{**dict(d), "points": d["points"] + 1e-3})
    with pytest.raises(ValueError, match="another mesh"):
        load_split(tmp_path, "train")


def test_windows_see_a_fraction_of_the_points_and_normalised_targets(trained):
    ds = load_split(trained["data"], "train")
    cfg = ModelConfig(**{**cli.PRESETS["cylinder-smoke"]["model"], "channels": 3, "bbox": [[-5, -5], [15, 5]],
                         "periodic": [False, False]})
    norm = ds.norm()
    s = PointWindowSampler(ds, cfg, norm, cfg.frames, targets=50, seed=1)
    b = s.window(0, 2, keep=0.5)
    assert b["values"].shape == (cfg.frames, 16 * 8, cfg.neighbours, 3)
    raw = b["target"] * np.array(norm["std"], dtype=np.float32) + np.array(norm["mean"], dtype=np.float32)
    nearest = np.abs(raw[0, :, 2, None] - ds.series[0][2, None, :, 2]).min(axis=1)
    assert nearest.max() < 1e-6   # targets are values of frame 2 at mesh points (up to float32 rounding)
    assert b["param"] == 60.0


def test_manifest_describes_the_data(trained):
    m = load_manifest(trained["bundle"])
    assert [(f["name"], f["components"], f["association"]) for f in m["fields"]] == [("U", 2, "cell"), ("p", 1, "cell")]
    assert m["latent_grid"]["periodic"] == [False, False]
    assert m["latent_grid"]["bbox"] == {"min": [-5.0, -5.0], "max": [15.0, 5.0]}
    assert [(p["name"], p["min"], p["max"]) for p in m["parameters"]] == [("Re", 60.0, 80.0)]
    assert m["time"]["dt"] == 0.5
    ds = load_split(trained["data"], "train")
    np.testing.assert_allclose(m["fields"][1]["std"], ds.norm()["std"][2:])


def test_query_window_makes_the_field_continuous_across_cell_boundaries():
    """With ModelConfig.query_window the decoded field at points approaching a latent-cell boundary
    from both sides converges to one value; without it the learned softmax over the stencil jumps."""
    from echo_onnx.grid import Grid, Stencil

    def jump(window):
        torch.manual_seed(0)
        cfg = ModelConfig(**{**cli.PRESETS["cylinder-smoke"]["model"], "query_window": window, "channels": 3,
                             "bbox": [[0, 0], [1, 1]], "periodic": [False, False]})
        ae = Echo(cfg).ae
        with torch.no_grad():
            for p in ae.query.parameters():
                p.add_(0.5 * torch.randn_like(p))
        grid = Grid(cfg.grid, [0, 0], [1, 1], [False, False])
        feats = torch.randn(1, cfg.decoder_channels, 1, cfg.grid[1], cfg.grid[0])
        x_edge = grid.lo[0] + 7 * grid.spacing[0]            # a node line: a latent-cell boundary in x
        pts = np.array([[x_edge - 1e-6, 0.43], [x_edge + 1e-6, 0.43]])
        st = Stencil(grid, pts, cfg.stencil)
        out = ae.evaluate(feats, torch.from_numpy(st.idx)[None], torch.from_numpy(st.offsets)[None])
        return float((out[0, 0, 0] - out[0, 0, 1]).abs().max()), float(out.abs().mean())

    j_window, scale = jump(True)
    j_plain, _ = jump(False)
    assert j_window < 1e-4 * scale, j_window
    assert j_plain > 1e-2 * scale, j_plain


def write_cell_input(path: Path, verts, tris, u, p, dt):
    """Frames on the triangle mesh as cell data (U as the 3-component vector VTK writers produce)."""
    path.mkdir(parents=True, exist_ok=True)
    pts = np.c_[verts, np.zeros(len(verts))].astype(np.float32)
    n = len(tris)
    cells = (tris.ravel().astype(np.int64), 3 * np.arange(1, n + 1, dtype=np.int64), np.full(n, VTK_TRIANGLE, np.uint8))
    entries = []
    for k in range(len(u)):
        u3 = np.c_[u[k], np.zeros(n, np.float32)]
        write_vtu(path / f"in_{k}.vtu", Mesh(pts, cell_data={"U": u3, "p": p[k]}, cells=cells))
        entries.append((k * dt, f"in_{k}.vtu"))
    write_pvd(path / "input.pvd", entries)


def test_rust_forecast_on_cell_data_matches_the_pytorch_sampler(trained):
    """Two chained segments of the Rust CLI on a mesh with cell data (non-periodic grid, vector and
    scalar field, Re conditioning) vs the PyTorch model with the same seed."""
    d = np.load(trained["data"] / "test" / "Re100.npz")
    inp = trained["dir"] / "input"
    write_cell_input(inp, trained["verts"], trained["tris"], d["U"][:1], d["p"][:1], 0.5)
    m = load_manifest(trained["bundle"])
    horizon = 2 * (m["time"]["frames"] - 1)
    out = trained["dir"] / "rust"
    r = subprocess.run([str(cli_path()), "forecast", "--bundle", str(trained["bundle"]), "--input", str(inp / "input.pvd"),
                        "--horizon", str(horizon), "--seed", "5", "--param", "Re=70", "--out", str(out), "--force",
                        "--json", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["sampling"]["segments"] == 2
    _, _, rust = read_series(out / "prediction.pvd", m["fields"])
    model, _ = load_checkpoint(trained["run"], 3)
    _, mine = torch_forecast(model, trained["bundle"], inp / "input.pvd", horizon, 5, params={"Re": 70.0})
    assert rust.shape == mine.shape == (horizon, len(trained["tris"]), 3)
    err = np.linalg.norm(rust - mine) / np.linalg.norm(mine)
    assert err < 1e-4, f"Rust vs PyTorch relative difference {err:.2e}"
