import numpy as np
import pytest

from echo_onnx.example import lattice_points
from echo_onnx.grid import Grid, Neighbours, Stencil
from echo_onnx.noise import SplitMix64
from echo_onnx.reference import Forecaster, Runtime, forecast, read_series
from echo_onnx.sampler import integrate
from echo_onnx.testbundle import build_bundle
from echo_onnx.vtkxml import Mesh, write_pvd, write_vtu


def test_neighbours_match_brute_force():
    g = Grid([8, 6], [0.0, 0.0], [1.0, 1.0], [True, False])
    rng = np.random.default_rng(2)
    pts = np.concatenate([rng.random((60, 3)), np.zeros((3, 3))])  # 3 identical points: a tie
    nb = Neighbours(g, pts, k=4, radius=1.5)
    nodes = g.nodes()
    for n in range(len(nodes)):
        off = g.delta(g.wrap(pts)[None, :, :], nodes[n])[0]
        d = np.linalg.norm(off * g.spacing, axis=1)
        order = np.lexsort((np.arange(len(pts)), d))[:4]
        keep = d[order] <= 1.5 * g.spacing.min()
        np.testing.assert_array_equal(nb.mask[n], keep)
        np.testing.assert_array_equal(nb.idx[n][keep], order[keep])
        np.testing.assert_allclose(nb.offsets[n][keep], off[order][keep], atol=1e-6)


def test_stencil_wraps_and_clamps():
    g = Grid([4, 3], [0.0, 0.0], [1.0, 1.0], [True, False])
    s = Stencil(g, np.array([[0.9, 0.6, 0.0], [0.1, 1.2, 0.0]]), 2)
    np.testing.assert_array_equal(s.idx[0], [7, 4, 11, 8])          # x wraps 3 -> 0
    np.testing.assert_allclose(s.offsets[0], [[-0.6, -0.2], [0.4, -0.2], [-0.6, 0.8], [0.4, 0.8]], atol=1e-6)
    np.testing.assert_array_equal(s.idx[1], [8, 9, 8, 9])            # y clamped to the last row
    np.testing.assert_allclose(s.linear_weights()[0], [0.32, 0.48, 0.08, 0.12], atol=1e-6)
    np.testing.assert_allclose(s.linear_weights()[1].sum(), 1.0, atol=1e-6)


def test_forecast_deterministic_and_seeded(bundle, example):
    a = forecast(bundle, example / "input.pvd", 4, seed=5)[1]
    b = forecast(bundle, example / "input.pvd", 4, seed=5)[1]
    c = forecast(bundle, example / "input.pvd", 4, seed=6)[1]
    assert a.shape == (4, 2048, 1) and np.isfinite(a).all()
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
def test_observed_slots_stay_clamped(bundle, example, method):
    rt = Runtime(bundle)
    _, pts, values = read_series(example / "input.pvd", rt.manifest["fields"])
    fc = Forecaster(rt, pts, pts)
    observed, slot_mask = fc.observe(fc.normalise(values[-1:]))
    assert slot_mask.tolist() == [1.0, 0.0, 0.0]
    seen = []

    def velocity(z, r):
        seen.append(z.copy())
        return rt.run("velocity", z=z, observed=observed, slot_mask=slot_mask[None], r=np.array([r]), **fc.params)

    z = integrate(velocity, SplitMix64(0).normal(observed.shape), observed, slot_mask, 4, method)
    assert len(seen) == {"euler": 4, "midpoint": 8, "rk4": 16}[method]
    for x in seen + [z]:
        np.testing.assert_array_equal(x[:, :, 0], observed[:, :, 0])
    assert not np.allclose(z[:, :, 1:], 0)


def test_chaining_gives_h_frames_and_keeps_the_first_segment(bundle, example):
    times, long = forecast(bundle, example / "input.pvd", 20, seed=3)   # 3 segments of 8 new frames
    _, short = forecast(bundle, example / "input.pvd", 8, seed=3)
    assert long.shape == (20, 2048, 1) and np.isfinite(long).all()
    np.testing.assert_allclose(times, 0.2 + 0.1 * np.arange(1, 21))
    assert np.array_equal(long[:8], short)                             # same noise prefix, same segment


def test_query_points_and_options(bundle, example):
    t = {}
    _, v = forecast(bundle, example / "input.pvd", 3, seed=0, steps=3, method="rk4",
                    query_points=lattice_points(20), params={"viscosity": 1e-4}, timings=t)
    assert v.shape == (3, 400, 1) and np.isfinite(v).all()
    assert 0 < t["onnx_s"] < t["total_s"]


@pytest.mark.parametrize("dim,lift,query,params", [(2, "kernel", "linear", False), (3, "learned", "learned", True),
                                                   (3, "kernel", "linear", True)])
def test_other_variants_forecast(tmp_path, dim, lift, query, params):
    build_bundle(tmp_path / "b", dim, lift, query, params)
    rng = np.random.default_rng(0)
    pts = rng.random((1500, 3))
    pts[:, 2] = pts[:, 2] if dim == 3 else 0.0
    pts[:200, 0] = pts[:200, 0] * 0.1 + 5.0  # a few points far off in x: they wrap back into the box
    write_vtu(tmp_path / "f0.vtu", Mesh(pts, {"vorticity": np.sin(6 * pts[:, 0]).astype(np.float32)}))
    write_pvd(tmp_path / "s.pvd", [(0.0, "f0.vtu")])
    _, v = forecast(tmp_path / "b", tmp_path / "s.pvd", 10, seed=1, steps=2)
    assert v.shape == (10, 1500, 1) and np.isfinite(v).all()
