"""Training data for ECHO: 2D incompressible Navier-Stokes in vorticity form on the periodic unit square.

    dw/dt + u . grad w = nu lap w + f,    u = (dpsi/dy, -dpsi/dx),    lap psi = -w,    (x, y) in [0, 1)^2

The setting is the one of the FNO / neuraloperator Navier-Stokes data: Gaussian-random-field initial
vorticity with covariance sigma^2 (-lap + tau^2)^(-alpha) (alpha 2.5, tau 7, sigma = tau^(alpha - 1)
as in the FNO paper's `GaussianRF`), the constant forcing f = 0.1 (sin(2 pi (x + y)) + cos(2 pi (x + y))),
and viscosity nu (1e-3, 1e-4, 1e-5 are the regimes of interest).

Layout. Fields are arrays [..., n, n] with the last axis along x and the one before along y, as in the
rest of the package (tensors [..., ny, nx]): w[..., j, i] = w(x = i / n, y = j / n). The spectral state is
the scipy `rfft2` of that array (float64 internally, complex128 spectra [..., n, n // 2 + 1]).

Numerics.
- Pseudo-spectral Fourier-Galerkin, 2/3-rule dealiasing: only modes with |kx| < n/3 and |ky| < n/3 are
  kept (initial condition, forcing and the nonlinear term are truncated to that box). Products of two
  such fields are then computed exactly on the n grid, so the semi-discrete system is a Galerkin
  truncation that conserves mean vorticity, energy and enstrophy when nu = 0 and f = 0.
- Nonlinear term in conservative form u . grad w = d(u w)/dx + d(v w)/dy (velocity from the stream
  function psi_k = w_k / (4 pi^2 |k|^2)); its k = 0 mode is exactly zero.
- Time stepping: the low-storage IMEX "RK3-CN" scheme of Spalart, Moser & Rogers (1991, J. Comput. Phys.
  96, 297): three substeps, each Crank-Nicolson on the diffusion (implicit, diagonal in Fourier space)
  and a third-order Runge-Kutta (Williamson form) on advection + forcing. Second order overall, third
  order for the explicit part. It is used instead of Heun/AB2 + CN because its explicit part is stable on
  the imaginary axis (|z| < sqrt 3): Heun and AB2 are weakly unstable there, which at nu = 1e-5 lets the
  fastest-advected dealiased modes grow by up to ~14 %/step at CFL 0.5.
- Step size per trajectory, CFL-limited: h <= cfl * dx / max_x(|u| + |v|) (velocity measured at the
  start of each step; cfl 0.5 keeps the largest dealiased advective frequency at ~1.05 < sqrt 3) and
  h <= dt_max. Each output interval dt_out is split into equal steps chosen from the remaining time,
  so outputs land exactly on t = k dt_out. Each trajectory of a batch takes its own steps (only the
  active ones are advanced), so a trajectory's result does not depend on which others share its batch.

Random initial conditions (`grf`) are resolution independent: the Fourier coefficient of mode (kx, ky)
of trajectory b is drawn from a counter-based SplitMix64 hash of (seed, b, kx, ky). grf(B, 64, seed)
is therefore exactly the 64^2 spectral truncation of grf(B, 1024, seed), and trajectory b does not
depend on the batch size, so a 512^2 / 1024^2 reference run starts from the same field as the
training-resolution one (up to the extra small scales; pass ic_kmax to band-limit both identically).

Results are deterministic: same arguments, same machine and library versions, identical arrays.
"""

import argparse
import math
import sys
import time

import numpy as np
import scipy.fft as sfft

ALPHA = 2.5
TAU = 7.0
CFL = 0.5
FORCING_AMPLITUDE = 0.1
SCHEME = "IMEX RK3-CN (Spalart-Moser-Rogers 1991): CN diffusion, low-storage RK3 advection+forcing"
DEALIAS = "2/3 rule: keep |kx| < n/3 and |ky| < n/3"
LAYOUT = "w[b, t, j, i] = w(x=i/n, y=j/n, t[t]), periodic unit square"

# Spalart-Moser-Rogers coefficients: substep i solves
#   (1 + a_i h L) w_{i+1} = (1 - a_i h L) w_i + h g_i G(w_i) + h z_i G(w_{i-1}),  L = nu |2 pi k|^2,
# with G = f - u . grad w (a_i is both the explicit and the implicit CN weight).
_SMR_G = (8.0 / 15.0, 5.0 / 12.0, 3.0 / 4.0)
_SMR_Z = (0.0, -17.0 / 60.0, -5.0 / 12.0)
_SMR_A = (4.0 / 15.0, 1.0 / 15.0, 1.0 / 6.0)

_U64 = np.uint64
_GAMMA = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_SEED_SALT = _U64(0x4E53324447524631)  # "NS2DGRF1": keeps these streams apart from noise.SplitMix64's


def _mix(z):
    """SplitMix64 output function on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> _U64(30))) * _MIX1
    z = (z ^ (z >> _U64(27))) * _MIX2
    return z ^ (z >> _U64(31))


def _wavenumbers(n):
    """Integer wavenumbers of the rfft2 layout: ky [n, 1] (axis -2), kx [1, n // 2 + 1] (axis -1)."""
    ky = np.fft.fftfreq(n, 1.0 / n).round().astype(np.int64)[:, None]
    kx = np.arange(n // 2 + 1, dtype=np.int64)[None, :]
    return kx, ky


def dealias_mask(n):
    """2/3-rule mask [n, n // 2 + 1] (True = kept): |kx| < n/3 and |ky| < n/3."""
    kx, ky = _wavenumbers(n)
    return (3 * np.abs(kx) < n) & (3 * np.abs(ky) < n)


def grf_sigma(alpha=ALPHA, tau=TAU):
    """The FNO paper's amplitude sigma = tau^(0.5 (2 alpha - d)) with d = 2."""
    return tau ** (0.5 * (2.0 * alpha - 2.0))


def grf_spectrum(k2, alpha=ALPHA, tau=TAU, sigma=None):
    """Per-mode standard deviation sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2) of the GRF (|k|^2 = k2)."""
    sigma = grf_sigma(alpha, tau) if sigma is None else sigma
    return sigma * (4.0 * np.pi**2 * np.asarray(k2, dtype=np.float64) + tau**2) ** (-alpha / 2.0)


def grf_variance(n, alpha=ALPHA, tau=TAU, sigma=None, kmax=None):
    """Pointwise variance of grf(..., n, ...): sum over modes k != 0 drawn of 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha)."""
    k = np.fft.fftfreq(n, 1.0 / n)
    kx, ky = np.meshgrid(k, k)
    keep = (2 * np.abs(kx) < n) & (2 * np.abs(ky) < n) & ((kx != 0) | (ky != 0))
    if kmax is not None:
        keep &= (np.abs(kx) <= kmax) & (np.abs(ky) <= kmax)
    return float(np.sum(2.0 * grf_spectrum(kx**2 + ky**2, alpha, tau, sigma)[keep] ** 2))


def grf(batch, n, seed, alpha=ALPHA, tau=TAU, sigma=None, kmax=None, first=0):
    """Gaussian random fields [batch, n, n] (float64), zero mean, covariance sigma^2 (-lap + tau^2)^(-alpha).

    Same law as the FNO `GaussianRF(2, n, alpha, tau)` sampler: w = sum over k != 0 of
    sqrt(2) sigma lam_k (a_k cos 2 pi k.x - b_k sin 2 pi k.x), lam_k = (4 pi^2 |k|^2 + tau^2)^(-alpha/2),
    a, b standard normal, written here over the half plane of modes (pointwise variance `grf_variance`).
    Modes with |kx| or |ky| >= n/2 (the Nyquist lines) are left out, and with `kmax` also those with
    |kx| > kmax or |ky| > kmax. Coefficients are a counter-based hash of (seed, trajectory, kx, ky), so
    a field does not depend on n (beyond truncation) nor on `batch`; `first` skips that many trajectories
    (grf(B, n, s, first=F) is rows F .. F + B - 1 of grf(F + B, n, s): datasets generated in chunks).
    """
    if seed < 0:
        raise ValueError("seed must be non-negative")
    kx, ky = _wavenumbers(n)
    keep = ((kx > 0) | ((kx == 0) & (ky > 0))) & (2 * kx < n) & (2 * np.abs(ky) < n)
    if kmax is not None:
        keep &= (kx <= kmax) & (np.abs(ky) <= kmax)
    # Resolution-independent mode index: Szudzik pairing of (kx >= 0, zigzag(ky)).
    zy = np.where(ky >= 0, 2 * ky, -2 * ky - 1)
    a_, b_ = np.broadcast_arrays(kx, zy)
    index = np.where(a_ >= b_, a_ * a_ + a_ + b_, a_ + b_ * b_).astype(np.uint64)
    s = _mix(np.array([seed % 2**64], dtype=np.uint64) ^ _SEED_SALT)
    traj = _mix(s + (np.arange(first + 1, first + batch + 1, dtype=np.uint64) * _GAMMA))[:, None, None]  # [B, 1, 1]
    h1 = _mix(traj + (2 * index + 1) * _GAMMA)
    h2 = _mix(traj + (2 * index + 2) * _GAMMA)
    u1 = ((h1 >> _U64(11)).astype(np.float64) + 0.5) / 2.0**53
    u2 = ((h2 >> _U64(11)).astype(np.float64) + 0.5) / 2.0**53
    r = np.sqrt(-2.0 * np.log(u1))
    amp = n * n * grf_spectrum(kx**2 + ky**2, alpha, tau, sigma) * keep
    coef = amp * r * np.exp(2j * np.pi * u2)  # n^2 sigma lam (a + i b), a, b ~ N(0, 1) independent
    # Hermitian symmetry on the kx = 0 column: c(-ky, 0) = conj(c(ky, 0)).
    pos = np.arange(1, (n + 1) // 2)
    coef[:, (-pos) % n, 0] = np.conj(coef[:, pos, 0])
    return sfft.irfft2(coef, s=(n, n))


def forcing_field(n, amplitude=FORCING_AMPLITUDE):
    """The FNO forcing 0.1 (sin(2 pi (x + y)) + cos(2 pi (x + y))) on the n^2 grid, [n, n] (x along the last axis)."""
    x = np.arange(n) / n
    s = x[None, :] + x[:, None]
    return amplitude * (np.sin(2 * np.pi * s) + np.cos(2 * np.pi * s))


# ---------------------------------------------------------------- symmetries
# Augmentation that is physics (issue 14). An isometry g(x) = A x + s of the periodic unit square (A a
# signed permutation, s a shift) maps a vorticity field to w'(x) = det(A) w(g(x)): a reflection reverses
# the sense of rotation. Advection and diffusion commute with every such g, so the equations are
# invariant exactly when the forcing is: f(g(x)) = det(A) f(x). The FNO forcing is a function of x + y
# only, sin + cos of 2 pi (x + y), which leaves four A, each with a fixed value of s_x + s_y (mod 1):
#   identity   (x, y) -> ( x + s_x,  y + s_y)   s_x + s_y = 0     (shifts along (1, -1))
#   swap       (x, y) -> ( y + s_x,  x + s_y)   s_x + s_y = 1/2   (det -1: f(theta + pi) = -f(theta))
#   rotate180  (x, y) -> (-x + s_x, -y + s_y)   s_x + s_y = 1/4   (f(pi/2 - theta) = f(theta))
#   antiswap   (x, y) -> (-y + s_x, -x + s_y)   s_x + s_y = 3/4   (det -1: f(-pi/2 - theta) = -f(theta))
# Not symmetries: shifts along x or y alone, the 90-degree rotations, reflections in x or y, and w -> -w.
# On the n^2 lattice (n a multiple of 4) every one of these maps grid nodes to grid nodes, and the
# solver is equivariant up to round-off: the 2/3-rule box and the CFL step (max |u| + |v|) are invariant
# too. onnx/tests/test_ns2d.py proves each with the solver (and that the non-symmetries fail).
SYMMETRIES = {"identity": (((1, 0), (0, 1)), 0.0), "swap": (((0, 1), (1, 0)), 0.5),
              "rotate180": (((-1, 0), (0, -1)), 0.25), "antiswap": (((0, -1), (-1, 0)), 0.75)}


def isometry(w, a, shift):
    """w'(x) = det(a) w(a x + shift) for fields [..., n, n] (x along the last axis): `a` a signed
    permutation matrix ((a_xx, a_xy), (a_yx, a_yy)), `shift` = (s_x, s_y) in grid cells (integers)."""
    w = np.asarray(w)
    n = w.shape[-1]
    i = np.arange(n)[None, :]
    j = np.arange(n)[:, None]
    src_x = (a[0][0] * i + a[0][1] * j + shift[0]) % n
    src_y = (a[1][0] * i + a[1][1] * j + shift[1]) % n
    det = a[0][0] * a[1][1] - a[0][1] * a[1][0]
    return det * w[..., src_y, src_x]


def symmetry(name, n, shift_x=0):
    """The (a, shift) of SYMMETRIES[name] on the n^2 lattice with the free shift `shift_x` cells."""
    a, total = SYMMETRIES[name]
    if n % 4:
        raise ValueError(f"the forcing's symmetries map the {n}^2 lattice onto itself only for n a multiple of 4")
    return a, (shift_x % n, (round(total * n) - shift_x) % n)


def random_symmetry(rng, n):
    """A uniformly drawn symmetry of the forced equations on the n^2 lattice: (a, shift) for `isometry`."""
    names = list(SYMMETRIES)
    return symmetry(names[rng.integers(len(names))], n, int(rng.integers(n)))


class NavierStokes2D:
    """Batched pseudo-spectral solver on an n^2 grid (see the module docstring for the numerics).

    forcing: True (the FNO forcing), False / None (none) or an array [n, n].
    dt_max: upper bound on the time step (None: CFL only). cfl: CFL number on max(|u| + |v|) h / dx.
    workers: passed to scipy.fft (threads; results do not depend on it).
    """

    def __init__(self, n, nu, forcing=True, dt_max=None, cfl=CFL, workers=None):
        if n < 4 or n % 2:
            raise ValueError("n must be even and >= 4")
        self.n, self.nu, self.cfl, self.workers = int(n), float(nu), float(cfl), workers
        self.dt_max = math.inf if dt_max is None else float(dt_max)
        kx, ky = _wavenumbers(n)
        k2 = (kx**2 + ky**2).astype(np.float64)
        self.mask = dealias_mask(n)
        self.ikx = (2j * np.pi * kx) * self.mask
        self.iky = (2j * np.pi * ky) * self.mask
        with np.errstate(divide="ignore"):
            self.inv_lap = np.where(k2 > 0, 1.0 / (4.0 * np.pi**2 * k2), 0.0)  # psi_k = inv_lap w_k
        self.L = self.nu * 4.0 * np.pi**2 * k2  # diffusion rate per mode
        if forcing is True:
            forcing = forcing_field(n)
        if forcing is None or forcing is False:
            self.f_h = np.zeros((n, n // 2 + 1), dtype=np.complex128)
        else:
            forcing = np.asarray(forcing, dtype=np.float64)
            if forcing.shape != (n, n):
                raise ValueError(f"forcing must be [{n}, {n}], got {forcing.shape}")
            self.f_h = self.fft(forcing) * self.mask
        self.steps = None

    def fft(self, w):
        return sfft.rfft2(w, workers=self.workers)

    def ifft(self, w_h):
        return sfft.irfft2(w_h, s=(self.n, self.n), workers=self.workers)

    def nonlinear(self, w_h):
        """Dealiased spectrum of u . grad w [b, n, n//2+1] and max(|u| + |v|) per trajectory [b]."""
        psi_h = w_h * self.inv_lap
        uvw = self.ifft(np.stack([self.iky * psi_h, -self.ikx * psi_h, w_h]))
        u, v, w = uvw
        flux = self.fft(np.stack([u * w, v * w]))
        n_h = self.ikx * flux[0] + self.iky * flux[1]  # ikx, iky carry the mask
        speed = (np.abs(u) + np.abs(v)).max(axis=(-2, -1))
        return n_h, speed

    def _step(self, w_h, n0, h):
        """One RK3-CN step of sizes h [b] from w_h, given its nonlinear term n0."""
        h = h[:, None, None]
        g_prev = None
        for i in range(3):
            n_h = n0 if i == 0 else self.nonlinear(w_h)[0]
            g = self.f_h - n_h
            ahl = (_SMR_A[i] * h) * self.L
            rhs = (1.0 - ahl) * w_h + (_SMR_G[i] * h) * g
            if g_prev is not None:
                rhs += (_SMR_Z[i] * h) * g_prev
            w_h = rhs / (1.0 + ahl)
            g_prev = g
        return w_h

    def advance(self, w_h, duration):
        """Advance every trajectory of the spectral state w_h [B, n, n//2+1] by `duration`, landing exactly.

        Each trajectory splits its remaining time into equal steps of at most min(dt_max, CFL step),
        re-deciding after every step; finished trajectories are left out of the remaining work.
        """
        w_h = w_h.copy()
        batch = w_h.shape[0]
        if self.steps is None or len(self.steps) != batch:
            self.steps = np.zeros(batch, dtype=np.int64)
        remaining = np.full(batch, float(duration))
        active = np.flatnonzero(remaining > 0)
        while active.size:
            w_a = w_h[active]
            n0, speed = self.nonlinear(w_a)
            if not np.all(np.isfinite(speed)):
                raise FloatingPointError("non-finite velocity: the solution blew up")
            with np.errstate(divide="ignore"):
                h_cfl = np.where(speed > 0, self.cfl / (self.n * speed), math.inf)
            h_max = np.minimum(h_cfl, self.dt_max)
            r = remaining[active]
            m = np.maximum(np.ceil(r / h_max - 1e-9), 1.0)
            h = r / m
            w_h[active] = self._step(w_a, n0, h)
            self.steps[active] += 1
            remaining[active] = np.where(m == 1.0, 0.0, r - h)
            active = active[m > 1.0]
        return w_h

    def run(self, w0, t_final, dt_out):
        """Generator of (t, w [B, n, n] float64) at t = k dt_out, k = 0 .. round(t_final / dt_out).

        Frame 0 is the dealiased w0. Memory-light: only the current state is held (use for 512^2 / 1024^2).
        """
        w0 = np.asarray(w0, dtype=np.float64)
        squeeze = w0.ndim == 2
        if squeeze:
            w0 = w0[None]
        if w0.shape[1:] != (self.n, self.n):
            raise ValueError(f"w0 must be [B, {self.n}, {self.n}], got {w0.shape}")
        count = _frame_count(t_final, dt_out)
        self.steps = np.zeros(w0.shape[0], dtype=np.int64)
        w_h = self.fft(w0) * self.mask
        for k in range(count + 1):
            if k:
                w_h = self.advance(w_h, dt_out)
            w = self.ifft(w_h)
            yield k * dt_out, (w[0] if squeeze else w)


def _frame_count(t_final, dt_out):
    if dt_out <= 0 or t_final < 0:
        raise ValueError("need dt_out > 0 and t_final >= 0")
    count = int(round(t_final / dt_out))
    if abs(count * dt_out - t_final) > 1e-9 * max(1.0, abs(t_final)):
        raise ValueError(f"t_final = {t_final} is not a multiple of dt_out = {dt_out}")
    return count


def solve(w0, nu, t_final, dt_out, forcing=True, dt_max=None, cfl=CFL, workers=None):
    """Solve from w0 [B, n, n] (or [n, n]) to t_final; float32 [B, T, n, n] at t = k dt_out, k = 0 .. T-1.

    T = round(t_final / dt_out) + 1 (t_final must be a multiple of dt_out); frame 0 is the dealiased w0.
    Internal arithmetic is float64. forcing: True (FNO forcing), False (none) or an [n, n] array.
    """
    w0 = np.asarray(w0, dtype=np.float64)
    squeeze = w0.ndim == 2
    w0b = w0[None] if squeeze else w0
    solver = NavierStokes2D(w0b.shape[-1], nu, forcing=forcing, dt_max=dt_max, cfl=cfl, workers=workers)
    count = _frame_count(t_final, dt_out)
    out = np.empty((w0b.shape[0], count + 1) + w0b.shape[1:], dtype=np.float32)
    for k, (_, w) in enumerate(solver.run(w0b, t_final, dt_out)):
        out[:, k] = w
    return out[0] if squeeze else out


def trajectories(n_traj, n, nu, frames, dt_out, seed, burn_in=0.0, *, alpha=ALPHA, tau=TAU, sigma=None,
                 ic_kmax=None, forcing=True, dt_max=None, cfl=CFL, workers=None, return_steps=False, first=0):
    """Seeded trajectories float32 [n_traj, frames, n, n] at t = burn_in + k dt_out, k = 0 .. frames - 1.

    Initial vorticity grf(n_traj, n, seed, alpha, tau, sigma, kmax=ic_kmax), integrated for `burn_in`
    (no output), then `frames` frames every dt_out. Trajectory b only depends on (seed, b), not on
    n_traj; `first` starts at trajectory `first` (chunks of a larger set). With return_steps, also the
    number of time steps each trajectory took [n_traj].
    """
    if frames < 1:
        raise ValueError("frames must be >= 1")
    w0 = grf(n_traj, n, seed, alpha=alpha, tau=tau, sigma=sigma, kmax=ic_kmax, first=first)
    solver = NavierStokes2D(n, nu, forcing=forcing, dt_max=dt_max, cfl=cfl, workers=workers)
    out = np.empty((n_traj, frames, n, n), dtype=np.float32)
    if burn_in > 0:
        w_h = solver.advance(solver.fft(w0) * solver.mask, burn_in)
        steps = solver.steps.copy()
        w0 = solver.ifft(w_h)
    else:
        steps = np.zeros(n_traj, dtype=np.int64)
    for k, (_, w) in enumerate(solver.run(w0, (frames - 1) * dt_out, dt_out)):
        out[:, k] = w
    steps += solver.steps
    return (out, steps) if return_steps else out


def frame_times(frames, dt_out, burn_in=0.0):
    """The times [frames] of trajectories(...)'s frames."""
    return burn_in + dt_out * np.arange(frames, dtype=np.float64)


def downsample(w, factor, method="spectral"):
    """Coarsen fields [..., n, n] to [..., n / factor, n / factor] (same dtype, float64 arithmetic).

    method "spectral" (default): Fourier truncation, keeping the modes |kx|, |ky| < n_c / 2 (the coarse
    Nyquist lines are dropped), i.e. the band-limited interpolant; exact for fields already in that band.
    method "average": mean over factor x factor blocks (cell averages; node (0, 0)'s block is
    [0, factor) along each axis, so it is offset by (factor - 1) / 2 fine spacings).
    """
    w = np.asarray(w)
    n = w.shape[-1]
    if w.shape[-2] != n or factor < 1 or n % factor:
        raise ValueError("need square fields with n divisible by factor")
    if factor == 1:
        return w.copy()
    nc = n // factor
    dtype = w.dtype if np.issubdtype(w.dtype, np.floating) else np.float64
    if method == "average":
        blocks = w.astype(np.float64).reshape(w.shape[:-2] + (nc, factor, nc, factor))
        return blocks.mean(axis=(-3, -1)).astype(dtype)
    if method != "spectral":
        raise ValueError(f"unknown method {method!r}")
    if nc < 2:
        raise ValueError("coarse grid too small")
    w_h = sfft.rfft2(w.astype(np.float64))
    half = nc // 2
    c = np.zeros(w.shape[:-2] + (nc, half + 1), dtype=np.complex128)
    c[..., :half, :half] = w_h[..., :half, :half]
    c[..., nc - half + 1:, :half] = w_h[..., n - half + 1:, :half]
    return (sfft.irfft2(c, s=(nc, nc)) / factor**2).astype(dtype)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m echo_onnx.ns2d",
        description="Seeded 2D Navier-Stokes (vorticity) trajectories from GRF initial conditions into an .npz.")
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--n", type=int, default=64, help="solver grid side (default 64)")
    p.add_argument("--traj", type=int, default=8, help="number of trajectories")
    p.add_argument("--nu", type=float, default=1e-3, help="viscosity")
    p.add_argument("--frames", type=int, default=20, help="frames per trajectory (frame 0 after burn-in)")
    p.add_argument("--dt-out", type=float, default=0.1, help="time between frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--burn-in", type=float, default=0.0, help="time integrated before frame 0")
    p.add_argument("--alpha", type=float, default=ALPHA)
    p.add_argument("--tau", type=float, default=TAU)
    p.add_argument("--ic-kmax", type=int, default=None, help="band-limit the initial GRF to |kx|, |ky| <= this")
    p.add_argument("--cfl", type=float, default=CFL)
    p.add_argument("--dt-max", type=float, default=None, help="upper bound on the time step")
    p.add_argument("--no-forcing", action="store_true", help="unforced (decaying) flow")
    p.add_argument("--downsample", type=int, default=1,
                   help="store the fields spectrally truncated to n / this (solve fine, store coarse)")
    p.add_argument("--workers", type=int, default=None, help="scipy.fft threads")
    a = p.parse_args(argv)

    start = time.perf_counter()
    w, steps = trajectories(a.traj, a.n, a.nu, a.frames, a.dt_out, a.seed, a.burn_in, alpha=a.alpha,
                            tau=a.tau, ic_kmax=a.ic_kmax, forcing=not a.no_forcing, dt_max=a.dt_max,
                            cfl=a.cfl, workers=a.workers, return_steps=True)
    if a.downsample > 1:
        w = downsample(w, a.downsample)
    elapsed = time.perf_counter() - start
    np.savez(
        a.out,
        w=w,
        t=frame_times(a.frames, a.dt_out, a.burn_in),
        nu=np.float64(a.nu),
        seed=np.int64(a.seed),
        n=np.int64(w.shape[-1]),
        n_solve=np.int64(a.n),
        dt_out=np.float64(a.dt_out),
        burn_in=np.float64(a.burn_in),
        alpha=np.float64(a.alpha),
        tau=np.float64(a.tau),
        sigma=np.float64(grf_sigma(a.alpha, a.tau)),
        ic_kmax=np.int64(-1 if a.ic_kmax is None else a.ic_kmax),
        cfl=np.float64(a.cfl),
        dt_max=np.float64(math.inf if a.dt_max is None else a.dt_max),
        forcing=np.bool_(not a.no_forcing),
        forcing_amplitude=np.float64(0.0 if a.no_forcing else FORCING_AMPLITUDE),
        steps=steps,
        scheme=np.str_(SCHEME),
        dealias=np.str_(DEALIAS),
        downsample=np.str_(f"spectral truncation by {a.downsample}" if a.downsample > 1 else "none"),
        layout=np.str_(LAYOUT),
    )
    print(f"wrote {a.out}: w {w.shape} float32, nu={a.nu:g}, seed={a.seed}, "
          f"steps/traj {int(steps.min())}..{int(steps.max())}, {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
