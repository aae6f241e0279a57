"""Trajectories on one fixed unstructured point set (a CFD mesh's cell centres), several fields, one
conditioning parameter: the training side of a bundle such as `cylinder-wake`.

On disk: a directory with `train/` and `test/`, one .npz per trajectory, written by
`python -m echo_onnx.cylinder data` (echo_onnx/cylinder): `points` [P, 2] cell centres, `t` [F],
`U` [F, P, 2], `p` [F, P], `Re`. In memory every trajectory is `values` [F, P, C] with the fields'
components side by side (U_x, U_y, p), in the order the manifest lists the fields.

Batches are windows of a trajectory seen through a random subset of the cell centres (the fraction
kept drawn in [keep_min, keep_max]), as the runtime sees a mesh; targets are other random cell
centres, evaluated through the query stencil. Unlike the NS2D lattice there is nothing finer than the
mesh, so targets are mesh points too.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..grid import Neighbours, Stencil
from .batches import latent_grid

# The fields of an OpenFOAM incompressible case as the bundle names them: U with one component per
# solved direction, p the kinematic pressure. Cell data (association "cell"): what OpenFOAM stores.
FOAM_FIELDS = [{"name": "U", "components": 2, "units": "m/s", "association": "cell"},
               {"name": "p", "components": 1, "units": "m^2/s^2", "association": "cell"}]


@dataclass
class PointDataset:
    points: np.ndarray                 # [P, D] float64
    series: list                       # per trajectory: values [F_i, P, C] float32 (raw units)
    param: np.ndarray                  # [N] the conditioning parameter of each trajectory
    dt: float
    fields: list = field(default_factory=lambda: [dict(f) for f in FOAM_FIELDS])
    parameter: dict = field(default_factory=lambda: {"name": "Re", "units": "U D / nu (diameter, free stream)"})
    bbox: tuple = ((-5.0, -5.0), (15.0, 5.0))
    info: dict = field(default_factory=dict)
    run_info: list = field(default_factory=list)   # per trajectory: the solver run's description (npz `info`)
    description: str = ("ECHO (encode-generate-decode flow-matching operator) for 2D incompressible flow past a "
                        "circular cylinder (diameter 1, free stream 1), trained on OpenFOAM pimpleFoam runs "
                        "(python -m echo_onnx.cylinder data) on the case's cell centres, the Reynolds number as "
                        "parameter; see REPORT.md next to this file for its evaluation.")

    @property
    def channels(self) -> int:
        return sum(f["components"] for f in self.fields)

    def norm(self) -> dict:
        """Per-channel mean and std over every frame and point (the manifest's fields mean/std)."""
        x = np.concatenate([v.reshape(-1, v.shape[-1]) for v in self.series]).astype(np.float64)
        return {"mean": x.mean(0).tolist(), "std": np.maximum(x.std(0), 1e-6).tolist()}

    def param_spec(self) -> list:
        lo, hi = float(self.param.min()), float(self.param.max())
        if lo == hi:
            return []
        return [{"name": self.parameter["name"], "min": lo, "max": hi, "default": float(np.median(self.param)),
                 "units": self.parameter["units"]}]

    def spec(self) -> dict:
        """What the export needs to describe the data (stored in the checkpoints)."""
        return {"fields": self.fields, "bbox": [list(self.bbox[0]), list(self.bbox[1])],
                "periodic": [False] * self.points.shape[1], "dt": self.dt, "points": len(self.points),
                "description": self.description}


def load_split(data_dir, split) -> PointDataset:
    """The trajectories of `data_dir/split/*.npz` (sorted by parameter)."""
    files = sorted(Path(data_dir, split).glob("*.npz"))
    if not files:
        raise FileNotFoundError(f"{Path(data_dir, split)}: no trajectories (*.npz); run `python -m echo_onnx.cylinder data`")
    runs = []
    for f in files:
        d = np.load(f)
        values = np.concatenate([d["U"][..., :2], d["p"][..., None]], axis=-1).astype(np.float32)
        if not np.isfinite(values).all():
            raise ValueError(f"{f}: the solver's fields hold NaN or Inf")
        meta = json.loads(str(d["info"])) if "info" in d.files else {}
        runs.append((float(d["Re"]), d["points"][:, :2].astype(np.float64), values, d["t"], meta))
    runs.sort(key=lambda r: r[0])
    points = runs[0][1]
    for re, pts, *_ in runs:
        if pts.shape != points.shape or not np.array_equal(pts, points):
            raise ValueError(f"{data_dir}/{split}: trajectory Re={re:g} is on another mesh than Re={runs[0][0]:g}")
    t = runs[0][3]
    info_path = Path(data_dir, "info.json")
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    ds = PointDataset(points=points, series=[r[2] for r in runs], param=np.array([r[0] for r in runs]),
                      dt=float(t[1] - t[0]), info=info, run_info=[r[4] for r in runs])
    if "description" in info:
        ds.description = info["description"]
    return ds


class PointWindowSampler:
    """Draws batches of (trajectory, start) windows of `frames` frames; the interface of
    batches.WindowSampler (values, offsets, mask, q_idx, q_offsets, target, param)."""

    def __init__(self, ds: PointDataset, cfg, norm: dict, frames: int, targets=2048, keep=(0.5, 1.0), seed=0,
                 starts_every=1, first_start=0):
        self.ds, self.cfg, self.frames, self.targets, self.keep = ds, cfg, frames, targets, keep
        self.mean = np.asarray(norm["mean"], dtype=np.float32)
        self.std = np.asarray(norm["std"], dtype=np.float32)
        self.rng = np.random.default_rng(seed)
        self.grid = latent_grid(cfg)
        self.windows = [(i, s) for i, v in enumerate(ds.series)
                        for s in range(first_start, len(v) - frames + 1, starts_every)]

    def dense(self, frames, seed):
        """A sampler of whole windows seeing every point (the latents the generator learns)."""
        return PointWindowSampler(self.ds, self.cfg, {"mean": self.mean, "std": self.std}, frames, seed=seed,
                                  starts_every=2)

    def window(self, i, s, keep=None):
        cfg, pts = self.cfg, self.ds.points
        vals = (self.ds.series[i][s:s + self.frames] - self.mean) / self.std           # [T, P, C]
        keep = self.rng.uniform(*self.keep) if keep is None else keep
        count = max(1, int(round(keep * len(pts))))
        inp = np.sort(self.rng.choice(len(pts), size=count, replace=False)) if count < len(pts) else np.arange(len(pts))
        nb = Neighbours(self.grid, pts[inp], cfg.neighbours, cfg.radius, cfg.lift_footprint)
        gathered = vals[:, inp][:, nb.idx] * nb.mask[None, :, :, None]                  # [T, nodes, K, C]
        q = self.rng.choice(len(pts), size=min(self.targets, len(pts)), replace=False)
        st = Stencil(self.grid, pts[q], cfg.stencil)
        return {"values": gathered.astype(np.float32), "offsets": nb.offsets, "mask": nb.mask,
                "q_idx": st.idx, "q_offsets": st.offsets, "target": vals[:, q].astype(np.float32),
                "param": np.float32(self.ds.param[i])}

    def batch(self, size, keep=None) -> dict:
        picks = self.rng.integers(len(self.windows), size=size)
        items = [self.window(*self.windows[p], keep=keep) for p in picks]
        return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
