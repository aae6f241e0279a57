"""`echo-onnx-train super-res`: super-resolution from a shipped bundle alone (no run directory, no data,
no PyTorch), at tiny sizes: the shipped ns2d-vorticity bundle with its `test` description shrunk to a
32^2 data lattice and a short burn-in, scored at 64^2 and 128^2."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from echo_onnx import ns2d
from echo_onnx.reference import Runtime
from echo_onnx.train import cli
from echo_onnx.train.superres import echo_forecast, echo_forecast_at, lattice

SHIPPED = Path(__file__).resolve().parents[1] / "bundles" / "ns2d-vorticity"


def tiny_bundle(tmp_path) -> Path:
    b = tmp_path / "bundle"
    shutil.copytree(SHIPPED, b, ignore=shutil.ignore_patterns("example"))
    m = json.loads((b / "metrics.json").read_text())
    m["test"].update(n=32, burn_in=0.5)
    # an entry in the layout `evaluate --super-res N` wrote before (one dict with its own n_fine)
    m["super_resolution"] = {"n_fine": 96, "0.001": {"echo": 0.5, "coarse_truth_upsampled": 1e-3, "frames": 8, "solve_s": 1.0}}
    (b / "metrics.json").write_text(json.dumps(m))
    return b


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_super_res_step_updates_metrics_and_report_only(tmp_path):
    b = tiny_bundle(tmp_path)
    graphs = {p.name: digest(p) for p in b.iterdir() if p.suffix == ".onnx" or p.name == "manifest.json"}
    assert cli.main(["super-res", "--bundle", str(b), "--n", "64", "128"]) == 0
    assert {p.name: digest(p) for p in b.iterdir() if p.suffix == ".onnx" or p.name == "manifest.json"} == graphs
    sr = json.loads((b / "metrics.json").read_text())["super_resolution"]
    assert list(sr) == ["64", "96", "128"], list(sr)  # sorted by n, the old entry kept
    for n_fine in ("64", "128"):
        assert sr[n_fine]["n_fine"] == int(n_fine) and sr[n_fine]["horizon"] == 8
        for nu in ("0.001", "0.0001"):
            v = sr[n_fine][nu]
            assert 0 < v["echo"] < 1, (n_fine, nu, v)
            # the fine reference holds little beyond the 32^2 band, and the 32^2 solver's own run is the
            # same trajectory (1.2 % apart at viscosity 1e-4 after this short burn-in: 32^2 is coarse)
            assert v["coarse_truth_upsampled"] < 1e-2, (n_fine, nu, v)
            assert v["data_solver_vs_fine"] < 5e-2, (n_fine, nu, v)
            assert v["spectrum"]["E_fine_edge_over_peak"] < 1e-6 and v["solver_steps"] > 0
    # the fine run is resolved: doubling n_fine changes neither score beyond solver round-off
    for nu in ("0.001", "0.0001"):
        assert abs(sr["64"][nu]["echo"] - sr["128"][nu]["echo"]) < 0.02
    report = (b / "REPORT.md").read_text()
    for row in ("| 64^2 | 0.001 |", "| 64^2 | 0.0001 |", "| 96^2 | 0.001 | 0.500 |", "| 128^2 | 0.0001 |"):
        assert row in report, row
    assert "echo-onnx-train super-res --bundle onnx/bundles/ns2d-vorticity --n 256 512" in report


def test_fine_reference_truncates_to_the_coarse_solver_run():
    fine = ns2d.trajectories(1, 64, 1e-3, 3, 0.25, 2000, burn_in=0.5, workers=1)[0]
    coarse = ns2d.trajectories(1, 32, 1e-3, 3, 0.25, 2000, burn_in=0.5, workers=1)[0]
    err = np.linalg.norm(ns2d.downsample(fine, 2) - coarse) / np.linalg.norm(coarse)
    assert err < 1e-3, err


def test_chunked_query_equals_the_forecaster(tmp_path):
    """echo_forecast_at (query over chunks of output points) is Forecaster.forecast, across two segments."""
    rt = Runtime(SHIPPED, threads=1)
    w0 = ns2d.downsample(ns2d.trajectories(1, 64, 1e-4, 1, 0.25, 2001, burn_in=0.5, workers=1)[0, 0], 4)
    whole = echo_forecast(rt, w0, 1e-4, 12, seed=3, out_points=lattice(32))
    chunked = echo_forecast_at(rt, w0, 1e-4, 12, 32, seed=3, chunk=100)
    assert chunked.shape == (12, 32 * 32)
    np.testing.assert_array_equal(chunked, whole)


def test_cached_references_are_read_back(tmp_path):
    b, cache = tiny_bundle(tmp_path), tmp_path / "cache"
    assert cli.main(["super-res", "--bundle", str(b), "--n", "64", "--cache", str(cache)]) == 0
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and all(f.startswith("ns2d-n64-") for f in files), files  # one per viscosity
    first = json.loads((b / "metrics.json").read_text())["super_resolution"]["64"]
    assert cli.main(["super-res", "--bundle", str(b), "--n", "64", "--cache", str(cache)]) == 0
    again = json.loads((b / "metrics.json").read_text())["super_resolution"]["64"]
    for nu in ("0.001", "0.0001"):
        for key in ("echo", "coarse_truth_upsampled", "solver_steps", "solve_s"):
            assert again[nu][key] == first[nu][key], (nu, key)
    # The cache is what is used: a poisoned entry changes the score.
    z = dict(np.load(cache / files[0]))
    np.savez(cache / files[0], w=np.zeros_like(z["w"]) + 1.0, steps=z["steps"], solve_s=z["solve_s"])
    assert cli.main(["super-res", "--bundle", str(b), "--n", "64", "--cache", str(cache)]) == 0
    poisoned = json.loads((b / "metrics.json").read_text())["super_resolution"]["64"]
    assert any(poisoned[nu]["echo"] != first[nu]["echo"] for nu in ("0.001", "0.0001"))


def test_shipped_bundle_is_continuous_across_latent_cells():
    """Issue 15: the shipped example's forecast evaluated on the 256^2 lattice (8 points per latent
    cell) has no steps at the latent-cell boundaries. Jump ratio (neighbour differences across a cell
    boundary over those inside) <= 1.3, and the differences by position in the cell within a factor
    PROFILE_BOUND of each other, which a continuous but stair-like output fails (the first head: 3.2
    and 5.6; the continuous 4 x 4 head: 1.01 and 1.07)."""
    from echo_onnx.reference import Forecaster, read_series
    from echo_onnx.train.requery import differences, jump_ratio
    PROFILE_BOUND = 1.3
    rt = Runtime(SHIPPED)
    m = rt.manifest
    _, points, values = read_series(SHIPPED / "example" / "input.pvd", m["fields"])
    fc = Forecaster(rt, points, lattice(256), {"viscosity": 1e-3})
    v = fc.forecast(values[-1:], 1, 0, m["sampler"]["steps"], m["sampler"]["method"])[0, :, 0].reshape(256, 256)
    profile = differences(fc, v)
    assert jump_ratio(profile) <= 1.3, profile
    assert profile.max() / profile.min() <= PROFILE_BOUND, profile


def test_upsampling_baselines_are_exact_where_they_must_be():
    from echo_onnx.train.sparse_superres import bilinear_up, regular_subset, spectral_up
    n, s = 32, 4
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x)  # [j, i]: y rows, x columns, like the data
    band_limited = np.sin(2 * np.pi * 2 * X) * np.cos(2 * np.pi * (X + 2 * Y))  # |k_x|, |k_y| <= 3 < n / (2 s)
    assert np.abs(spectral_up(band_limited[::s, ::s], n) - band_limited).max() < 1e-12
    plane = 0.3 + 2 * X - Y                # linear inside a periodic cell: exact away from the wrap
    up = bilinear_up(plane[::s, ::s], s)
    assert np.abs(up[: n - s, : n - s] - plane[: n - s, : n - s]).max() < 1e-12
    assert np.array_equal(up[::s, ::s], plane[::s, ::s])  # the input points are kept
    idx = regular_subset(n, s)
    assert np.array_equal(band_limited.ravel()[idx], band_limited[::s, ::s].ravel())


def test_sparse_super_res_writes_its_table_and_picture(tmp_path):
    b = tiny_bundle(tmp_path)
    data = tmp_path / "data"
    assert cli.main(["generate-data", "--preset", "smoke", "--out", str(data)]) == 0
    graphs = {p.name: digest(p) for p in b.iterdir() if p.suffix == ".onnx" or p.name == "manifest.json"}
    assert cli.main(["super-res", "--bundle", str(b), "--sparse", "2", "4", "--data", str(data), "--traj", "1"]) == 0
    assert {p.name: digest(p) for p in b.iterdir() if p.suffix == ".onnx" or p.name == "manifest.json"} == graphs
    sp = json.loads((b / "metrics.json").read_text())["super_resolution_sparse"]
    assert sp["n"] == 16 and sp["horizon"] == 8 and {"2", "4"} <= set(sp)
    for s in ("2", "4"):
        for nu, r in sp[s].items():
            assert 0 < r["recon_echo"] < 2 and 0 < r["echo_dense"] < 2, (s, nu, r)
            # the coarse forecast is the dense one at the input points: upsampling it back can only lose
            # what the dense output holds beyond the input's band, and the input's points agree exactly
            assert 0 <= r["band_share_truth"] < 1, (s, nu, r)
    # a coarser input leaves more of the truth beyond its band
    for nu in sp["2"]:
        assert sp["4"][nu]["band_share_truth"] > sp["2"][nu]["band_share_truth"]
        assert sp["4"][nu]["recon_spectral"] >= sp["2"][nu]["recon_spectral"]
    assert (b / "superres_sparse.png").stat().st_size > 10_000
    assert "## Super-resolution from sparse inputs" in (b / "REPORT.md").read_text()


def test_sparse_super_res_refuses_a_stride_that_does_not_divide_the_lattice(tmp_path):
    from echo_onnx.train.sparse_superres import evaluate
    test = {"w": np.zeros((1, 9, 16, 16), dtype=np.float32), "nu": np.array([1e-3])}
    with pytest.raises(ValueError, match="must be >= 2 and divide the data resolution 16"):
        evaluate(Runtime(SHIPPED), test, [3], 1)


def test_sampler_study_converges_per_method_and_reports(tmp_path):
    b = tiny_bundle(tmp_path)
    data = tmp_path / "data"
    assert cli.main(["generate-data", "--preset", "smoke", "--out", str(data)]) == 0
    assert cli.main(["sampler-study", "--bundle", str(b), "--data", str(data), "--traj", "1"]) == 0
    st = json.loads((b / "metrics.json").read_text())["sampler_study"]
    rows = {(r["method"], r["steps"]): r for r in st["configs"]}
    assert rows[("rk4", 10)]["vs_finest"] == 0.0 and rows[("midpoint", 5)]["nfe"] == 10 and rows[("rk4", 3)]["nfe"] == 12
    # more steps of the same method come closer to the converged ODE
    for method, coarse, fine in (("euler", 10, 20), ("midpoint", 5, 10), ("rk4", 3, 5)):
        assert rows[(method, fine)]["vs_finest"] < rows[(method, coarse)]["vs_finest"], method
    for r in st["configs"]:
        for nu in ("0.001", "0.0001"):
            assert all(0 < e < 2 for e in r[nu]["rel_l2"].values()), r
    assert "## Sampler: does a higher order pay" in (b / "REPORT.md").read_text()
