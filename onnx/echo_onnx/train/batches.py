"""Training batches: windows of trajectories seen through random point sets, as the runtime sees them.

A window's fields (solver resolution n) are upsampled exactly (band-limited) to a `fine` lattice of
`fine_factor` n per side. Input points are a random subset of that lattice, a fraction drawn in
[keep_min, keep_max] of `input_points` (so the lift sees arbitrary offsets, not only grid nodes);
their K nearest neighbours per grid node (per ModelConfig.lift_footprint) come from grid.Neighbours, the code the numpy reference uses
and the Rust runtime mirrors. Targets are fields at other random lattice points, evaluated through the
query stencil (grid.Stencil), so the query head learns to interpolate between nodes.
"""

import numpy as np
import torch

from .. import ns2d
from ..grid import Grid, Neighbours, Stencil
from .data import upsample


def latent_grid(cfg) -> Grid:
    """The latent grid of a model config: its box and periodicity."""
    return Grid(cfg.grid, cfg.bbox[0], cfg.bbox[1], cfg.periodic)


class WindowSampler:
    """Draws batches of (trajectory, start) windows of `frames` frames from data w [N, F, n, n].
    With `augment`, each window is mapped by a random symmetry of the forced equations
    (ns2d.random_symmetry: a trajectory of the equations again, not an approximation of one)."""

    def __init__(self, w, nu, cfg, std, frames, input_points, targets=2048, fine_factor=4,
                 keep=(0.5, 1.0), seed=0, starts_every=1, augment=False):
        self.w, self.nu, self.cfg, self.std = w, nu, cfg, float(std)
        self.frames, self.input_points, self.targets = frames, input_points, targets
        self.fine_factor, self.keep, self.augment = fine_factor, keep, augment
        self.rng = np.random.default_rng(seed)
        self.grid = latent_grid(cfg)
        self.windows = [(i, s) for i in range(w.shape[0]) for s in range(0, w.shape[1] - frames + 1, starts_every)]

    def dense(self, frames, seed):
        """A sampler of whole windows seeing every lattice point (the latents the generator learns)."""
        return WindowSampler(self.w, self.nu, self.cfg, self.std, frames, self.w.shape[-1] ** 2, seed=seed, starts_every=2)

    def points(self, n_fine, count):
        """`count` distinct random points of the n_fine^2 lattice: (flat indices, positions [count, 2])."""
        flat = self.rng.choice(n_fine * n_fine, size=count, replace=False)
        pos = np.stack([flat % n_fine, flat // n_fine], axis=1) / n_fine
        return flat, pos

    def window(self, i, s, keep=None):
        """One window as numpy arrays (see `batch`)."""
        cfg = self.cfg
        win = self.w[i, s:s + self.frames]
        if self.augment:
            win = ns2d.isometry(win, *ns2d.random_symmetry(self.rng, win.shape[-1]))
        fine = upsample(win / self.std, self.fine_factor)                                 # [T, nf, nf]
        nf = fine.shape[-1]
        flat_fine = fine.reshape(self.frames, -1)
        keep = self.rng.uniform(*self.keep) if keep is None else keep
        flat, pos = self.points(nf, max(1, int(round(keep * self.input_points))))
        nb = Neighbours(self.grid, pos, cfg.neighbours, cfg.radius, cfg.lift_footprint)
        vals = flat_fine[:, flat][:, nb.idx] * nb.mask[None]                             # [T, nodes, K]
        qflat, qpos = self.points(nf, self.targets)
        st = Stencil(self.grid, qpos, cfg.stencil)
        return {"values": vals[..., None].astype(np.float32), "offsets": nb.offsets, "mask": nb.mask,
                "q_idx": st.idx, "q_offsets": st.offsets, "target": flat_fine[:, qflat][..., None].astype(np.float32),
                "param": np.float32(self.nu[i])}

    def batch(self, size, keep=None) -> dict:
        """values [B, T, nodes, K, C], offsets [B, nodes, K, D], mask [B, nodes, K], q_idx [B, M, Ks],
        q_offsets [B, M, Ks, D], target [B, T, M, C] (normalised), param [B] (the viscosity); as torch tensors."""
        picks = self.rng.integers(len(self.windows), size=size)
        items = [self.window(*self.windows[p], keep=keep) for p in picks]
        return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
