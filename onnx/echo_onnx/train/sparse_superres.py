"""Super-resolution from sparse inputs (issue 15, part 2): does the dense output carry content beyond the
input's resolution, better than interpolating the input?

`superres.py` compares the dense output with finer solver runs; at the shipped viscosities the data
lattice already resolves the flow (the fine runs add ~1e-5 of the field), so there is nothing beyond it
to recover. Here the content beyond the input is real: the input is a regular subset of the held-out
lattice (every `stride`-th point per axis, (n / stride)^2 points), the truth is the whole lattice, and
the wavenumbers between the input's Nyquist n / (2 stride) and the data's carry the difference. On held-out
trajectories (the test split), for each stride and viscosity:

- `reconstruction`: frame 0 itself at every lattice point: ECHO (lift from the subset, encode with the
  frame observed, decode, query) against spectral (Fourier zero-padding) and bilinear (periodic)
  upsampling of the subset;
- `forecast`: the next segment's frames at every lattice point from the subset of frame 0: ECHO's dense
  output, against spectral and bilinear upsampling of ECHO's own output at the subset points (the same
  forecast: the latent trajectory does not depend on the output points), and spectral upsampling of the
  input (persistence); rel L2 per frame, averaged over frames and trajectories;
- `band`: energy in the shells k in [n / (2 stride), n / 2) of ECHO's dense forecast over the truth's,
  and the truth's share of the field's norm there (how much there is to recover).

Torch-free (ONNX Runtime through the numpy reference). Results go to metrics.json under
`super_resolution_sparse`; `picture` draws input, ECHO, upsampled input and truth for one case.

    .venv/bin/echo-onnx-train super-res --bundle onnx/bundles/ns2d-vorticity --sparse 2 4 --data DATA
"""

import numpy as np

from ..reference import Forecaster
from .superres import echo_forecast, lattice, radial_spectrum_f64, rel


def spectral_up(c: np.ndarray, n: int) -> np.ndarray:
    """Fourier zero-padding of periodic fields [..., m, m] to [..., n, n] (the Nyquist row and column of
    the m^2 input are dropped: their sign is ambiguous)."""
    m = c.shape[-1]
    f = np.fft.fft2(c.astype(np.float64))
    g = np.zeros(c.shape[:-2] + (n, n), dtype=complex)
    h = m // 2
    for a in (slice(0, h), slice(-h + 1, None)):
        for b in (slice(0, h), slice(-h + 1, None)):
            g[..., a, b] = f[..., a, b]
    return np.real(np.fft.ifft2(g)) * (n / m) ** 2


def bilinear_up(c: np.ndarray, r: int) -> np.ndarray:
    """Periodic bilinear interpolation of fields [..., m, m] sampled at every r-th point to [..., m r, m r]."""
    out = np.zeros(c.shape[:-2] + (c.shape[-2] * r, c.shape[-1] * r))
    right, down = np.roll(c, -1, -1), np.roll(c, -1, -2)
    diag = np.roll(right, -1, -2)
    for a in range(r):
        for b in range(r):
            ty, tx = a / r, b / r
            out[..., a::r, b::r] = (1 - ty) * ((1 - tx) * c + tx * right) + ty * ((1 - tx) * down + tx * diag)
    return out


def band_energy(w: np.ndarray, k_lo: int) -> float:
    """Shell-summed energy of fields [..., n, n] in k_lo <= |k| < n / 2 (mean over fields)."""
    return float(radial_spectrum_f64(w)[k_lo:].sum())


def regular_subset(n: int, stride: int) -> np.ndarray:
    """Flat indices (j n + i, x fastest) of the lattice points with i and j multiples of `stride`."""
    j, i = np.meshgrid(np.arange(0, n, stride), np.arange(0, n, stride), indexing="ij")
    return (j * n + i).ravel()


def reconstruct(rt, w0: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """ECHO's autoencoder on frame w0 [n, n] seen at the points idx, queried at every lattice point:
    the frame observed alone (the other frames of the window unobserved, as a forecast's context)."""
    n = w0.shape[-1]
    pts = lattice(n)
    fc = Forecaster(rt, pts[idx], pts)
    ctx = fc.normalise(w0.reshape(1, -1, 1)[:, idx].astype(np.float32))
    observed, _ = fc.observe(ctx)
    decoded = rt.run("decoder", latent=observed)[0]
    return fc.denormalise(fc.query(decoded.reshape(decoded.shape[0], fc.T, -1), [0], fc.stencil_out))[0, :, 0].reshape(n, n)


def evaluate(rt, test: dict, strides, traj: int, seed=0, log=print) -> dict:
    """The `super_resolution_sparse` entry: {str(stride): {str(nu): rows}} over the first `traj`
    held-out trajectories of each viscosity, from frame 0, one segment."""
    w, nus = test["w"], test["nu"]
    n = w.shape[-1]
    t = rt.manifest["time"]
    horizon = t["frames"] - t["context_frames"]
    out = {"traj_per_nu": traj, "horizon": horizon, "seed": seed, "n": n}
    for stride in strides:
        if n % stride or stride < 2:
            raise ValueError(f"--sparse {stride}: a stride must be >= 2 and divide the data resolution {n}")
        idx, m, k_in = regular_subset(n, stride), n // stride, n // (2 * stride)
        entry = {}
        for nu in np.unique(nus):
            rows = {k: [] for k in ("recon_echo", "recon_spectral", "recon_bilinear", "echo_dense", "echo_coarse_spectral",
                                    "echo_coarse_bilinear", "input_spectral", "band_echo_over_truth", "band_share_truth")}
            for b in np.flatnonzero(nus == nu)[:traj]:
                truth = w[b, :horizon + 1].astype(np.float64)
                coarse0 = truth[0, ::stride, ::stride]
                rows["recon_echo"].append(rel(reconstruct(rt, w[b, 0], idx), truth[0], (0, 1)))
                rows["recon_spectral"].append(rel(spectral_up(coarse0, n), truth[0], (0, 1)))
                rows["recon_bilinear"].append(rel(bilinear_up(coarse0, stride), truth[0], (0, 1)))
                pred = echo_forecast(rt, w[b, 0], nu, horizon, seed=seed + int(b), idx=idx).reshape(horizon, n, n)
                coarse = pred[:, ::stride, ::stride]
                future = truth[1:]
                rows["echo_dense"].append(np.mean(rel(pred, future, (1, 2))))
                rows["echo_coarse_spectral"].append(np.mean(rel(spectral_up(coarse, n), future, (1, 2))))
                rows["echo_coarse_bilinear"].append(np.mean(rel(bilinear_up(coarse, stride), future, (1, 2))))
                rows["input_spectral"].append(np.mean(rel(np.broadcast_to(spectral_up(coarse0, n), future.shape), future, (1, 2))))
                e_true = band_energy(future, k_in)
                rows["band_echo_over_truth"].append(band_energy(pred, k_in) / e_true)
                rows["band_share_truth"].append(np.sqrt(e_true / radial_spectrum_f64(future).sum()))
            entry[f"{nu:g}"] = {k: float(np.mean(v)) for k, v in rows.items()}
            log(f"  stride {stride} ({m}^2 input points) viscosity {nu:g}: {entry[f'{nu:g}']}")
        out[str(stride)] = entry
    return out


def picture(rt, test: dict, stride: int, nu: float, out_png, traj=0, zoom=0.25):
    """Frame 0 of held-out trajectory `traj` of viscosity nu: the input subset, ECHO's reconstruction at
    every lattice point, spectral upsampling of the input, the truth; a zoomed row below."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w, nus = test["w"], test["nu"]
    b = int(np.flatnonzero(np.isclose(nus, nu))[traj])
    n = w.shape[-1]
    truth = w[b, 0].astype(np.float64)
    coarse = truth[::stride, ::stride]
    idx = regular_subset(n, stride)
    panels = [("input: every %d-th point (%d$^2$)" % (stride, n // stride), np.kron(coarse, np.ones((stride, stride)))),
              ("ECHO at every point", reconstruct(rt, w[b, 0], idx)),
              ("spectral upsampling of the input", spectral_up(coarse, n)),
              ("truth (%d$^2$ solver)" % n, truth)]
    lim = np.abs(truth).max()
    z = int(round(zoom * n))
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.2), constrained_layout=True)
    for col, (title, f) in enumerate(panels):
        err = "" if col in (0, 3) else f"\nrel L2 {rel(f, truth, (0, 1)):.3f}"
        for row, (field, ext) in enumerate(((f, [0, 1, 0, 1]), (f[:z, :z], [0, zoom, 0, zoom]))):
            im = axes[row, col].imshow(field, origin="lower", extent=ext, cmap="RdBu_r", vmin=-lim, vmax=lim,
                                       interpolation="nearest")
            axes[row, col].set_xlabel("x")
            axes[row, col].set_ylabel("y")
            axes[row, col].set_title(title + err if row == 0 else f"zoom: [0, {zoom}]$^2$")
    fig.colorbar(im, ax=axes, shrink=0.8, label="vorticity $\\omega$ (nondimensional)")
    fig.suptitle(f"Super-resolution from sparse input: held-out trajectory, viscosity {nu:g}, frame 0")
    fig.savefig(out_png, dpi=80)
    plt.close(fig)


def run(bundle, data_dir, strides, out=None, traj=4, seed=0, threads=1, log=print) -> dict:
    """evaluate + picture (the largest stride, the smallest viscosity: the most to recover), stored into
    OUT/metrics.json's `super_resolution_sparse` and OUT/superres_sparse.png, REPORT.md re-rendered."""
    from pathlib import Path

    from ..reference import Runtime
    from .data import load
    from .report import store_section

    out = Path(bundle if out is None else out)
    rt = Runtime(bundle, threads=threads)
    test = load(Path(data_dir) / "test.npz")
    log(f"super-resolution from sparse inputs, strides {list(strides)} ...")
    entry = evaluate(rt, test, strides, traj, seed=seed, log=log)
    picture(rt, test, max(strides), float(np.min(test["nu"])), out / "superres_sparse.png")
    store_section(out, "super_resolution_sparse", entry)
    log(f"wrote {out / 'metrics.json'}, {out / 'superres_sparse.png'} and {out / 'REPORT.md'}")
    return entry
