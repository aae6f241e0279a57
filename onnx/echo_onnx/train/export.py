"""Export a trained run to a bundle: five static ONNX graphs (dynamo exporter) and manifest.json.

Dynamic axes: the batch B of encoder/velocity/decoder, the node/point count M and neighbour count K
of lift and query, and the grid size of the encoder and decoder (they are convolutional; any multiple
of the spatial stride works). The velocity's grid is fixed: its positional embedding is sized to the
latent grid. The runtime uses the manifest's sizes, so the dynamic grid only matters to other callers.
"""

import json
from pathlib import Path

import onnx
import torch
from torch import nn
from torch.export import Dim

from ..manifest import dumps_manifest, graph_signature, sha256_file
from ..model import Echo
from .stages import load_checkpoint


class LiftGraph(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, values, offsets, mask):
        return self.m(values, offsets, mask)


class EncoderGraph(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, frames):
        return self.m(frames)


class VelocityGraph(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, z, observed, slot_mask, r, params=None, param_mask=None):
        return self.m(z, observed, slot_mask, r, params, param_mask)


class DecoderGraph(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, latent):
        return self.m(latent)


class QueryGraph(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, features, offsets):
        return self.m(features, offsets)


def example_inputs(model: Echo, batch: int = 2, points: int = 64):
    """name -> (wrapper module, ordered example inputs {name: tensor}, dynamic shapes, output name)."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sp = cfg.grid[::-1]
    lsp = cfg.latent_shape[::-1]
    Z, S, T, K, Ks = cfg.latent_channels, cfg.slots, cfg.frames, cfg.neighbours, cfg.stencil ** cfg.dim
    B, M = Dim("B", min=1, max=4096), Dim("M")
    Kd, Ksd = Dim("K", min=1, max=1024), Dim("Ks", min=1, max=1024)
    stride = cfg.spatial_stride
    ny, nx = Dim("ny_blocks", min=1, max=4096), Dim("nx_blocks", min=1, max=4096)
    mask = (torch.rand(points, K, generator=g) > 0.2).float()
    mask[:, 0] = 1.0
    latent = rnd(batch, Z, S, *lsp)
    vel_in = {"z": latent, "observed": rnd(batch, Z, S, *lsp), "slot_mask": torch.tensor([[1.0] + [0.0] * (S - 1)] * batch),
              "r": torch.rand(batch, generator=g)}
    vel_dyn = {"z": {0: B}, "observed": {0: B}, "slot_mask": {0: B}, "r": {0: B}}
    if cfg.params:
        vel_in.update(params=torch.rand(batch, cfg.params, generator=g), param_mask=torch.tensor([1.0, 0.0] * (batch // 2) + [1.0] * (batch % 2)))
        vel_dyn.update(params={0: B}, param_mask={0: B})
    return {
        "lift": (LiftGraph(model.ae.lift), {"values": rnd(points, K, cfg.channels), "offsets": rnd(points, K, cfg.dim), "mask": mask},
                 {"values": {0: M, 1: Kd}, "offsets": {0: M, 1: Kd}, "mask": {0: M, 1: Kd}}, "features"),
        "encoder": (EncoderGraph(model.ae.encoder), {"frames": rnd(batch, cfg.lift_features + 1, T, *sp)},
                    {"frames": {0: B, 3: stride * ny, 4: stride * nx}}, "latent"),
        "velocity": (VelocityGraph(model.velocity), vel_in, vel_dyn, "velocity"),
        "decoder": (DecoderGraph(model.ae.decoder), {"latent": latent}, {"latent": {0: B, 3: ny, 4: nx}}, "frames"),
        "query": (QueryGraph(model.ae.query), {"features": rnd(points, Ks, cfg.decoder_channels), "offsets": rnd(points, Ks, cfg.dim)},
                  {"features": {0: M, 1: Ksd}, "offsets": {0: M, 1: Ksd}}, "values"),
    }


def export_graph(module, inputs: dict, dynamic: dict, output: str, path) -> onnx.ModelProto:
    """One self-contained ONNX file with the bundle's tensor names."""
    module.eval()
    names = list(inputs)
    with torch.no_grad():
        prog = torch.onnx.export(module, tuple(inputs.values()), dynamic_shapes=dynamic, dynamo=True,
                                 external_data=False, input_names=names, output_names=[output], verbose=False)
    prog.save(str(path), external_data=False)
    proto = onnx.load(str(path))
    if output == "latent":  # the exporter names the derived latent axes s<N>; name them like the decoder's input
        dims = proto.graph.output[0].type.tensor_type.shape.dim
        for axis, name in ((3, "ny_blocks"), (4, "nx_blocks")):
            if dims[axis].HasField("dim_param"):
                dims[axis].dim_param = name
        onnx.save(proto, str(path))
    return proto


NS2D_DESCRIPTION = ("ECHO (encode-generate-decode flow-matching operator) for 2D incompressible Navier-Stokes "
                    "vorticity on the periodic unit square, FNO forcing, trained with echo-onnx-train "
                    "(onnx/echo_onnx/train); see REPORT.md next to this file for its evaluation.")


def fields_of(ck: dict) -> list:
    """The manifest's fields: the data's (point data: names, units, association, per-channel mean and
    std), else NS2D's vorticity with the training std."""
    spec = ck.get("spec")
    if spec is None:
        return [{"name": "vorticity", "components": 1, "units": "1/s", "association": "point",
                 "mean": [0.0], "std": [float(ck["std"])]}]
    mean, std, out, c = ck["norm"]["mean"], ck["norm"]["std"], [], 0
    for f in spec["fields"]:
        n = f["components"]
        out.append({**f, "mean": [float(x) for x in mean[c:c + n]], "std": [float(x) for x in std[c:c + n]]})
        c += n
    return out


def manifest(model: Echo, ck: dict, graphs: dict, name: str, description: str | None = None) -> dict:
    cfg = model.cfg
    hist = ck.get("history", {})
    data = ck.get("data", {})
    dt = ck["spec"]["dt"] if "spec" in ck else float(data.get("dt", 0.25))
    points = ck["spec"]["points"] if "spec" in ck else data.get("n", cfg.grid[0]) ** 2  # input points per frame
    return {
        "format": "echo-bundle",
        "format_version": 1,
        "name": name,
        "description": description or ck.get("spec", {}).get("description", NS2D_DESCRIPTION),
        "fields": fields_of(ck),
        "latent_grid": {"dim": cfg.dim, "shape": list(cfg.grid), "bbox": {"min": list(cfg.bbox[0]), "max": list(cfg.bbox[1])},
                        "periodic": list(cfg.periodic), "coverage_channel": True},
        "lift": {"kind": "learned", "neighbours": cfg.neighbours, "radius": cfg.radius,
                 # only when not the default, so radius bundles keep the keys older runtimes read
                 **({"footprint": cfg.lift_footprint} if cfg.lift_footprint != "radius" else {})},
        "query": {"kind": "learned", "stencil": cfg.stencil},
        "time": {"frames": cfg.frames, "dt": dt, "context_frames": 1, "slots": cfg.time_slots()},
        "latent": {"channels": cfg.latent_channels, "shape": cfg.latent_shape},
        "parameters": ck.get("parameters") or [],
        "sampler": {"method": "euler", "steps": 10},
        "graphs": graphs,
        "provenance": {
            "dataset": data,
            "stages": [f"stage {s}: {hist[f'stage{s}']['steps']} steps, batch {hist[f'stage{s}']['batch']}, "
                       f"{hist[f'stage{s}']['world']} process(es)" for s in (1, 2, 3) if f"stage{s}" in hist],
            "model": cfg.to_dict(),
            "compression_ratio": round(cfg.compression_ratio(points), 2),
            "metrics": ck.get("metrics", {}),
            "created_by": "echo-onnx-train export (onnx/echo_onnx/train/export.py)",
        },
    }


def export_bundle(run, out, name="ns2d-vorticity", model=None, ck=None, description=None) -> dict:
    """Export `run`'s stage-3 checkpoint (or the given model) into directory `out`."""
    if model is None:
        model, ck = load_checkpoint(run, 3)
    model.eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    graphs = {}
    for gname, (module, inputs, dynamic, output) in example_inputs(model).items():
        path = out / f"{gname}.onnx"
        proto = export_graph(module, inputs, dynamic, output, path)
        graphs[gname] = {"file": path.name, "sha256": sha256_file(path), **graph_signature(proto)}
    m = manifest(model, ck, graphs, name, description)
    (out / "manifest.json").write_text(dumps_manifest(m) + "\n")
    return m
