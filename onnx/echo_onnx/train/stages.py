"""The three training stages of ECHO, each resumable from the previous stage's checkpoint.

1. autoencoder (lift, encoder, decoder, query) on multi-frame windows at the data resolution;
2. the same autoencoder refined on single frames seen through denser point sets (the causal encoder
   makes T = 1 valid); afterwards the latent normalisation is measured and frozen into the encoder
   and decoder;
3. autoencoder frozen, the DiT velocity field trained with rectified flow matching on the latents,
   with random observed-slot patterns (forecast, inverse, interpolation, none) and condition dropout.

Every stage runs data-parallel under torchrun (DistributedDataParallel, gloo on CPU): each rank
draws its own batches (seed + rank), gradients are averaged, so parameters stay identical.
"""

import hashlib
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from ..manifest import normalise_parameter
from ..model import Echo, ModelConfig
from .batches import WindowSampler
from .data import load
from .pointdata import PointWindowSampler, load_split


# ---------------------------------------------------------------- distributed helpers
def dist_setup():
    """(rank, world) and init the gloo process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return int(os.environ.get("RANK", "0")), world


def is_main():
    return not dist.is_initialized() or dist.get_rank() == 0


def log(msg):
    if is_main():
        print(msg, flush=True)


# ---------------------------------------------------------------- checkpoints
def rank_checksums(model) -> list:
    """Every rank's float64 sum of |parameter| (one entry per rank): equal when DDP kept the replicas
    in sync. Must be called on every rank."""
    local = torch.tensor([sum(float(p.detach().double().abs().sum()) for p in model.parameters())], dtype=torch.float64)
    if not dist.is_initialized():
        return [local.item()]
    out = [torch.zeros_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(out, local)
    return [t.item() for t in out]


def save(run, stage, model: Echo, extra: dict):
    extra = {**extra, "rank_checksums": rank_checksums(model)}
    if not is_main():
        return
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.cfg.to_dict(), "model": model.state_dict(), "stage": stage, **extra},
               run / f"stage{stage}.pt")


def load_checkpoint(run, stage):
    """(model, checkpoint dict) of `run/stage{stage}.pt`."""
    ck = torch.load(Path(run) / f"stage{stage}.pt", map_location="cpu", weights_only=False)
    model = Echo(ModelConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    return model, ck


def latest_stage(run):
    for s in (3, 2, 1):
        if (Path(run) / f"stage{s}.pt").exists():
            return s
    return 0


def with_restart(first: dict, hist: list) -> dict:
    """A stage's training record with a warm restart's loss history `hist` appended: the steps add up,
    the restart's log continues the first run's step count, and the restarts are counted."""
    done = hist[-1]["step"] if hist else 0
    return {**first, "steps": first["steps"] + done, "restarts": first.get("restarts", 0) + 1,
            "log": first["log"] + [{**h, "step": h["step"] + first["steps"]} for h in hist]}


# ---------------------------------------------------------------- shared loop
def run_loop(name, module, params, step_fn, steps, lr, minutes=None, log_every=20):
    """Adam with a cosine decay over `steps`; stops early after `minutes` of wall time (the same step
    on every rank: the main rank decides and broadcasts). Returns the loss history."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    history, t0, recent = [], time.perf_counter(), []
    for i in range(steps):
        # cosine decay over whichever budget (steps or minutes) runs out first
        progress = i / max(steps, 1)
        if minutes:
            progress = max(progress, (time.perf_counter() - t0) / (60 * minutes))
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        loss, info = step_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        recent.append(loss.item())
        if (i + 1) % log_every == 0 or i == steps - 1:
            history.append({"step": i + 1, "loss": float(np.mean(recent)), "s": round(time.perf_counter() - t0, 1), **info})
            log(f"[{name}] step {i + 1}/{steps} loss {np.mean(recent):.4g} {info} {time.perf_counter() - t0:.0f}s")
            recent = []
        if minutes is not None and _stop(time.perf_counter() - t0 > 60 * minutes):
            log(f"[{name}] time budget of {minutes} min reached at step {i + 1}")
            if recent:  # record the steps run since the last log line
                history.append({"step": i + 1, "loss": float(np.mean(recent)), "s": round(time.perf_counter() - t0, 1), **info})
            break
    return history


def _stop(flag: bool) -> bool:
    if not dist.is_initialized():
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.broadcast(t, 0)
    return bool(t.item())


def rel_l2(pred, target):
    """Mean over the batch of ||pred - target|| / ||target|| (per sample, all frames and points)."""
    b = pred.shape[0]
    num = (pred - target).reshape(b, -1).norm(dim=1)
    return (num / target.reshape(b, -1).norm(dim=1).clamp_min(1e-12)).mean()


# ---------------------------------------------------------------- data
def is_point_data(data_dir) -> bool:
    """A directory of point trajectories (train/*.npz, pointdata.py) rather than NS2D's train.npz."""
    return (Path(data_dir) / "train").is_dir()


def data_description(data_dir, cfg: ModelConfig):
    """(extra, cfg) at the start of stage 1: the normalisation and what the export needs to describe
    the data; cfg gets the data's channels, box and periodicity (point data)."""
    if not is_point_data(data_dir):
        d = load(Path(data_dir) / "train.npz")
        return {"std": float(d["w"].std()), "data": d["info"]}, cfg
    ds = load_split(data_dir, "train")
    spec = ds.spec()
    cfg = replace(cfg, channels=ds.channels, bbox=spec["bbox"], periodic=spec["periodic"])
    return {"norm": ds.norm(), "spec": spec, "data": ds.info}, cfg


def training_sampler(data_dir, cfg: ModelConfig, extra: dict, frames: int, seed: int, denser=False, starts_every=1,
                     augment=False):
    """Windows of the training split. NS2D: input points the n^2 lattice (4n^2 with `denser`, stage 2),
    with `augment` each window mapped by a random symmetry of the equations; point data: a random
    fraction of the mesh's points (there is nothing denser than the mesh)."""
    if is_point_data(data_dir):
        if augment:
            raise ValueError("--augment: only the NS2D data has symmetries implemented (echo_onnx.ns2d.SYMMETRIES)")
        # 1024 target cells per window: the query head's backward pass dominates a step (2048 doubles it)
        return PointWindowSampler(load_split(data_dir, "train"), cfg, extra["norm"], frames, targets=1024, seed=seed,
                                  starts_every=starts_every)
    d = load(Path(data_dir) / "train.npz")
    n = d["w"].shape[-1]
    return WindowSampler(d["w"], d["nu"], cfg, extra["std"], frames, (4 if denser else 1) * n * n, seed=seed,
                         starts_every=starts_every, augment=augment)


def param_spec(data_dir, scale="linear") -> list:
    """The manifest's parameter list of the training data (empty for a single value); `scale` "log"
    normalises the NS2D viscosity by its logarithm (manifest.normalise_parameter)."""
    if is_point_data(data_dir):
        return load_split(data_dir, "train").param_spec()
    nus = sorted({float(x) for x in load(Path(data_dir) / "train.npz")["nu"]})
    lo, hi = min(nus), max(nus)
    if lo == hi:
        return []
    spec = {"name": "viscosity", "min": lo, "max": hi, "default": hi, "units": "nondimensional (unit box, unit time)"}
    return [spec | {"scale": "log"} if scale == "log" else spec]


KEPT = ("std", "norm", "spec", "data", "history")


# ---------------------------------------------------------------- stages 1 and 2
def train_autoencoder(stage, data_dir, run, cfg: ModelConfig, steps, batch, lr, minutes=None, seed=0, resume=False,
                      augment=False):
    """Stage 1 (windows of T frames) or stage 2 (single frames; NS2D: 4x denser input points); the
    fraction of input points kept is drawn in [0.5, 1]. `resume` continues stage 1 from its
    checkpoint with a new schedule (a warm restart); `augment` maps each window by a random symmetry."""
    rank, world = dist_setup()
    torch.manual_seed(seed)
    if stage == 1 and not resume:
        extra, cfg = data_description(data_dir, cfg)
        model = Echo(cfg)
    else:
        model, extra = load_checkpoint(run, 1)
        extra = {k: extra[k] for k in KEPT if k in extra}
        cfg = model.cfg
    frames = cfg.frames if stage == 1 else 1
    sampler = training_sampler(data_dir, cfg, extra, frames, seed + 1 + rank, denser=stage == 2, augment=augment)
    ae = DDP(model.ae) if world > 1 else model.ae

    def step():
        b = sampler.batch(batch)
        pred, _ = ae(b)
        loss = torch.mean((pred - b["target"]) ** 2)
        return loss, {"rel_l2": round(rel_l2(pred.detach(), b["target"]).item(), 4)}

    hist = run_loop(f"stage {stage}", model.ae, list(model.ae.parameters()), step, steps, lr, minutes)
    history = dict(extra.get("history", {}))
    done = hist[-1]["step"] if hist else 0
    if stage == 1 and resume:
        history["stage1"] = with_restart(history["stage1"], hist)
    else:
        history[f"stage{stage}"] = {"steps": done, "batch": batch, "world": world, "log": hist}
    if stage == 2:
        set_latent_norm(model, sampler, batches=max(2, 64 // batch), batch=batch)
    save(run, stage, model, {**extra, "history": history})
    return model


@torch.no_grad()
def set_latent_norm(model: Echo, sampler, batches: int, batch: int):
    """Measure per-channel mean/std of the latents of training windows (full frames, all points) and
    freeze them into the encoder (normalise) and decoder (denormalise): unit-scale latents for the
    flow matching, whose noise is standard normal. Identical on all ranks (rank 0's numbers)."""
    cfg = model.cfg
    win = sampler.dense(cfg.frames, seed=12345)
    zs = []
    for _ in range(batches):
        b = win.batch(batch, keep=1.0)
        zs.append(model.ae.encoder(model.ae.encoder_input(b["values"], b["offsets"], b["mask"])))
    z = torch.cat(zs).transpose(0, 1).reshape(cfg.latent_channels, -1)
    mean, std = z.mean(1), z.std(1).clamp_min(1e-6)
    if dist.is_initialized():
        dist.broadcast(mean, 0)
        dist.broadcast(std, 0)
    for m in (model.ae.encoder, model.ae.decoder):
        m.latent_mean.copy_(mean)
        m.latent_std.copy_(std)


# ---------------------------------------------------------------- stage 3
# Observed-slot patterns and their probabilities: name -> (frames observed as a function of T and c).
PATTERNS = [("forecast", 0.45), ("forecast2", 0.1), ("inverse", 0.15), ("interpolate", 0.15), ("none", 0.15)]


def pattern_frames(name, cfg: ModelConfig) -> np.ndarray:
    """[T] 1/0: frames observed by a task pattern, as the CLI poses the task."""
    slots = cfg.time_slots()
    obs = np.zeros(cfg.frames, dtype=np.float32)
    chosen = {"forecast": [0], "forecast2": [0, 1], "inverse": [len(slots) - 1],
              "interpolate": [0, len(slots) - 1], "none": []}[name]
    for s in chosen:
        obs[slots[s]] = 1.0
    return obs


def slot_mask_of(frames_obs, cfg: ModelConfig) -> np.ndarray:
    """A slot is observed when all of its frames are."""
    return np.array([float(all(frames_obs[f] for f in s)) for s in cfg.time_slots()], dtype=np.float32)


@torch.no_grad()
def encode_latents(model: Echo, sampler, batch: int):
    """Clean latents of every training window (all points) and, per pattern, the encoder's output on
    the window with the unobserved frames zeroed: the `observed` the runtime will feed."""
    cfg = model.cfg
    names = [p for p, _ in PATTERNS]
    clean, obs = [], {p: [] for p in names}
    nus = []
    for start in range(0, len(sampler.windows), batch):
        items = [sampler.window(*w, keep=1.0) for w in sampler.windows[start:start + batch]]
        b = {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}
        z = model.ae.encoder(model.ae.encoder_input(b["values"], b["offsets"], b["mask"]))
        clean.append(z)
        for p in names:
            frames_obs = pattern_frames(p, cfg)
            sm = torch.from_numpy(slot_mask_of(frames_obs, cfg)).view(1, 1, -1, 1, 1)
            prefix = frames_obs.sum() == 0 or frames_obs[:int(frames_obs.sum())].all()
            if prefix:  # causal encoder: observing a prefix gives the clean latents of its slots
                obs[p].append(z * sm)
                continue
            fo = torch.from_numpy(frames_obs)[None].expand(len(items), -1)
            x = model.ae.encoder_input(b["values"], b["offsets"], b["mask"], observed=fo)
            obs[p].append(model.ae.encoder(x) * sm)
        nus.append(b["param"])
    return torch.cat(clean), {p: torch.cat(v) for p, v in obs.items()}, torch.cat(nus)


def latents_key(model: Echo, data_dir, sampler, seed: int, starts_every: int) -> dict:
    """What the encoded latents depend on: the autoencoder's weights, the training data, the windows."""
    digest = hashlib.sha256()
    for name, t in sorted(model.ae.state_dict().items()):
        digest.update(name.encode())
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    data = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in Path(data_dir).iterdir() if f.is_file())
    return {"autoencoder": digest.hexdigest(), "data": [str(Path(data_dir).resolve()), data],
            "windows": len(sampler.windows), "seed": seed, "starts_every": starts_every}


def cached_latents(run, key: dict, encode):
    """`encode()` (encode_latents' result), kept in `run/stage3-latents.pt` with its `key`: a restart of
    stage 3 on the same autoencoder, data and windows loads them instead of encoding every window
    again (7 minutes on two CPU cores for ns2d-v2's 8640 windows). Any change of the key encodes anew."""
    path = Path(run) / "stage3-latents.pt"
    if path.exists():
        cached = torch.load(path, map_location="cpu", weights_only=False)
        if cached.get("key") == key:
            return cached["clean"], cached["observed"], cached["nus"], True
    clean, observed, nus = encode()
    if is_main():
        tmp = path.with_suffix(".tmp")
        torch.save({"key": key, "clean": clean, "observed": observed, "nus": nus}, tmp)
        os.replace(tmp, path)
    return clean, observed, nus, False


def normalise_params(nu: torch.Tensor, spec: list) -> torch.Tensor:
    """[B] parameter values -> [B, 1] in [0, 1] over the manifest range (as the runtime normalises)."""
    return torch.from_numpy(normalise_parameter(nu.double().numpy(), spec[0])).float()[:, None]


def train_generator(data_dir, run, steps, batch, lr, minutes=None, seed=0, param_spec=None, p_drop=0.1, starts_every=2,
                    patch=None, resume=False):
    """Stage 3: rectified flow on frozen-encoder latents. z_r = (1 - r) eps + r z_1, target z_1 - eps,
    loss on the unobserved slots; observed slots of z_r are clamped to `observed` as in sampling.
    `patch` replaces the DiT's patch size of the checkpoint's config (the DiT starts from scratch here);
    `resume` continues the DiT of stage3.pt with a new schedule (a warm restart; the encoded latents
    come from the cache when the autoencoder, data and windows are the same)."""
    rank, world = dist_setup()
    torch.manual_seed(seed)
    model, ck = load_checkpoint(run, 3 if resume else 2)
    if resume and patch:
        raise SystemExit("--patch starts a new DiT; it cannot be combined with --resume")
    if patch and patch != model.cfg.patch:
        from ..model.dit import Velocity
        model.cfg = replace(model.cfg, patch=patch)
        model.velocity = Velocity(model.cfg)
    cfg = model.cfg
    sampler = training_sampler(data_dir, cfg, ck, cfg.frames, seed + 7, starts_every=starts_every)
    model.ae.eval()
    for p in model.ae.parameters():
        p.requires_grad_(False)
    t0 = time.perf_counter()
    key = latents_key(model, data_dir, sampler, seed, starts_every)
    clean, observed, nus, cached = cached_latents(run, key, lambda: encode_latents(model, sampler, batch=16))
    log(f"[stage 3] {'loaded the cached latents of' if cached else 'encoded'} {len(clean)} windows in "
        f"{time.perf_counter() - t0:.0f}s")
    names = [p for p, _ in PATTERNS]
    probs = np.array([w for _, w in PATTERNS])
    masks = {p: torch.from_numpy(slot_mask_of(pattern_frames(p, cfg), cfg)) for p in names}
    rng = np.random.default_rng(seed + 100 + rank)
    vel = DDP(model.velocity) if world > 1 else model.velocity
    params_all = normalise_params(nus, param_spec) if cfg.params else None

    def step():
        idx = torch.from_numpy(rng.integers(len(clean), size=batch))
        pats = rng.choice(len(names), size=batch, p=probs)
        z1 = clean[idx]
        obs = torch.stack([observed[names[k]][i] for k, i in zip(pats, idx.tolist())])
        sm = torch.stack([masks[names[k]] for k in pats])
        r = torch.from_numpy(rng.uniform(0, 1, size=batch).astype(np.float32))
        eps = torch.from_numpy(rng.standard_normal(z1.shape).astype(np.float32))
        keep = sm.view(batch, 1, -1, 1, 1)
        zr = (1 - r.view(-1, 1, 1, 1, 1)) * eps + r.view(-1, 1, 1, 1, 1) * z1
        zr = keep * obs + (1 - keep) * zr
        extra = {}
        if cfg.params:
            extra = {"params": params_all[idx],
                     "param_mask": torch.from_numpy((rng.uniform(size=batch) > p_drop).astype(np.float32))}
        v = vel(zr, obs, sm, r, **extra)
        err = ((v - (z1 - eps)) ** 2) * (1 - keep)
        loss = err.sum() / ((1 - keep).expand_as(err).sum().clamp_min(1.0))
        return loss, {}

    hist = run_loop("stage 3", model.velocity, list(model.velocity.parameters()), step, steps, lr, minutes)
    history = dict(ck["history"])
    if resume:
        history["stage3"] = with_restart(history["stage3"], hist)
    else:
        history["stage3"] = {"steps": hist[-1]["step"] if hist else 0, "batch": batch, "world": world, "log": hist, "windows": len(clean),
                             "patterns": dict(PATTERNS), "param_dropout": p_drop}
    save(run, 3, model, {**{k: ck[k] for k in KEPT if k in ck}, "history": history, "parameters": param_spec})
    return model
