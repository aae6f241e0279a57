"""What holds the autoencoder back (issue 14): the same causal conv trunk with and without the learned
lift and query head, trained alike, against POD at the same compression.

The ECHO autoencoder is lift -> encoder -> latent -> decoder -> query. Its held-out error at 24x was 3.6x
POD's, and at 64x the question is which part costs: the lift (scattered points onto the grid), the query
head (grid features back to points), or the conv trunk and its training budget. Four variants share the
trunk (model.echo.Encoder/Decoder with the preset's widths, latent channels and time stride) and differ
only at the ends:

- `grid`: input by space-to-depth (each latent-grid node's 2 x 2 lattice values, plus the coverage
  channel the trunk expects), output by a 1 x 1 conv to 2 x 2 values per node and depth-to-space: a plain
  convolutional autoencoder on the lattice, no learned interpolation anywhere;
- `grid+query`: that input, the query head's output;
- `lift+grid`: the learned lift's input, that output;
- `lift+query`: both learned ends: the ECHO autoencoder.

Every variant sees every lattice point and is scored at every lattice point (the ends' geometry is fixed,
so the neighbour lists and stencils are computed once), with the same seed, batches (window starts and
symmetry maps), steps, learning-rate schedule and MSE loss. Held-out: every non-overlapping window of the
test split, rel L2 per window at the lattice (physical units), averaged per viscosity; POD: per-frame
modes n^2 / ratio fitted on the training frames (all viscosities, as the autoencoder), the same test frames.

    .venv/bin/echo-onnx-train ablate --data DATA --preset ns2d-v2 --variant grid --steps 3000 --out DIR
    .venv/bin/echo-onnx-train ablate --data DATA --preset ns2d-v2 --pod --out DIR

Each run writes DIR/<variant>.json (and DIR/pod.json); `--table DIR` prints the table of all of them.
"""

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import ns2d
from ..grid import Neighbours, Stencil
from ..model import ModelConfig
from ..model.echo import Decoder, Encoder
from ..model.lift import Lift
from ..model.query import Query
from .batches import latent_grid
from .data import load
from .superres import lattice, rel

VARIANTS = {"grid": ("grid", "grid"), "grid+query": ("grid", "query"),
            "lift+grid": ("lift", "grid"), "lift+query": ("lift", "query")}


def log(msg):
    print(f"[ablate] {msg}", flush=True)


def space_to_depth(w: torch.Tensor, r: int) -> torch.Tensor:
    """[B, T, n, n] -> [B, r^2, T, n/r, n/r]: channel a r + b holds the lattice value (r j + a, r i + b)
    of node (j, i), i.e. the node's own point and the r^2 - 1 after it along +x and +y."""
    b, t, n, _ = w.shape
    m = n // r
    return w.reshape(b, t, m, r, m, r).permute(0, 3, 5, 1, 2, 4).reshape(b, r * r, t, m, m)


def depth_to_space(x: torch.Tensor, r: int) -> torch.Tensor:
    """The inverse of space_to_depth: [B, r^2, T, m, m] -> [B, T, m r, m r]."""
    b, _, t, m, _ = x.shape
    return x.reshape(b, r, r, t, m, m).permute(0, 3, 4, 1, 5, 2).reshape(b, t, m * r, m * r)


class AblationAE(nn.Module):
    """The trunk with the chosen ends, mapping whole windows [B, T, n, n] (normalised) to the same."""

    def __init__(self, cfg: ModelConfig, n: int, ends: tuple):
        super().__init__()
        self.inp, self.out = ends
        self.r = n // cfg.grid[0]
        grid, pts = latent_grid(cfg), lattice(n)[:, :2]
        trunk_in = cfg.lift_features if self.inp == "lift" else self.r * self.r
        self.encoder = Encoder(ModelConfig(**{**cfg.__dict__, "lift_features": trunk_in}))
        self.decoder = Decoder(cfg)
        if self.inp == "lift":
            nb = Neighbours(grid, pts, cfg.neighbours, cfg.radius, cfg.lift_footprint)
            self.lift = Lift(cfg.channels, cfg.dim, cfg.lift_features)
            for name, a in (("nb_idx", nb.idx), ("nb_offsets", nb.offsets), ("nb_mask", nb.mask)):
                self.register_buffer(name, torch.as_tensor(a))
        if self.out == "query":
            st = Stencil(grid, pts, cfg.stencil)
            self.query = Query(cfg.decoder_channels, cfg.dim, cfg.channels,
                               window=cfg.stencil / 2 if cfg.query_window else None)
            self.register_buffer("st_idx", torch.as_tensor(st.idx))
            self.register_buffer("st_offsets", torch.as_tensor(st.offsets))
        else:
            self.to_values = nn.Conv3d(cfg.decoder_channels, self.r * self.r, 1)

    def encoder_input(self, w):
        b, t, n, _ = w.shape
        m = n // self.r
        if self.inp == "grid":
            x = space_to_depth(w, self.r)
        else:
            flat = w.reshape(b, t, -1)
            vals = flat[:, :, self.nb_idx] * self.nb_mask                     # [B, T, nodes, K]
            wts, kappa = self.lift.weights(self.nb_offsets, self.nb_mask)
            feats = self.lift.combine(vals[..., None], wts, kappa)             # [B, T, nodes, F]
            x = feats.permute(0, 3, 1, 2).reshape(b, -1, t, m, m)
        return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)             # + coverage (all covered)

    def values(self, g, points):
        """Decoder features [B, G, T, m, m] -> fields [B, T, M] at lattice points (flat indices)."""
        if self.out == "grid":
            v = depth_to_space(self.to_values(g), self.r)
            return v.reshape(*v.shape[:2], -1)[:, :, points]
        b, c, t = g.shape[:3]
        flat = g.reshape(b, c, t, -1)[:, :, :, self.st_idx[points]]         # [B, G, T, M, Ks]
        offsets = self.st_offsets[points]
        v = self.query(flat.permute(0, 2, 3, 4, 1), offsets.expand(b, t, *offsets.shape))
        return v[..., 0]

    def forward(self, w, points=None):
        """Windows [B, T, n, n] -> their reconstruction [B, T, M] at `points` (default: all, row-major)."""
        points = torch.arange(w.shape[-1] ** 2) if points is None else points
        return self.values(self.decoder(self.encoder(self.encoder_input(w))), points)


def windows(w, frames, every):
    return [(i, s) for i in range(w.shape[0]) for s in range(0, w.shape[1] - frames + 1, every)]


def train_variant(name, cfg, data_dir, out, steps, batch, lr, seed, augment, threads, targets=1024):
    """Train one variant for `steps` steps. The query variants' loss is taken at `targets` random
    lattice points per step (the head's cost is per point: all 4096 would make them 10x slower than the
    grid variants), the grid variants' at all of them: both estimate the same lattice MSE."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    train = load(Path(data_dir) / "train.npz")
    w = train["w"]
    std = float(w.std())
    ends = VARIANTS[name]
    model = AblationAE(cfg, w.shape[-1], ends)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps)))
    rng = np.random.default_rng(seed)
    wins = windows(w, cfg.frames, 1)
    t0 = time.time()
    for step in range(1, steps + 1):
        picks = [wins[p] for p in rng.integers(len(wins), size=batch)]
        items = []
        for i, s in picks:
            win = w[i, s:s + cfg.frames]
            if augment:
                win = ns2d.isometry(win, *ns2d.random_symmetry(rng, win.shape[-1]))
            items.append(win / std)
        x = torch.from_numpy(np.stack(items).astype(np.float32))
        m = x.shape[-1] ** 2
        pts = torch.from_numpy(rng.choice(m, min(targets, m), replace=False)) if ends[1] == "query" else None
        pred = model(x, pts)
        truth = x.reshape(*x.shape[:2], -1)
        loss = ((pred - (truth if pts is None else truth[:, :, pts])) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            log(f"{name} step {step}/{steps} loss {loss.item():.5f} {time.time() - t0:.0f}s")
    result = {"variant": name, "ends": ends, "steps": steps, "targets": targets if ends[1] == "query" else "all", "batch": batch, "lr": lr, "seed": seed,
              "augment": augment, "train_s": round(time.time() - t0, 1),
              "parameters": sum(p.numel() for p in model.parameters()),
              "held_out": held_out(model, cfg, data_dir, std)}
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / f"{name}.pt")
    (out / f"{name}.json").write_text(json.dumps(result, indent=1))
    log(f"{name}: {result['held_out']}")
    return result


@torch.no_grad()
def held_out(model, cfg, data_dir, std):
    """rel L2 per non-overlapping test window at the lattice, mean per viscosity."""
    test = load(Path(data_dir) / "test.npz")
    w, nus = test["w"], test["nu"]
    errs = {}
    for i, s in windows(w, cfg.frames, cfg.frames):
        win = w[i, s:s + cfg.frames]
        pred = model(torch.from_numpy((win / std)[None].astype(np.float32)))[0].numpy().reshape(win.shape) * std
        errs.setdefault(f"{nus[i]:g}", []).append(float(rel(pred, win, (0, 1, 2))))
    return {nu: float(np.mean(e)) for nu, e in errs.items()} | {"windows": sum(map(len, errs.values()))}


@torch.no_grad()
def echo_held_out(model, ck, test):
    """An ECHO checkpoint's autoencoder scored like the variants: every non-overlapping test window,
    all lattice points in and out; mean rel L2 per viscosity."""
    from .batches import WindowSampler
    cfg, w, nus, n = model.cfg, test["w"], test["nu"], test["w"].shape[-1]
    s = WindowSampler(w, nus, cfg, ck["std"], cfg.frames, n * n, targets=n * n, fine_factor=1, keep=(1.0, 1.0), seed=5)
    errs = {}
    for i, start in windows(w, cfg.frames, cfg.frames):
        item = s.window(i, start, keep=1.0)
        b = {k: torch.from_numpy(np.asarray(v)[None]) for k, v in item.items()}
        pred, _ = model.ae(b)
        errs.setdefault(f"{nus[i]:g}", []).append(float(rel(pred.numpy(), b["target"].numpy(), (0, 1, 2, 3))))
    return {nu: float(np.mean(e)) for nu, e in errs.items()} | {"windows": sum(map(len, errs.values()))}


def stage1_row(run, data_dir, out):
    """A stage-1 run's autoencoder (`train --stage 1`: inputs a random 50-100 % of a 4x upsampled lattice,
    targets random points of it) scored like the variants."""
    from .stages import load_checkpoint
    model, ck = load_checkpoint(run, 1)
    h = ck["history"]["stage1"]
    result = {"variant": "lift+query, stage-1 recipe", "ends": ["lift", "query"], "steps": h["steps"], "batch": h["batch"],
              "train_s": h["log"][-1]["s"] if h["log"] else 0.0, "run": str(run),
              "parameters": sum(p.numel() for p in model.ae.parameters()),
              "held_out": echo_held_out(model, ck, load(Path(data_dir) / "test.npz"))}
    out.mkdir(parents=True, exist_ok=True)
    (out / "stage1-recipe.json").write_text(json.dumps(result, indent=1))
    log(f"stage-1 run {run}: {result['held_out']}")
    return result


def pod(data_dir, ratio, out):
    """Per-frame POD with n^2 / ratio modes fitted on the training frames (all viscosities)."""
    from .evaluate import pod_error
    train, test = load(Path(data_dir) / "train.npz"), load(Path(data_dir) / "test.npz")
    p = pod_error(train["w"], test["w"], ratio, test["nu"])
    result = {"variant": "POD", "modes": p["modes"], "ratio": ratio, "held_out": p["by_viscosity"]}
    r = p["modes"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "pod.json").write_text(json.dumps(result, indent=1))
    log(f"POD {r} modes: {result['held_out']}")
    return result


def compression(cfg, n) -> float:
    """Window values over latent values: T n^2 C / (S (n / stride)^2 Z)."""
    latent = cfg.slots * (cfg.grid[0] // cfg.spatial_stride) * (cfg.grid[1] // cfg.spatial_stride) * cfg.latent_channels
    return cfg.frames * n * n * cfg.channels / latent


def table(out) -> str:
    rows = [json.loads(p.read_text()) for p in sorted(Path(out).glob("*.json"))]
    nus = sorted({k for r in rows for k in r["held_out"] if k != "windows"}, key=float, reverse=True)
    lines = ["| variant | input | output | " + " | ".join(f"nu {nu}" for nu in nus) + " | parameters | train |",
             "|---|---|---|" + "---|" * len(nus) + "---|---|"]
    for r in rows:
        ends = r.get("ends", ["-", "-"])
        cost = f"{r['steps']} steps, {r['train_s'] / 60:.0f} min" if "steps" in r else f"{r['modes']} modes"
        lines.append(f"| {r['variant']} | {ends[0]} | {ends[1]} | "
                     + " | ".join(f"{r['held_out'][nu]:.4f}" for nu in nus)
                     + f" | {r.get('parameters', '-')} | {cost} |")
    return "\n".join(lines)
