"""Checks of the 2D Navier-Stokes data generator (echo_onnx.ns2d) against exact solutions and invariants."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from echo_onnx import ns2d

TWO_PI = 2.0 * np.pi


def grid(n):
    x = np.arange(n) / n
    return x[None, :], x[:, None]  # x along the last axis, y along the one before


def run64(w0, nu, t_final, dt_out, **kw):
    """float64 frames [B, T, n, n] (solve() rounds to float32) and the solver (for its step counts)."""
    solver = ns2d.NavierStokes2D(w0.shape[-1], nu, **kw)
    frames = np.stack([w for _, w in solver.run(w0, t_final, dt_out)], axis=1)
    return frames, solver


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_single_mode_decay():
    """w0 = cos(2 pi k x): a shear flow, the advection term vanishes, w = w0 exp(-nu (2 pi k)^2 t)."""
    n, k, nu = 32, 3, 1e-3
    x, y = grid(n)
    w0 = np.broadcast_to(np.cos(TWO_PI * k * x), (n, n))
    frames, _ = run64(w0[None], nu, 1.0, 0.25, forcing=False, dt_max=0.01)
    t = 0.25 * np.arange(5)
    exact = w0[None, None] * np.exp(-nu * (TWO_PI * k) ** 2 * t)[None, :, None, None]
    assert rel(frames, exact) < 1e-6
    # float32 API output, same check (and frame 0 is w0)
    out = ns2d.solve(w0, nu, 1.0, 0.25, forcing=False, dt_max=0.01)
    assert out.shape == (5, n, n) and out.dtype == np.float32
    assert rel(out[-1].astype(np.float64), exact[0, -1]) < 1e-6
    # a wrong diffusion rate would fail: the decay over t = 1 is 30 %, far above the tolerance
    assert rel(exact[0, -1], w0) > 0.2


def test_laplacian_eigenmode_mixture_decays_exactly():
    """Any combination of modes with one |k| (here |k| = 5: (3,4), (5,0), (4,-3), (0,5)) has
    u . grad w = 0 analytically, through cancellation of nonzero terms; it decays as exp(-nu 4 pi^2 25 t)."""
    n, nu = 32, 1e-3
    x, y = grid(n)
    w0 = (np.cos(TWO_PI * (3 * x + 4 * y)) + 0.7 * np.sin(TWO_PI * 5 * y)
          + 0.5 * np.cos(TWO_PI * (4 * x - 3 * y) + 0.3) - 0.8 * np.sin(TWO_PI * 5 * x))
    frames, _ = run64(w0[None], nu, 0.5, 0.5, forcing=False, dt_max=0.005)
    exact = w0 * np.exp(-nu * TWO_PI**2 * 25 * 0.5)
    assert rel(frames[0, -1], exact) < 1e-6
    # the nonlinear term is evaluated and cancels to round-off (u . grad w is a sum of O(1) terms here)
    solver = ns2d.NavierStokes2D(n, nu, forcing=False)
    n_h, speed = solver.nonlinear(solver.fft(w0[None]))
    assert np.abs(solver.ifft(n_h)).max() < 1e-12 and speed[0] > 0.05


def test_forced_kolmogorov_solution():
    """The forcing depends on x + y only, so the nonlinear term vanishes and, from rest,
    w(t) = f / (8 pi^2 nu) (1 - exp(-8 pi^2 nu t)); w = f / (8 pi^2 nu) is an exact steady state."""
    n, nu = 32, 1e-3
    x, y = grid(n)
    f = 0.1 * (np.sin(TWO_PI * (x + y)) + np.cos(TWO_PI * (x + y)))
    assert np.allclose(ns2d.forcing_field(n), f, atol=1e-15)
    rate = 8 * np.pi**2 * nu
    frames, _ = run64(np.zeros((1, n, n)), nu, 1.0, 0.5, forcing=True, dt_max=0.01)
    exact = f / rate * (1 - np.exp(-rate * np.array([0.0, 0.5, 1.0])))[:, None, None]
    assert rel(frames[0], exact) < 1e-6
    steady, _ = run64((f / rate)[None], nu, 2.0, 1.0, forcing=True)  # CFL steps only
    assert rel(steady[0, -1], f / rate) < 1e-12


def test_inviscid_unforced_invariants():
    """nu = 0, f = 0: mean vorticity conserved to round-off; dealiased Galerkin dynamics conserve energy and
    enstrophy, and the RK3 part only dissipates, so neither grows (and both stay within 1e-4)."""
    n = 64
    w0 = ns2d.grf(2, n, seed=3) + 0.37  # nonzero mean
    frames, solver = run64(w0, 0.0, 1.0, 0.25, forcing=False)
    assert solver.steps.min() >= 5  # the CFL limit, not dt_out, set the steps
    mean = frames.mean(axis=(-2, -1))
    assert np.abs(mean - 0.37).max() < 1e-13
    w_h = ns2d.NavierStokes2D(n, 0.0).fft(frames) * ns2d.dealias_mask(n)
    k = np.fft.fftfreq(n, 1 / n)
    k2 = k[:, None] ** 2 + np.arange(n // 2 + 1)[None, :] ** 2
    weight = np.where(np.arange(n // 2 + 1) == 0, 1.0, 2.0)[None, :]  # rfft half plane
    zeta = np.sum(weight * np.abs(w_h) ** 2 * (k2 > 0), axis=(-2, -1))  # enstrophy (less the mean)
    energy = np.sum(weight * np.abs(w_h) ** 2 * np.where(k2 > 0, 1 / np.maximum(k2, 1), 0), axis=(-2, -1))
    for q in (zeta, energy):
        assert np.all(np.diff(q, axis=1) <= 1e-13 * q[:, :1])
        assert np.all(q[:, -1] > (1 - 1e-4) * q[:, 0])


def test_determinism_and_batch_independence():
    a = ns2d.trajectories(3, 32, 1e-4, 4, 0.2, seed=11, burn_in=0.3)
    b = ns2d.trajectories(3, 32, 1e-4, 4, 0.2, seed=11, burn_in=0.3)
    c = ns2d.trajectories(3, 32, 1e-4, 4, 0.2, seed=12, burn_in=0.3)
    d = ns2d.trajectories(2, 32, 1e-4, 4, 0.2, seed=11, burn_in=0.3)
    assert a.shape == (3, 4, 32, 32) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 0.1 * np.abs(a).max()
    assert np.abs(a[0] - a[1]).max() > 0.1 * np.abs(a).max()  # trajectories of one seed differ
    np.testing.assert_allclose(d, a[:2], rtol=0, atol=1e-6 * np.abs(a).max())  # trajectory b: (seed, b) only
    assert np.array_equal(ns2d.grf(4, 32, 5), ns2d.grf(4, 32, 5))
    # chunks of a larger set (train.data.generate's resumable chunks)
    assert np.array_equal(ns2d.grf(2, 32, 5, first=2), ns2d.grf(4, 32, 5)[2:])
    e = ns2d.trajectories(2, 32, 1e-4, 4, 0.2, seed=11, burn_in=0.3, first=1)
    np.testing.assert_allclose(e, a[1:], rtol=0, atol=1e-6 * np.abs(a).max())


def test_grf_statistics():
    n, batch, alpha, tau = 32, 128, ns2d.ALPHA, ns2d.TAU
    w = ns2d.grf(batch, n, seed=0)
    assert np.abs(w.mean(axis=(-2, -1))).max() < 1e-14  # k = 0 is not drawn
    var = ns2d.grf_variance(n)
    assert abs(w.var() / var - 1) < 0.1
    # shell-averaged power against the model sigma^2 (4 pi^2 k^2 + tau^2)^(-alpha): E |w_k|^2 = 2 n^4 (sigma lam_k)^2
    power = np.abs(np.fft.fft2(w)) ** 2 / n**4
    k = np.fft.fftfreq(n, 1 / n)
    kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    shells = np.arange(1, 12)
    emp = np.array([power[:, (kk >= s - 0.5) & (kk < s + 0.5)].mean() for s in shells])
    model = np.array([(2 * ns2d.grf_spectrum(kk**2, alpha, tau) ** 2)[(kk >= s - 0.5) & (kk < s + 0.5)].mean()
                      for s in shells])
    assert np.all(np.abs(emp / model - 1) < 0.25)
    slope = np.polyfit(np.log(4 * np.pi**2 * shells**2 + tau**2), np.log(emp), 1)[0]
    assert abs(slope + alpha) < 0.1  # power ~ (4 pi^2 k^2 + tau^2)^(-alpha), i.e. k^(-2 alpha) at large k
    # resolution independence: the 32^2 field is the spectral truncation of the 64^2 one
    np.testing.assert_allclose(ns2d.downsample(ns2d.grf(3, 64, seed=0), 2), w[:3], rtol=0, atol=1e-13)


def test_time_step_convergence_second_order():
    """Halving dt_max (which binds: the CFL step is ~0.1 here) shrinks the change at t = 1 by ~4 or more."""
    w0 = ns2d.grf(1, 32, seed=2)
    sols = []
    for dt_max in (0.02, 0.01, 0.005):
        frames, solver = run64(w0, 1e-3, 1.0, 1.0, dt_max=dt_max)
        assert solver.steps[0] == round(1.0 / dt_max)
        sols.append(frames[0, -1])
    e1 = np.linalg.norm(sols[0] - sols[1])
    e2 = np.linalg.norm(sols[1] - sols[2])
    ratio = e1 / e2
    assert 3.5 < ratio < 9.0, ratio  # 4: second order, 8: the explicit RK3 part dominating
    assert e2 / np.linalg.norm(sols[2]) < 1e-5


def test_resolution_consistency():
    """64^2 and 128^2 solves from one band-limited GRF agree after downsampling, at nu = 1e-3 over t = 1."""
    w0_64 = ns2d.grf(1, 64, seed=4, kmax=21)  # the whole 2/3-rule band of the 64 grid
    w0_128 = ns2d.grf(1, 128, seed=4, kmax=21)
    np.testing.assert_allclose(ns2d.downsample(w0_128, 2), w0_64, rtol=0, atol=1e-13)
    a = ns2d.solve(w0_64, 1e-3, 1.0, 1.0, dt_max=0.05)
    b = ns2d.solve(w0_128, 1e-3, 1.0, 1.0, dt_max=0.05)
    err = rel(ns2d.downsample(b[:, -1], 2).astype(np.float64), a[:, -1].astype(np.float64))
    assert err < 1e-3, err
    assert rel(a[:, -1].astype(np.float64), a[:, 0].astype(np.float64)) > 0.05  # the flow did evolve
    # averaging downsampler: block means, consistent with the mean
    avg = ns2d.downsample(b[:, -1], 2, method="average")
    assert avg.shape == (1, 64, 64) and abs(avg.mean() - b[:, -1].mean()) < 1e-6


def test_cli_writes_npz(tmp_path):
    out = tmp_path / "ns.npz"
    args = ["--out", str(out), "--n", "32", "--traj", "2", "--nu", "1e-3", "--frames", "3",
            "--dt-out", "0.1", "--seed", "7", "--burn-in", "0.2"]
    env = dict(os.environ, PYTHONPATH=str(Path(ns2d.__file__).resolve().parents[1]))
    subprocess.run([sys.executable, "-m", "echo_onnx.ns2d", *args], check=True, env=env, capture_output=True)
    z = np.load(out)
    assert z["w"].shape == (2, 3, 32, 32) and z["w"].dtype == np.float32
    np.testing.assert_allclose(z["t"], [0.2, 0.3, 0.4])
    assert float(z["nu"]) == 1e-3 and int(z["seed"]) == 7 and int(z["n"]) == 32
    for key in ("dt_out", "burn_in", "alpha", "tau", "sigma", "cfl", "dt_max", "forcing", "steps", "scheme",
                "dealias", "layout"):
        assert key in z.files, key
    np.testing.assert_array_equal(z["w"], ns2d.trajectories(2, 32, 1e-3, 3, 0.1, 7, burn_in=0.2))
    out2 = tmp_path / "ns2.npz"
    assert ns2d.main([*args[:1], str(out2), *args[2:]]) == 0
    np.testing.assert_array_equal(np.load(out2)["w"], z["w"])


SIGNED_PERMUTATIONS = [((sx, 0), (0, sy)) for sx in (1, -1) for sy in (1, -1)] + \
                      [((0, sx), (sy, 0)) for sx in (1, -1) for sy in (1, -1)]


def test_symmetry_table_is_exactly_the_forcings_invariance_group():
    # Every isometry of the 16^2 lattice (8 signed permutations x 256 shifts) against the forcing:
    # f(g(x)) = det(A) f(x) holds for exactly the (A, s_x + s_y) pairs of ns2d.SYMMETRIES.
    n = 16
    f = ns2d.forcing_field(n)
    table = {a: round(total * n) for a, total in ns2d.SYMMETRIES.values()}
    for a in SIGNED_PERMUTATIONS:
        for sx in range(n):
            for sy in range(n):
                invariant = np.allclose(ns2d.isometry(f, a, (sx, sy)), f, atol=1e-12)
                assert invariant == (a in table and (sx + sy) % n == table[a]), (a, sx, sy)


def test_symmetries_commute_with_the_solver():
    # The transformed initial field evolves into the transformed trajectory (to round-off), for each
    # symmetry with a random free shift; the non-symmetries (a shift along x alone, a 90-degree
    # rotation, w -> -w) do not, so the check can fail.
    n, nu = 32, 1e-4
    w0 = ns2d.grf(2, n, seed=3)
    ref, ref_solver = run64(w0, nu, 1.0, 0.5)
    rng = np.random.default_rng(0)
    for name in ns2d.SYMMETRIES:
        a, shift = ns2d.symmetry(name, n, int(rng.integers(n)))
        got, solver = run64(ns2d.isometry(w0, a, shift), nu, 1.0, 0.5)
        assert rel(got, ns2d.isometry(ref, a, shift)) < 1e-11, name
        assert np.array_equal(solver.steps, ref_solver.steps), name
    broken = {"shift x": lambda w: ns2d.isometry(w, ((1, 0), (0, 1)), (n // 4, 0)),
              "rotate90": lambda w: ns2d.isometry(w, ((0, -1), (1, 0)), (0, 0)),
              "negate": lambda w: -w}
    for name, g in broken.items():
        got, _ = run64(g(w0), nu, 1.0, 0.5)
        assert rel(got[:, -1], g(ref[:, -1])) > 1e-3, name


def test_random_symmetry_draws_every_element_and_needs_n_multiple_of_4():
    rng = np.random.default_rng(1)
    seen = {ns2d.random_symmetry(rng, 8)[0] for _ in range(200)}
    assert seen == {a for a, _ in ns2d.SYMMETRIES.values()}
    with pytest.raises(ValueError, match="multiple of 4"):
        ns2d.symmetry("swap", 30)


def test_generate_resumes_from_cached_chunks(tmp_path, monkeypatch):
    # An interrupted generation keeps its finished chunks; the rerun solves only the missing ones and
    # writes the same data as an uninterrupted run.
    from echo_onnx.train import data
    monkeypatch.setattr(data, "CHUNK", 2)
    args = dict(traj=5, seed=7, n=16, nus=(1e-3, 1e-4), frames=3, dt=0.25, burn_in=0.25)
    data.generate(tmp_path / "full.npz", **args)
    solved = []
    real = ns2d.trajectories

    def interrupted(count, *a, first=0, **kw):
        if len(solved) == 3:
            raise KeyboardInterrupt
        solved.append(first)
        return real(count, *a, first=first, **kw)

    monkeypatch.setattr(ns2d, "trajectories", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.generate(tmp_path / "part.npz", **args)
    assert len(list((tmp_path / "part.npz.chunks").glob("*.npy"))) == 3
    solved.clear()
    monkeypatch.setattr(ns2d, "trajectories", lambda *a, **kw: solved.append(kw["first"]) or real(*a, **kw))
    data.generate(tmp_path / "part.npz", **args)
    assert solved == [0, 2, 4]  # the second viscosity's chunks only
    full, part = data.load(tmp_path / "full.npz"), data.load(tmp_path / "part.npz")
    assert np.array_equal(full["w"], part["w"]) and np.array_equal(full["nu"], part["nu"])
    assert not (tmp_path / "part.npz.chunks").exists()
