"""The FNO baseline on point data (cylinder-wake): what a user of a grid-based operator does with an
unstructured CFD mesh. The cell values are interpolated onto the bundle's latent grid (linear on the
Delaunay triangulation of the cell centres, the nearest cell outside its hull), an FNO steps the grid
fields one dt at a time from the same single context frame ECHO gets (the Reynolds number as a
constant channel, as ECHO's parameter), and the grid is interpolated back to the cells (bilinear).
The error of that round trip alone is reported next to it (`roundtrip`): the floor of the approach.
"""

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.spatial import Delaunay, cKDTree

from ..grid import Grid, Stencil
from ..manifest import normalise_parameter
from ..model import ModelConfig
from .batches import latent_grid
from .fno import Stepper
from .pointdata import PointDataset, load_split
from .stages import log, run_loop


class GridMap:
    """Fixed linear maps between the points [P, 2] and the nodes of a non-periodic 2D grid."""

    def __init__(self, points: np.ndarray, grid: Grid):
        nodes = grid.nodes()
        tri = Delaunay(points)
        simplex = tri.find_simplex(nodes)
        inside = simplex >= 0
        rows, cols, vals = [], [], []
        t = tri.transform[simplex[inside]]                                       # barycentric coordinates
        b = np.einsum("nij,nj->ni", t[:, :2], nodes[inside] - t[:, 2])
        bary = np.c_[b, 1 - b.sum(1)]
        verts = tri.simplices[simplex[inside]]
        idx = np.flatnonzero(inside)
        for k in range(3):
            rows.append(idx), cols.append(verts[:, k]), vals.append(bary[:, k])
        out = np.flatnonzero(~inside)
        rows.append(out), cols.append(cKDTree(points).query(nodes[out])[1]), vals.append(np.ones(len(out)))
        n = len(nodes)
        self.to_grid = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, len(points)))
        st = Stencil(grid, points, 2)
        w = st.linear_weights().astype(np.float64)
        self.to_points = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(len(points)), w.shape[1]), st.idx.ravel())),
                                       shape=(len(points), n))
        self.shape = grid.tensor_shape

    def grid_frames(self, values: np.ndarray) -> np.ndarray:
        """[F, P, C] -> [F, C, ny, nx] float32."""
        f, _, c = values.shape
        g = self.to_grid @ values.transpose(1, 0, 2).reshape(values.shape[1], -1)           # [nodes, F C]
        return g.reshape(-1, f, c).transpose(1, 2, 0).reshape(f, c, *self.shape).astype(np.float32)

    def point_frames(self, grid_values: np.ndarray) -> np.ndarray:
        """[F, C, ny, nx] -> [F, P, C]."""
        f, c = grid_values.shape[:2]
        x = self.to_points @ grid_values.reshape(f * c, -1).T                                # [P, F C]
        return x.reshape(-1, f, c).transpose(1, 0, 2).astype(np.float32)


def train_fno_points(data_dir, run, steps, batch, lr, minutes=None, seed=0, small=False, unroll=2, modes=(16, 12)):
    """Trains on the grid frames of every training trajectory; the grid is the ECHO run's latent grid
    (run/stage1.pt), the normalisation its per-channel mean and std."""
    torch.manual_seed(seed)
    if not (Path(run) / "stage1.pt").exists():
        raise SystemExit(f"{run}/stage1.pt is missing: the FNO baseline on point data uses the ECHO run's latent grid "
                         "and normalisation; run `echo-onnx-train train --stage 1` with this --run-dir first")
    ck = torch.load(Path(run) / "stage1.pt", map_location="cpu", weights_only=False)
    grid = latent_grid(ModelConfig(**ck["config"]))
    ds: PointDataset = load_split(data_dir, "train")
    gm = GridMap(ds.points, grid)
    mean, std = np.array(ck["norm"]["mean"], np.float32), np.array(ck["norm"]["std"], np.float32)
    t0 = time.perf_counter()
    frames = [torch.from_numpy(gm.grid_frames((v - mean) / std)) for v in ds.series]
    log(f"[fno] {len(frames)} trajectories on the {grid.tensor_shape} grid in {time.perf_counter() - t0:.0f}s")
    spec = ds.param_spec()[0]
    p = torch.tensor(normalise_parameter(ds.param, spec), dtype=torch.float32)
    model = Stepper(small, channels=ds.channels, modes=modes)
    rng = np.random.default_rng(seed)

    def step():
        i = rng.integers(len(frames), size=batch)
        t = [int(rng.integers(len(frames[k]) - unroll)) for k in i]
        x = torch.stack([frames[k][s] for k, s in zip(i, t)])
        pi, loss = p[torch.from_numpy(i)], 0.0
        for u in range(1, unroll + 1):
            x = model(x, pi)
            loss = loss + torch.mean((x - torch.stack([frames[k][s + u] for k, s in zip(i, t)])) ** 2)
        return loss / unroll, {}

    hist = run_loop("fno", model, list(model.parameters()), step, steps, lr, minutes)
    Path(run).mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "small": small, "channels": ds.channels, "modes": list(modes),
                "param": spec, "params": sum(q.numel() for q in model.parameters()),
                "history": {"steps": hist[-1]["step"] if hist else 0, "batch": batch, "unroll": unroll, "log": hist}},
               Path(run) / "fno_points.pt")
    log(f"[fno] {sum(q.numel() for q in model.parameters())} parameters")
    return model


class FnoForecaster:
    """Forecasts with a trained point-data FNO: context [1, P, C] raw -> [H, P, C] raw."""

    def __init__(self, run, points):
        ck = torch.load(Path(run) / "fno_points.pt", map_location="cpu", weights_only=False)
        ae = torch.load(Path(run) / "stage1.pt", map_location="cpu", weights_only=False)
        self.model = Stepper(ck["small"], channels=ck["channels"], modes=ck["modes"]).eval()
        self.model.load_state_dict({k: v for k, v in ck["model"].items() if not k.endswith("_metadata")})
        self.ck, self.spec = ck, ck["param"]
        self.mean, self.std = np.array(ae["norm"]["mean"], np.float32), np.array(ae["norm"]["std"], np.float32)
        self.map = GridMap(points, latent_grid(ModelConfig(**ae["config"])))

    def roundtrip(self, values):
        """The cells -> grid -> cells interpolation alone (raw units)."""
        return self.map.point_frames(self.map.grid_frames(values))

    def forecast(self, context, re, horizon):
        g = torch.from_numpy(self.map.grid_frames((context - self.mean) / self.std))
        p = torch.tensor([normalise_parameter(re, self.spec)], dtype=torch.float32)
        roll = self.model.rollout(g, p, horizon)[0].numpy()
        return self.map.point_frames(roll) * self.std + self.mean
