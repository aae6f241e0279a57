"""Small ECHO bundles with random weights and the real graph signatures, for tests and demos.

The graphs are structurally like ECHO (neighbour-attention lift, causal space-time encoder, a
conditioned convolutional velocity field, an upsampling decoder, a stencil-attention query) but the
weights are seeded random numbers scaled so that values stay O(1). Every graph uses every input.
The files are byte-for-byte reproducible: fixed opset/IR version, counter-based names, seeded numpy.

Time convention shared by encoder and decoder: with temporal compression s and T = 1 + s (S - 1),
slot 0 holds frame 0 and slot j holds frames s (j - 1) + 1 .. s j. The encoder left-pads time by s - 1
and groups frames by s, so slot j only sees frames <= its last frame (causal).
"""

import argparse
from pathlib import Path

import numpy as np

from .manifest import dumps_manifest, graph_signature, sha256_file
from .onnxbuild import GraphBuilder, tensor_info

SPATIAL_STRIDE = 4  # grid nodes per latent node along each axis
TIME_STRIDE = 4     # frames per latent slot (after the first)
SLOTS = 3
FRAMES = 1 + TIME_STRIDE * (SLOTS - 1)
LATENT_CHANNELS = 4
LIFT_FEATURES = 8
DECODER_CHANNELS = 8
FIELD = {"name": "vorticity", "components": 1, "units": "1/s", "association": "point",
         "mean": [0.0], "std": [5.0]}
PARAMETER = {"name": "viscosity", "min": 1e-5, "max": 1e-3, "default": 1e-3, "units": "m^2/s"}


class Config:
    """Sizes of one test bundle, derived from the CLI choices."""

    def __init__(self, dim=2, lift="learned", query="learned", params=True, seed=0):
        if dim not in (2, 3) or lift not in ("learned", "kernel") or query not in ("learned", "linear"):
            raise ValueError(f"unsupported test bundle: dim={dim} lift={lift} query={query}")
        self.dim, self.lift, self.query, self.params, self.seed = dim, lift, query, params, seed
        self.grid = [32, 32] if dim == 2 else [16, 16, 16]           # coordinate order
        self.latent = [n // SPATIAL_STRIDE for n in self.grid]
        self.sp = self.grid[::-1]                                    # tensor order (nz,) ny, nx
        self.lsp = self.latent[::-1]
        self.C = FIELD["components"]
        self.F = LIFT_FEATURES if lift == "learned" else self.C
        self.E = self.F + 1                                          # + coverage channel
        self.G = DECODER_CHANNELS if query == "learned" else self.C
        self.P = 1 if params else 0
        self.T, self.S, self.Z = FRAMES, SLOTS, LATENT_CHANNELS
        self.letters = "yx" if dim == 2 else "wyx"                   # spatial axes in Einsum equations

    def rng(self, graph_index: int) -> np.random.Generator:
        """One generator per graph, so changing one graph leaves the others' weights alone."""
        return np.random.default_rng([self.seed, graph_index])


def _stencil_weights(g: GraphBuilder, offsets: str, D: int, mask=None) -> str:
    """Attention weights [M, K, 1] over neighbours from an MLP on their offsets, biased towards
    near neighbours (-|offset|^2); padded neighbours (mask 0) get weight 0."""
    h = g.op("Tanh", [g.matmul_bias(offsets, D, 16)])
    logits = g.op("Squeeze", [g.matmul_bias(h, 16, 1), g.ints([2])])
    dist2 = g.op("ReduceSum", [g.op("Mul", [offsets, offsets]), g.ints([2])], keepdims=0)
    logits = g.op("Sub", [logits, dist2])
    if mask is not None:  # push padding far down before the softmax, then zero it exactly
        logits = g.op("Add", [logits, g.op("Mul", [g.op("Sub", [mask, g.const(1.0)]), g.const(30.0)])])
    w = g.op("Softmax", [logits], axis=1)
    if mask is not None:
        w = g.op("Mul", [w, mask])
    return g.op("Unsqueeze", [w, g.ints([2])])


def build_lift(cfg: Config):
    """values [M,K,C], offsets [M,K,D], mask [M,K] -> features [M,F]."""
    g = GraphBuilder(cfg.rng(0))
    w = _stencil_weights(g, "offsets", cfg.dim, mask="mask")
    v = g.matmul_bias("values", cfg.C, cfg.F)
    g.op("ReduceSum", [g.op("Mul", [w, v]), g.ints([1])], outputs=["features"], keepdims=0)
    inputs = [tensor_info("values", ["M", "K", cfg.C]), tensor_info("offsets", ["M", "K", cfg.dim]),
              tensor_info("mask", ["M", "K"])]
    return g.model("lift", inputs, [tensor_info("features", ["M", cfg.F])])


def _fold(g: GraphBuilder, x: str, channels: int, spatial) -> str:
    """[B, C, N, *sp] -> [B*N, C, *sp]: fold the time/slot axis into the batch, so that only plain
    2D/3D convolutions are needed (ONNX Runtime CPU has no 4-D spatial Conv)."""
    perm = [0, 2, 1] + list(range(3, 3 + len(spatial)))
    return g.reshape(g.transpose(x, perm), [-1, channels, *spatial])


def _unfold(g: GraphBuilder, x: str, n: int, channels: int, spatial, output=None) -> str:
    """[B*N, C, *sp] -> [B, C, N, *sp], the inverse of `_fold`."""
    perm = [0, 2, 1] + list(range(3, 3 + len(spatial)))
    y = g.reshape(x, [-1, n, channels, *spatial])
    return g.op("Transpose", [y], outputs=[output] if output else None, perm=perm)


def build_encoder(cfg: Config):
    """frames [B,E,T,*sp] -> latent [B,Z,S,*lsp]: per-frame conv + patchify, then causal time grouping."""
    g = GraphBuilder(cfg.rng(1))
    D, hidden, zp, s = cfg.dim, 16, 8, TIME_STRIDE
    x = _fold(g, "frames", cfg.E, cfg.sp)
    x = g.op("Tanh", [g.conv(x, cfg.E, hidden, [3] * D, pad=1)])
    x = g.conv(x, hidden, zp, [SPATIAL_STRIDE] * D, stride=SPATIAL_STRIDE)       # [B*T, zp, *lsp]
    x = g.reshape(x, [-1, cfg.T, zp, *cfg.lsp])
    pads = [0] * (2 * (3 + D))
    pads[1] = s - 1                                                               # left-pad time only
    x = g.op("Pad", [x, g.ints(pads)])
    x = g.reshape(x, [-1, cfg.S, s, zp, *cfg.lsp])
    w = g.weight([s, zp, cfg.Z], s * zp)
    eq = f"bsqc{cfg.letters},qcz->bzs{cfg.letters}"
    y = g.op("Einsum", [x, w], equation=eq)
    g.op("Add", [y, g.bias([cfg.Z, 1] + [1] * D)], outputs=["latent"])
    inputs = [tensor_info("frames", ["B", cfg.E, cfg.T, *cfg.sp])]
    return g.model("encoder", inputs, [tensor_info("latent", ["B", cfg.Z, cfg.S, *cfg.lsp])])


def build_velocity(cfg: Config):
    """z, observed [B,Z,S,*lsp], slot_mask [B,S], r [B] (, params [B,P], param_mask [B]) -> velocity."""
    g = GraphBuilder(cfg.rng(2))
    D, hidden, Z, S = cfg.dim, 32, cfg.Z, cfg.S
    ones = [1] * D
    first = g.op("Slice", ["z", g.ints([0]), g.ints([1]), g.ints([1])])             # [B,1,S,*lsp]
    sm = g.op("Expand", [g.reshape("slot_mask", [-1, 1, S, *ones]), g.op("Shape", [first])])
    x = g.op("Concat", ["z", "observed", sm], axis=1)
    x = _fold(g, x, 2 * Z + 1, cfg.lsp)
    h = g.reshape(g.conv(x, 2 * Z + 1, hidden, [3] * D, pad=1), [-1, S, hidden, *cfg.lsp])
    r_emb = g.op("Sin", [g.matmul_bias(g.op("Unsqueeze", ["r", g.ints([1])]), 1, hidden, gain=3.0)])
    h = g.op("Add", [h, g.reshape(r_emb, [-1, 1, hidden, *ones])])
    if cfg.P:
        p_emb = g.matmul_bias("params", cfg.P, hidden)
        p_emb = g.op("Mul", [p_emb, g.op("Unsqueeze", ["param_mask", g.ints([1])])])
        h = g.op("Add", [h, g.reshape(p_emb, [-1, 1, hidden, *ones])])
    h = g.op("Add", [h, g.op("ReduceMean", [h], axes=[1], keepdims=1)])          # couple the slots
    h = g.reshape(g.op("Tanh", [h]), [-1, hidden, *cfg.lsp])
    v = g.conv(h, hidden, Z, [3] * D, pad=1, gain=0.5)
    _unfold(g, v, S, Z, cfg.lsp, output="velocity")
    latent = ["B", Z, S, *cfg.lsp]
    inputs = [tensor_info("z", latent), tensor_info("observed", latent),
              tensor_info("slot_mask", ["B", S]), tensor_info("r", ["B"])]
    if cfg.P:
        inputs += [tensor_info("params", ["B", cfg.P]), tensor_info("param_mask", ["B"])]
    return g.model("velocity", inputs, [tensor_info("velocity", latent)])


def build_decoder(cfg: Config):
    """latent [B,Z,S,*lsp] -> frames [B,G,T,*sp]: slot -> frames expansion, then upsampling per frame."""
    g = GraphBuilder(cfg.rng(3))
    D, cp, hidden, s = cfg.dim, 8, 16, TIME_STRIDE
    eq = f"bzs{cfg.letters},zqc->bsqc{cfg.letters}"
    x = g.op("Einsum", ["latent", g.weight([cfg.Z, s, cp], cfg.Z)], equation=eq)
    x = g.op("Add", [x, g.bias([cp] + [1] * D)])
    x = g.reshape(x, [-1, cfg.S * s, cp, *cfg.lsp])
    x = g.op("Slice", [x, g.ints([s - 1]), g.ints([cfg.S * s]), g.ints([1])])    # drop the padding frames
    x = g.reshape(x, [-1, cp, *cfg.lsp])
    x = g.op("Tanh", [g.conv_transpose(x, cp, hidden, [SPATIAL_STRIDE] * D, SPATIAL_STRIDE)])
    x = g.conv(x, hidden, cfg.G, [3] * D, pad=1)
    _unfold(g, x, cfg.T, cfg.G, cfg.sp, output="frames")
    inputs = [tensor_info("latent", ["B", cfg.Z, cfg.S, *cfg.lsp])]
    return g.model("decoder", inputs, [tensor_info("frames", ["B", cfg.G, cfg.T, *cfg.sp])])


def build_query(cfg: Config):
    """features [M,K,G], offsets [M,K,D] -> values [M,C]."""
    g = GraphBuilder(cfg.rng(4))
    w = _stencil_weights(g, "offsets", cfg.dim)
    v = g.matmul_bias(g.op("Tanh", [g.matmul_bias("features", cfg.G, 16)]), 16, cfg.C)
    g.op("ReduceSum", [g.op("Mul", [w, v]), g.ints([1])], outputs=["values"], keepdims=0)
    inputs = [tensor_info("features", ["M", "K", cfg.G]), tensor_info("offsets", ["M", "K", cfg.dim])]
    return g.model("query", inputs, [tensor_info("values", ["M", cfg.C])])


def _manifest(cfg: Config, graphs: dict) -> dict:
    dim = cfg.dim
    return {
        "format": "echo-bundle",
        "format_version": 1,
        "name": f"test-{dim}d-{cfg.lift}-{cfg.query}" + ("" if cfg.P else "-noparams"),
        "description": "Random-weight bundle with the real ECHO graph signatures, for tests; "
                       "its predictions are meaningless.",
        "fields": [FIELD],
        "latent_grid": {"dim": dim, "shape": cfg.grid,
                        "bbox": {"min": [0.0] * dim, "max": [1.0] * dim},
                        "periodic": [True] * dim, "coverage_channel": True},
        "lift": {"kind": cfg.lift, "neighbours": 8, "radius": 2.0},
        "query": {"kind": cfg.query, "stencil": 2},
        "time": {"frames": cfg.T, "dt": 0.1, "context_frames": 1,
                 "slots": [[0]] + [list(range(1 + TIME_STRIDE * j, 1 + TIME_STRIDE * (j + 1)))
                                   for j in range(cfg.S - 1)]},
        "latent": {"channels": cfg.Z, "shape": cfg.latent},
        "parameters": [PARAMETER] if cfg.P else [],
        "sampler": {"method": "euler", "steps": 10},
        "graphs": graphs,
        "provenance": {"dataset": "none (random weights, for tests)", "stages": [], "metrics": {},
                       "created_by": f"echo_onnx.testbundle (seed {cfg.seed})"},
    }


def build_bundle(out, dim=2, lift="learned", query="learned", params=True, seed=0) -> dict:
    """Write the bundle into directory `out` and return its manifest."""
    cfg = Config(dim, lift, query, params, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    builders = {"lift": build_lift, "encoder": build_encoder, "velocity": build_velocity,
                "decoder": build_decoder, "query": build_query}
    if lift != "learned":
        del builders["lift"]
    if query != "learned":
        del builders["query"]
    graphs = {}
    for name, build in builders.items():
        model = build(cfg)
        path = out / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        graphs[name] = {"file": path.name, "sha256": sha256_file(path), **graph_signature(model)}
    manifest = _manifest(cfg, graphs)
    (out / "manifest.json").write_text(dumps_manifest(manifest) + "\n")
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write a small random-weight ECHO bundle (for tests).")
    ap.add_argument("--out", required=True, help="bundle directory to write")
    ap.add_argument("--dim", type=int, choices=(2, 3), default=2)
    ap.add_argument("--lift", choices=("learned", "kernel"), default="learned")
    ap.add_argument("--query", choices=("learned", "linear"), default="learned")
    ap.add_argument("--no-params", action="store_true", help="no PDE parameters (velocity without params inputs)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    a = ap.parse_args(argv)
    m = build_bundle(a.out, a.dim, a.lift, a.query, not a.no_params, a.seed)
    print(f"wrote {m['name']} to {a.out}")


if __name__ == "__main__":
    main()
