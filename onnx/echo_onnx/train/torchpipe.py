"""The PyTorch sampler: the bundle contract's forecast pipeline driving the PyTorch modules.

`TorchRuntime` has the interface of reference.Runtime (manifest + `run(graph, **feeds)`), so the numpy
reference pipeline (neighbours, stencils, SplitMix64 noise, the ODE sampler with clamping, chaining)
runs unchanged on the PyTorch model. Comparing it with the Rust CLI on the exported bundle checks the
export and the runtime against the model itself, for the same seed and noise.
"""

import numpy as np
import torch

from ..manifest import load_manifest
from ..model import Echo
from ..reference import Forecaster, read_series


class TorchRuntime:
    def __init__(self, model: Echo, manifest: dict):
        self.model, self.manifest, self.onnx_s = model.eval(), manifest, 0.0
        ae = model.ae
        self.graphs = {"lift": ae.lift, "encoder": ae.encoder, "velocity": model.velocity,
                       "decoder": ae.decoder, "query": ae.query}

    @torch.no_grad()
    def run(self, graph: str, **feeds) -> np.ndarray:
        t = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in feeds.items()}
        return self.graphs[graph](**t).numpy()


def forecast(model: Echo, bundle_dir, input_pvd, horizon: int, seed: int, steps=None, method=None,
             query_points=None, params=None):
    """Like reference.forecast, with the PyTorch model in place of the ONNX graphs."""
    m = load_manifest(bundle_dir)
    rt = TorchRuntime(model, m)
    times, points, values = read_series(input_pvd, m["fields"])
    c = m["time"]["context_frames"]
    out_points = points if query_points is None else np.asarray(query_points, dtype=np.float64)
    fc = Forecaster(rt, points, out_points, params)
    pred = fc.forecast(values[-c:], horizon, seed, steps or m["sampler"]["steps"], method or m["sampler"]["method"])
    return times[-1] + m["time"]["dt"] * np.arange(1, horizon + 1), pred
