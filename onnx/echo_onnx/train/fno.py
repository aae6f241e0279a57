"""Baseline: a Fourier neural operator (neuraloperator's FNO) trained on the same data, rolled out
autoregressively one frame (dt) at a time from the same single context frame ECHO gets.

Input channels: the normalised vorticity and the viscosity normalised like ECHO's parameter (a
constant channel); output: the increment to the next frame (residual form, steadier rollouts).
Training: one-step pairs plus 2-step unrolled pairs (cheap protection against error growth).
"""

import math
import time
from pathlib import Path

import numpy as np
import torch
from neuralop.models import FNO

from ..manifest import normalise_parameter
from .data import load
from .stages import log, param_spec, run_loop


def make_fno(small=False, channels=1, modes=None):
    """channels fields + the parameter in, the channels' increments out."""
    if small:
        return FNO(n_modes=tuple(modes or (4, 4)), hidden_channels=8, in_channels=channels + 1, out_channels=channels, n_layers=2)
    return FNO(n_modes=tuple(modes or (16, 16)), hidden_channels=32, in_channels=channels + 1, out_channels=channels, n_layers=4)


class Stepper(torch.nn.Module):
    """w [B, n, n] (one field) or [B, C, ny, nx] (normalised), p [B] -> next w."""

    def __init__(self, small=False, channels=1, modes=None):
        super().__init__()
        self.net = make_fno(small, channels, modes)

    def forward(self, w, p):
        x = w if w.dim() == 4 else w[:, None]
        x = torch.cat([x, p[:, None, None, None].expand(-1, 1, *x.shape[2:])], dim=1)
        out = x[:, :-1] + self.net(x)
        return out if w.dim() == 4 else out[:, 0]

    @torch.no_grad()
    def rollout(self, w0, p, steps):
        """[B, ...] -> [B, steps, ...]."""
        out, w = [], w0
        for _ in range(steps):
            w = self(w, p)
            out.append(w)
        return torch.stack(out, dim=1)


def normalised_nu(nu, ck):
    """The viscosity as the FNO checkpoint `ck` takes it: normalised like ECHO's parameter (its
    manifest entry `ck["param"]`), 0 for single-viscosity data. (Checkpoints from before the entry:
    linear over ck["nus"].)"""
    spec = ck.get("param", {"min": min(ck["nus"]), "max": max(ck["nus"])} if len(ck["nus"]) > 1 else None)
    return normalise_parameter(nu, spec) if spec else np.zeros_like(nu)


def train_fno(data_dir, run, steps, batch, lr, minutes=None, seed=0, small=False, unroll=2, scale="linear"):
    """`scale`: the viscosity's normalisation, as ECHO's run of the same preset has it."""
    torch.manual_seed(seed)
    d = load(Path(data_dir) / "train.npz")
    std = float(d["w"].std())
    w = torch.from_numpy(d["w"] / std)
    nus = sorted(set(d["nu"].tolist()))
    spec = param_spec(data_dir, scale)
    param = spec[0] if spec else None
    p = torch.from_numpy(normalised_nu(d["nu"], {"nus": nus, "param": param}).astype(np.float32))
    model = Stepper(small)
    rng = np.random.default_rng(seed)
    n_traj, n_frames = w.shape[:2]

    def step():
        i = torch.from_numpy(rng.integers(n_traj, size=batch))
        t = torch.from_numpy(rng.integers(n_frames - unroll, size=batch))
        x, loss = w[i, t], 0.0
        for k in range(1, unroll + 1):
            x = model(x, p[i])
            loss = loss + torch.mean((x - w[i, t + k]) ** 2)
        return loss / unroll, {}

    hist = run_loop("fno", model, list(model.parameters()), step, steps, lr, minutes)
    Path(run).mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "std": std, "nus": nus, "param": param, "small": small,
                "params": sum(q.numel() for q in model.parameters()),
                "history": {"steps": hist[-1]["step"] if hist else 0, "batch": batch, "unroll": unroll, "log": hist}},
               Path(run) / "fno.pt")
    log(f"[fno] {sum(q.numel() for q in model.parameters())} parameters")
    return model


def load_fno(run):
    ck = torch.load(Path(run) / "fno.pt", map_location="cpu", weights_only=False)
    model = Stepper(ck["small"])
    state = {k: v for k, v in ck["model"].items() if not k.endswith("_metadata")}  # neuralop's extra entry
    model.load_state_dict(state)
    return model.eval(), ck
