"""Latent grid geometry, lift neighbourhoods and query stencils (docs/bundle-format.md).

Conventions (the same as src/grid.rs): `shape` per axis in coordinate order, tensors [..., nz, ny, nx]
with flat node index (k ny + j) nx + i; a periodic axis of length L with n nodes has spacing L / n,
otherwise L / (n - 1). Offsets are measured per axis in that axis' spacing ("grid spacings"), on the
nearest periodic image; the lift radius is in units of the smallest spacing.
"""

import itertools

import numpy as np
from scipy.spatial import cKDTree


class Grid:
    def __init__(self, shape, lo, hi, periodic):
        self.dim = len(shape)
        self.shape = np.array(shape, dtype=np.int64)
        self.lo = np.array(lo, dtype=np.float64)
        self.hi = np.array(hi, dtype=np.float64)
        self.periodic = np.array(periodic, dtype=bool)
        self.length = self.hi - self.lo
        self.spacing = self.length / np.where(self.periodic, self.shape, self.shape - 1)

    @classmethod
    def from_manifest(cls, latent_grid: dict, points: np.ndarray):
        """The bundle's grid; a null bbox is fitted to the input points' bounding box."""
        dim, bbox = latent_grid["dim"], latent_grid["bbox"]
        if bbox is None:
            if any(latent_grid["periodic"]):
                raise ValueError("latent_grid.bbox is null, which is not allowed with periodic axes")
            lo, hi = points[:, :dim].min(axis=0), points[:, :dim].max(axis=0)
        else:
            lo, hi = bbox["min"], bbox["max"]
        return cls(latent_grid["shape"], lo, hi, latent_grid["periodic"])

    @property
    def tensor_shape(self):
        """Spatial tensor shape: (nz,) ny, nx."""
        return tuple(int(n) for n in self.shape[::-1])

    def nodes(self) -> np.ndarray:
        """Node positions [n_nodes, dim] in flat-index order (x fastest)."""
        axes = [self.lo[a] + np.arange(self.shape[a]) * self.spacing[a] for a in range(self.dim)]
        mesh = np.meshgrid(*axes[::-1], indexing="ij")
        return np.stack([m.ravel() for m in mesh[::-1]], axis=1)

    def wrap(self, p: np.ndarray) -> np.ndarray:
        """Coordinates [N, >=dim] -> [N, dim], mapped into [lo, hi) on periodic axes."""
        p = p[:, :self.dim].astype(np.float64)
        q = self.lo + np.mod(p - self.lo, self.length)
        q = np.where(q >= self.hi, self.lo, q)  # mod of a tiny negative number can round to L
        return np.where(self.periodic, q, p)

    def delta(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """p - q per axis, nearest periodic image, in grid spacings."""
        d = p - q
        d = np.where(self.periodic, d - self.length * np.round(d / self.length), d)
        return d / self.spacing

    def coords(self, p: np.ndarray) -> np.ndarray:
        """Grid coordinates u (node i sits at u = i) of points [N, >=dim]."""
        return (self.wrap(p) - self.lo) / self.spacing


# lift.footprint "adaptive" (docs/bundle-format.md; src/resample/gather.rs, the same rule and why): the
# local spacing s(p) of an input point is the distance to its (2 dim)-th nearest other point, and a node
# is covered when its nearest point p lies within max(radius x spacing, 2 s(p)) (relative slack below).
SPACING_RANK_PER_DIM = 2
SPACING_FACTOR = 2.0
ADAPTIVE_SLACK = 1e-9


class Neighbours:
    """For every grid node, its K nearest input points per the lift footprint.

    footprint "radius": the K nearest within the lift radius. "adaptive": the K nearest at any distance
    for a covered node (nearest point within max(radius x spacing, 2 x that point's local spacing)), none
    for the others. idx [n_nodes, K] (0 where padded), offsets [n_nodes, K, dim] float32 (neighbour
    minus node, in grid spacings), mask [n_nodes, K] float32. Ties in distance are broken by point index.
    """

    def __init__(self, grid: Grid, points: np.ndarray, k: int, radius: float, footprint: str = "radius"):
        if footprint not in ("radius", "adaptive"):
            raise ValueError(f"lift.footprint {footprint!r} must be 'radius' or 'adaptive'")
        pts = grid.wrap(points) - grid.lo
        nodes = grid.nodes() - grid.lo
        box = np.where(grid.periodic, grid.length, 0.0)  # 0: not periodic (scipy convention)
        tree = cKDTree(pts, boxsize=box if grid.periodic.any() else None)
        r = radius * grid.spacing.min()
        adaptive = footprint == "adaptive"
        # Ask for 2K candidates so that ties at the K-th distance can be ordered by index.
        kq = min(len(pts), 2 * k)
        bound = np.inf if adaptive else r * (1 + 1e-9)
        d, idx = tree.query(nodes, k=kq, distance_upper_bound=bound)
        d, idx = d.reshape(len(nodes), kq), idx.reshape(len(nodes), kq)
        order = np.lexsort((idx, d), axis=-1)[:, :k]
        d, idx = np.take_along_axis(d, order, 1), np.take_along_axis(idx, order, 1)
        if kq < k:  # fewer points than K: pad
            d = np.pad(d, ((0, 0), (0, k - kq)), constant_values=np.inf)
            idx = np.pad(idx, ((0, 0), (0, k - kq)), constant_values=len(pts))
        if adaptive:
            rank = min(len(pts), SPACING_RANK_PER_DIM * grid.dim + 1)  # counting the point itself
            s = tree.query(pts, k=rank)[0].reshape(len(pts), rank)[:, -1]
            reach = np.maximum(r, SPACING_FACTOR * s[idx[:, 0]]) * (1 + ADAPTIVE_SLACK)
            keep = (d[:, :1] <= reach[:, None]) & np.isfinite(d)
        else:
            keep = d <= r
        self.idx = np.where(keep, idx, 0)
        self.mask = keep.astype(np.float32)
        off = grid.delta(pts[self.idx], nodes[:, None, :])
        self.offsets = (off * keep[..., None]).astype(np.float32)

    def coverage(self) -> np.ndarray:
        """[n_nodes] 1 where a node has at least one neighbour (is covered)."""
        return self.mask.max(axis=1)


class Stencil:
    """The query stencil of each point: `s` nodes per axis around its cell, x fastest.

    Along each axis the nodes floor(u) - ceil(s/2) + 1 .. floor(u) + floor(s/2) (for even s the doc's
    floor(u) - s/2 + 1 ..= floor(u) + s/2), wrapped on periodic axes, clamped on the others.
    idx [M, s^dim] flat node indices, offsets [M, s^dim, dim] float32 node minus point in spacings.
    """

    def __init__(self, grid: Grid, points: np.ndarray, s: int):
        u = grid.coords(points)                                        # [M, dim]
        base = np.floor(u).astype(np.int64) - (s + 1) // 2 + 1
        idx = np.zeros((len(u), s ** grid.dim), dtype=np.int64)
        off = np.zeros((len(u), s ** grid.dim, grid.dim))
        # itertools.product varies its last item fastest; reversed, axis 0 (x) is fastest.
        for k, steps in enumerate(itertools.product(range(s), repeat=grid.dim)):
            flat = np.zeros(len(u), dtype=np.int64)
            for a in reversed(range(grid.dim)):
                i = base[:, a] + steps[grid.dim - 1 - a]
                n = grid.shape[a]
                i_node = np.mod(i, n) if grid.periodic[a] else np.clip(i, 0, n - 1)
                off[:, k, a] = (i if grid.periodic[a] else i_node) - u[:, a]
                flat = flat * n + i_node
            idx[:, k] = flat
        self.idx = idx
        self.offsets = off.astype(np.float32)

    def linear_weights(self) -> np.ndarray:
        """Multilinear interpolation weights [M, K] from the offsets (normalised: nodes clamped at a
        non-periodic border share the weight of the nodes they replace)."""
        w = np.prod(np.clip(1.0 - np.abs(self.offsets.astype(np.float64)), 0.0, None), axis=2)
        return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
