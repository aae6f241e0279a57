"""A numpy reference of the runtime's FORECAST pipeline, driving the bundle's ONNX graphs.

read series -> normalise -> K nearest input points per grid node -> lift -> (+ coverage channel)
-> encoder on [observed frames, zeros elsewhere] -> observed slots -> ODE sampler (SplitMix64 noise)
-> decoder -> query stencil at the output points -> denormalise; segments are chained by evaluating
the last `context_frames` frames at the input points and encoding them again.

Frames: the last `context_frames` input frames are observed frames 0..c-1 of the first segment; each
segment predicts T - c new frames; a horizon of H gives H frames at t_last + k dt, k = 1..H.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .grid import Grid, Neighbours, Stencil
from .manifest import load_manifest, normalise_parameter
from .noise import SplitMix64
from .sampler import integrate
from .vtkxml import Mesh, read_pvd, read_vtu, write_pvd, write_vtu


class Runtime:
    """The bundle's manifest and ONNX Runtime sessions; accumulates time spent in `session.run`."""

    def __init__(self, bundle_dir, threads: int | None = None):
        self.dir = Path(bundle_dir)
        self.manifest = load_manifest(self.dir)
        opts = ort.SessionOptions()
        # The Rust runtime's settings: idle threads do not spin (src/runtime.rs says why).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        self.sessions = {name: ort.InferenceSession(str(self.dir / g["file"]), opts,
                                                    providers=["CPUExecutionProvider"])
                         for name, g in self.manifest["graphs"].items()}
        self.onnx_s = 0.0

    def run(self, graph: str, **feeds) -> np.ndarray:
        """The first output of `graph` for float32 feeds."""
        feeds = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()}
        t0 = time.perf_counter()
        out = self.sessions[graph].run(None, feeds)[0]
        self.onnx_s += time.perf_counter() - t0
        return out


def read_series(pvd, fields):
    """(times [F], positions [N, 3], values [F, N, C] float32) of the manifest's fields.

    Point fields are taken at the points, cell fields at the cell centres; every frame must have the
    same points (the positions of the last frame are used). Vectors keep their first `components`."""
    entries = read_pvd(pvd)
    times, frames, positions = [], [], None
    for t, path in entries:
        mesh = read_vtu(path)
        cols = []
        for f in fields:
            cell = f["association"] == "cell"
            data = (mesh.cell_data if cell else mesh.point_data).get(f["name"])
            if data is None:
                raise KeyError(f"{path}: no {f['association']} array named {f['name']!r}")
            cols.append(data.reshape(len(data), -1)[:, :f["components"]])
        positions = mesh.cell_centres() if fields[0]["association"] == "cell" else mesh.points
        times.append(t)
        frames.append(np.concatenate(cols, axis=1).astype(np.float32))
    return np.array(times), np.asarray(positions, dtype=np.float64), np.stack(frames)


class Forecaster:
    """One bundle applied to one input point set and one output point set."""

    def __init__(self, rt: Runtime, points_in: np.ndarray, points_out: np.ndarray, params=None):
        m = rt.manifest
        self.rt, self.m = rt, m
        self.grid = Grid.from_manifest(m["latent_grid"], points_in)
        self.mean = np.array([x for f in m["fields"] for x in f["mean"]], dtype=np.float32)
        self.std = np.array([x for f in m["fields"] for x in f["std"]], dtype=np.float32)
        self.T, self.c = m["time"]["frames"], m["time"]["context_frames"]
        footprint = m["lift"].get("footprint", "radius")
        if footprint == "adaptive" and m["lift"]["kind"] != "learned":  # as the runtime refuses it
            raise ValueError('lift.footprint = "adaptive" needs lift.kind = "learned"')
        self.neighbours = Neighbours(self.grid, points_in, m["lift"]["neighbours"], m["lift"]["radius"], footprint)
        stencil = m["query"]["stencil"] if m["query"]["kind"] == "learned" else 2
        self.stencil_in = Stencil(self.grid, points_in, stencil)
        self.stencil_out = Stencil(self.grid, points_out, stencil)
        self.params = self._params(params or {})

    def _params(self, given: dict) -> dict:
        """Velocity feeds for the PDE parameters, as the Rust CLI makes them: no values given means
        unconditional (param_mask 0); given values (the others at their defaults) are normalised to
        [0, 1] over their ranges and conditioned (param_mask 1). Empty without parameters."""
        spec = self.m["parameters"]
        if not spec:
            return {}
        if not given:
            return {"params": np.zeros((1, len(spec)), dtype=np.float32), "param_mask": np.zeros(1, dtype=np.float32)}
        p = [normalise_parameter(given.get(q["name"], q["default"]), q) for q in spec]
        return {"params": np.array([p], dtype=np.float32), "param_mask": np.ones(1, dtype=np.float32)}

    def normalise(self, values):
        return (values - self.mean) / self.std

    def denormalise(self, values):
        return values * self.std + self.mean

    def lift(self, values: np.ndarray) -> np.ndarray:
        """Normalised values [Fr, N, C] at the input points -> grid features [F, Fr, *grid]."""
        nb, fr = self.neighbours, len(values)
        gathered = values[:, nb.idx] * nb.mask[None, :, :, None]            # [Fr, nodes, K, C]
        if self.m["lift"]["kind"] == "learned":
            nodes, k, c = gathered.shape[1:]
            feats = self.rt.run("lift", values=gathered.reshape(fr * nodes, k, c),
                                offsets=np.tile(nb.offsets, (fr, 1, 1)), mask=np.tile(nb.mask, (fr, 1)))
            feats = feats.reshape(fr, nodes, -1)
        else:
            feats = self._kernel_lift(gathered)
        return feats.transpose(2, 0, 1).reshape(feats.shape[2], fr, *self.grid.tensor_shape)

    def _kernel_lift(self, gathered: np.ndarray) -> np.ndarray:
        """Gaussian-kernel average of the neighbours, sigma = radius / 2 grid spacings; 0 for nodes
        without neighbours. (The doc leaves the bandwidth open; this is our choice.)"""
        nb = self.neighbours
        sigma = self.m["lift"]["radius"] / 2.0
        w = np.exp(-np.sum(nb.offsets ** 2, axis=2) / (2 * sigma ** 2)) * nb.mask     # [nodes, K]
        total = w.sum(axis=1)
        w = w / np.where(total > 0, total, 1.0)[:, None]
        return np.einsum("nk,fnkc->fnc", w, gathered).astype(np.float32)

    def observe(self, values: np.ndarray):
        """Encode c observed frames (normalised, at the input points): (observed latent, slot_mask)."""
        feats = self.lift(values)
        f, c = feats.shape[0], len(values)
        cov = self.m["latent_grid"]["coverage_channel"]
        frames = np.zeros((1, f + int(cov), self.T, *self.grid.tensor_shape), dtype=np.float32)
        frames[0, :f, :c] = feats
        if cov:
            frames[0, f, :c] = self.neighbours.coverage().reshape(self.grid.tensor_shape)
        latent = self.rt.run("encoder", frames=frames)
        slot_mask = np.array([all(fr < c for fr in s) for s in self.m["time"]["slots"]], dtype=np.float32)
        observed = latent * slot_mask.reshape(1, 1, -1, *([1] * self.grid.dim))
        return observed.astype(np.float32), slot_mask

    def generate(self, observed, slot_mask, noise: SplitMix64, steps: int, method: str) -> np.ndarray:
        """Sample the latent and decode it: [G, T, n_nodes]."""
        mask = slot_mask[None, :]

        def velocity(z, r):
            return self.rt.run("velocity", z=z, observed=observed, slot_mask=mask,
                               r=np.array([r], dtype=np.float32), **self.params)

        z = integrate(velocity, noise.normal(observed.shape), observed, slot_mask, steps, method)
        frames = self.rt.run("decoder", latent=z)[0]
        return frames.reshape(frames.shape[0], frames.shape[1], -1)

    def query(self, decoded: np.ndarray, frames, stencil: Stencil) -> np.ndarray:
        """Decoded frames [G, T, nodes] -> normalised values [len(frames), M, C] at the stencil's points."""
        feats = decoded[:, frames][:, :, stencil.idx].transpose(1, 2, 3, 0)     # [Fr, M, K, G]
        fr, m, k, g = feats.shape
        if self.m["query"]["kind"] == "learned":
            out = self.rt.run("query", features=feats.reshape(fr * m, k, g),
                              offsets=np.tile(stencil.offsets, (fr, 1, 1)))
            return out.reshape(fr, m, -1)
        return np.einsum("mk,fmkc->fmc", stencil.linear_weights(), feats).astype(np.float32)

    def forecast(self, context: np.ndarray, horizon: int, seed: int, steps: int, method: str) -> np.ndarray:
        """Raw context values [c, N_in, C] -> raw predictions [horizon, N_out, C]."""
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1 frame (got {horizon})")
        noise = SplitMix64(seed)
        observed_values = self.normalise(context)
        per_segment = self.T - self.c
        if per_segment < 1:
            raise ValueError("time.context_frames must be smaller than time.frames")
        out, done = [], 0
        while done < horizon:
            observed, slot_mask = self.observe(observed_values)
            decoded = self.generate(observed, slot_mask, noise, steps, method)
            n = min(per_segment, horizon - done)
            out.append(self.query(decoded, list(range(self.c, self.c + n)), self.stencil_out))
            done += n
            if done < horizon:  # carry the last c frames into the next segment
                observed_values = self.query(decoded, list(range(self.T - self.c, self.T)), self.stencil_in)
        return self.denormalise(np.concatenate(out)).astype(np.float32)


def forecast(bundle_dir, input_pvd, horizon: int, seed: int, steps=None, method=None, query_points=None,
             params=None, threads=None, timings: dict | None = None):
    """Forecast `horizon` frames after the input series -> (times [H], values [H, N_out, C]).

    `query_points` [N_out, 3] default to the input points. `params` maps parameter names to values
    (defaults from the manifest). If `timings` is a dict it receives total_s, onnx_s (inside
    session.run), init_s (manifest + sessions) and io_s (reading the series)."""
    t0 = time.perf_counter()
    rt = Runtime(bundle_dir, threads)
    t1 = time.perf_counter()
    m = rt.manifest
    times, points, values = read_series(input_pvd, m["fields"])
    t2 = time.perf_counter()
    c = m["time"]["context_frames"]
    if len(values) < c:
        raise ValueError(f"{input_pvd}: {len(values)} frames, the bundle needs {c} context frames")
    out_points = points if query_points is None else np.asarray(query_points, dtype=np.float64)
    fc = Forecaster(rt, points, out_points, params)
    pred = fc.forecast(values[-c:], horizon, seed, steps or m["sampler"]["steps"],
                       method or m["sampler"]["method"])
    dt = m["time"]["dt"]
    out_times = times[-1] + dt * np.arange(1, horizon + 1)
    if timings is not None:
        timings.update(total_s=time.perf_counter() - t0, onnx_s=rt.onnx_s, init_s=t1 - t0, io_s=t2 - t1)
    return out_times, pred


def write_prediction(out_dir, times, points, values, fields) -> None:
    """out_dir/prediction.pvd + prediction_NNNN.vtu (appended raw), one array per field."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for k, (t, v) in enumerate(zip(times, values)):
        data, col = {}, 0
        for f in fields:
            data[f["name"]] = v[:, col:col + f["components"]].squeeze(1) if f["components"] == 1 \
                else v[:, col:col + f["components"]]
            col += f["components"]
        name = f"prediction_{k:04d}.vtu"
        write_vtu(out / name, Mesh(points.astype(np.float32), data))
        entries.append((t, name))
    write_pvd(out / "prediction.pvd", entries)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Reference forecast (numpy + onnxruntime).")
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--input", required=True, help="input .pvd series")
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--method", choices=("euler", "midpoint", "rk4"))
    ap.add_argument("--query", help=".vtu whose points are the output points (default: input points)")
    ap.add_argument("--out", required=True, help="output directory (prediction.pvd)")
    a = ap.parse_args(argv)
    fields = load_manifest(a.bundle)["fields"]
    qp = read_vtu(a.query).points if a.query else None
    timings = {}
    times, pred = forecast(a.bundle, a.input, a.horizon, a.seed, a.steps, a.method, qp, timings=timings)
    points = qp if qp is not None else read_series(a.input, fields)[1]
    write_prediction(a.out, times, points, pred, fields)
    print({k: round(v, 4) for k, v in timings.items()})

if __name__ == "__main__":
    main()
