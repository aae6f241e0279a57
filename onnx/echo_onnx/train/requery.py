"""Refit a bundle's learned query head with the continuous window (issue 15), from the bundle alone.

The query head turns the decoder's features at the s^d stencil nodes around a point into the field
there. The first NS2D head weighted the nodes with a softmax whose support changes abruptly when a
point crosses a latent-cell boundary: the output steps at every cell boundary (jump ratio 3.5 at
256^2). The windowed head (model/query.py, `query_window`) multiplies the weights by a tent that is
0 at the stencil's edge, so the field is continuous. Everything before the head stays as trained:

- inputs: the decoder's features of training windows, made by the bundle's own lift, encoder and
  decoder (ONNX Runtime, reconstructions of whole windows);
- targets: those windows' frames upsampled 4x (band-limited, as stage 1 trains the head) at random
  points of the fine lattice, normalised as the manifest says;
- start: the old head's weights (read back from query.onnx), the tent switched on.

The result is a copy of the bundle with query.onnx replaced and the manifest updated (the graph's
digest, `provenance.model.query_window`, a line in `provenance.stages`); metrics.json gains
`continuous_query` with the held-out figures before and after (reconstruction error at the data
lattice and at 4x, and the jump ratio), which REPORT.md shows.

    .venv/bin/echo-onnx-train requery --bundle onnx/bundles/ns2d-vorticity --data DATA --out NEW [--minutes 10]
"""

import json
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch.export import Dim

from ..grid import Stencil
from ..manifest import dumps_manifest, sha256_file
from ..model.query import Query
from ..reference import Forecaster, Runtime
from .data import load, upsample
from .export import QueryGraph, export_graph
from .superres import lattice

FINE = 4  # targets on the 4x lattice, as stage 1


def log(msg):
    print(f"[requery] {msg}", flush=True)


def head_from_onnx(path, decoder_channels: int, dim: int, channels: int, window) -> Query:
    """A torch Query with the weights of an exported query graph. The exporter keeps the names of
    biases and buffers and stores the weight matrices transposed under anonymous names; each is
    found by its shape (unique in this head), and the caller checks the result against the graph."""
    head = Query(decoder_channels, dim, channels, window=window)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    anonymous = {k: v for k, v in inits.items() if not k.startswith("m.")}
    state = {}
    for name, p in list(head.named_parameters()) + list(head.named_buffers()):
        if f"m.{name}" in inits:
            state[name] = torch.from_numpy(inits[f"m.{name}"].copy())
            continue
        found = [k for k, v in anonymous.items() if v.shape == tuple(p.shape[::-1])]
        if len(found) != 1:
            raise ValueError(f"cannot match {name} {tuple(p.shape)} in {path}: candidates {found}")
        state[name] = torch.from_numpy(anonymous.pop(found[0]).T.copy())
    head.load_state_dict(state)
    return head


def check_against_graph(head: Query, path, decoder_channels: int, dim: int):
    """The torch head (before the tent is switched on) computes what the graph computes."""
    g = torch.Generator().manual_seed(0)
    feats, offs = torch.randn(256, 2 ** dim, decoder_channels, generator=g), torch.rand(256, 2 ** dim, dim, generator=g) - 0.5
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"features": feats.numpy(), "offsets": offs.numpy()})[0]
    with torch.no_grad():
        got = head(feats, offs).numpy()
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    if err > 1e-5:
        raise ValueError(f"the head read back from {path} differs from the graph by {err:.2e} (relative)")
    return err


class Windows:
    """Decoded features [W, G, T, nodes] of data windows and their raw frames [W, T, n, n]."""

    def __init__(self, fc: Forecaster, w: np.ndarray, every: int, limit: int | None = None):
        T = fc.T
        starts = [(i, s) for i in range(w.shape[0]) for s in range(0, w.shape[1] - T + 1, every)]
        if limit:
            starts = starts[:: max(1, len(starts) // limit)][:limit]
        feats, frames = [], []
        for i, s in starts:
            frames.append(w[i, s:s + T])
            values = fc.normalise(frames[-1].reshape(T, -1, 1))
            observed, _ = fc.observe(values)  # every frame observed: the latent of the whole window
            decoded = fc.rt.run("decoder", latent=observed)[0]
            feats.append(decoded.reshape(decoded.shape[0], T, -1))
        self.features = np.stack(feats).astype(np.float32)
        self.frames = np.stack(frames)
        self.n = w.shape[-1]


def targets(fc: Forecaster, frame: np.ndarray, points_flat: np.ndarray) -> np.ndarray:
    """The frame upsampled FINE x (band-limited) at flat indices of the fine lattice, normalised."""
    fine = upsample(frame[None], FINE)[0].reshape(-1)
    return fc.normalise(fine[points_flat][:, None]).astype(np.float32)


def evaluate(fc: Forecaster, head: Query, win: Windows, stencil: int, rng_seed=0, points=4096) -> dict:
    """Held-out reconstruction error (relative L2, normalised units) at the data lattice and at
    random points of the 4x lattice, and the jump ratio at 4x along x and y."""
    rng = np.random.default_rng(rng_seed)
    n, nf = win.n, win.n * FINE
    coarse = Stencil(fc.grid, lattice(n), stencil)
    num = {"data lattice": 0.0, f"{FINE}x lattice": 0.0}
    den = dict(num)
    jumps, truths = [], []
    for k in range(len(win.features)):
        t = int(rng.integers(win.frames.shape[1]))
        f = win.features[k][:, t]                                         # [G, nodes]
        truth = fc.normalise(win.frames[k, t].reshape(-1, 1))
        pred = apply(head, f, coarse)
        num["data lattice"] += float(((pred - truth) ** 2).sum())
        den["data lattice"] += float((truth ** 2).sum())
        flat = rng.choice(nf * nf, size=points, replace=False)
        st = Stencil(fc.grid, lattice(nf)[flat], stencil)
        tt = targets(fc, win.frames[k, t], flat)
        pf = apply(head, f, st)
        num[f"{FINE}x lattice"] += float(((pf - tt) ** 2).sum())
        den[f"{FINE}x lattice"] += float((tt ** 2).sum())
        if k < 4:
            dense = apply(head, f, Stencil(fc.grid, lattice(nf), stencil))[:, 0].reshape(nf, nf)
            jumps.append(differences(fc, dense))
            truths.append(differences(fc, upsample(win.frames[k, t][None], FINE)[0]))
    profile, truth_profile = np.mean(jumps, axis=0), np.mean(truths, axis=0)
    # The jump ratio sees steps at the boundaries; a field that is continuous but stair-like (flat near
    # the nodes, steep between them) passes it, so the whole profile is kept: max / min near 1 is smooth.
    return {"rel_l2": {k: float(np.sqrt(num[k] / den[k])) for k in num}, "jump_ratio": jump_ratio(profile),
            "difference_profile": [round(float(x), 4) for x in profile / profile.mean()],
            "profile_max_over_min": float(profile.max() / profile.min()),
            "truth_profile_max_over_min": float(truth_profile.max() / truth_profile.min())}


def apply(head: Query, features: np.ndarray, st: Stencil) -> np.ndarray:
    """The head at a stencil's points from one frame's features [G, nodes] -> [M, C]."""
    with torch.no_grad():
        x = torch.from_numpy(features.T[st.idx].copy())                 # [M, Ks, G]
        return head(x, torch.from_numpy(st.offsets)).numpy()


def differences(fc: Forecaster, v: np.ndarray) -> np.ndarray:
    """Mean |difference| of neighbouring points of a field on the nf^2 lattice [nf, nf] (along x and y,
    periodic) by the pair's position in its latent cell [per_cell]: the last position is the pair that
    straddles a cell boundary. A smooth field gives about the same value at every position."""
    per_cell = v.shape[-1] // fc.grid.shape[0]
    dx = np.abs(np.roll(v, -1, axis=1) - v)
    dy = np.abs(np.roll(v, -1, axis=0) - v)
    return np.array([(dx[:, p::per_cell].mean() + dy[p::per_cell, :].mean()) / 2 for p in range(per_cell)])


def jump_ratio(profile: np.ndarray) -> float:
    """Issue 15's jump ratio: the pairs across a cell boundary over those inside a cell (~1 when smooth)."""
    return float(profile[-1] / profile[:-1].mean())


def picture(old, new, data, out_png, nf=256, zoom=0.25):
    """Held-out test frame 0 reconstructed (every frame of the window observed) and evaluated on the
    nf^2 lattice by the old and the new head, beside the truth upsampled band-limited, zoomed on
    [0, zoom]^2 where the latent cells (dotted) are visible; and one row of each across the zoom."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    test = load(Path(data) / "test.npz")
    frame = test["w"][0, 0]
    truth = upsample(frame[None], nf // frame.shape[-1])[0]
    fields = {}
    for label, b in (("old head", old), ("continuous head", new)):
        fc = Forecaster(Runtime(b), lattice(frame.shape[-1]), lattice(nf))
        win = Windows(fc, test["w"][:1], every=test["w"].shape[1])
        head = head_from_onnx(Path(b) / "query.onnx", win.features.shape[1], fc.grid.dim, 1,
                              window=None if label == "old head" else fc.m["query"]["stencil"] / 2)
        dense = apply(head, win.features[0][:, 0], Stencil(fc.grid, lattice(nf), fc.m["query"]["stencil"]))
        fields[label] = fc.denormalise(dense)[:, 0].reshape(nf, nf)
    fields["truth, band-limited upsampling"] = truth
    k = int(zoom * nf)
    cells = fc.grid.shape[0]
    lo, hi = float(truth[:k, :k].min()), float(truth[:k, :k].max())
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2), constrained_layout=True)
    for ax, (label, f) in zip(axes, fields.items()):
        im = ax.imshow(f[:k, :k], origin="lower", extent=(0, zoom, 0, zoom), vmin=lo, vmax=hi, cmap="RdBu_r")
        for c in np.arange(0, zoom + 1e-9, 1 / cells):
            ax.axvline(c, color="k", lw=0.3, ls=":")
            ax.axhline(c, color="k", lw=0.3, ls=":")
        ax.set_title(label)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    fig.colorbar(im, ax=axes[:3], label="vorticity (1/s)", shrink=0.9)
    row = k // 2
    x = np.arange(k) / nf
    for label, f in fields.items():
        axes[3].plot(x, f[row, :k], lw=1, label=label)
    for c in np.arange(0, zoom + 1e-9, 1 / cells):
        axes[3].axvline(c, color="k", lw=0.3, ls=":")
    axes[3].set_xlabel(f"x (row y = {row / nf:.3f})")
    axes[3].set_ylabel("vorticity (1/s)")
    axes[3].set_title("one row; dotted: latent-cell boundaries")
    axes[3].legend(fontsize=7)
    fig.suptitle(f"Held-out test frame reconstructed at {nf}^2, zoomed on [0, {zoom}]^2")
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


def fit(head: Query, fc: Forecaster, win: Windows, s: int, minutes, batch, points, lr, seed):
    """Adam on the MSE at random points of the 4x lattice (batch frames x points each), a cosine
    schedule over the time budget. Returns (steps, loss history every 100 steps)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    nf = win.n * FINE
    fine = lattice(nf)
    deadline = time.perf_counter() + 60 * minutes
    step, history = 0, []
    while time.perf_counter() < deadline:
        feats, offs, tgt = [], [], []
        for _ in range(batch):
            k, t = int(rng.integers(len(win.features))), int(rng.integers(win.frames.shape[1]))
            flat = rng.choice(nf * nf, size=points, replace=False)
            st = Stencil(fc.grid, fine[flat], s)
            feats.append(win.features[k][:, t].T[st.idx])
            offs.append(st.offsets)
            tgt.append(targets(fc, win.frames[k, t], flat))
        x = torch.from_numpy(np.concatenate(feats))
        o = torch.from_numpy(np.concatenate(offs))
        y = torch.from_numpy(np.concatenate(tgt))
        for g in opt.param_groups:  # cosine over the time budget
            g["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(1.0, 1 - (deadline - time.perf_counter()) / (60 * minutes))))
        loss = torch.mean((head(x, o) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            history.append({"step": step, "loss": round(loss.item(), 5)})
            log(f"step {step}: loss {loss.item():.5f}")
    return step, history


def rescore(old, new, data, record: dict):
    """The bundle-dependent sections of the new bundle's metrics.json, computed again with its graphs
    (evaluate.evaluate_bundle; the FNO, persistence, POD and training records do not depend on the
    head and stay), the old bundle's the same way for the before/after table, then REPORT.md."""
    from .evaluate import evaluate_bundle
    from .report import write_report
    log("the old bundle's held-out figures, bundle alone ...")
    record["sections_before"] = evaluate_bundle(old, data)
    log("the new bundle's ...")
    after = record["sections_after"] = evaluate_bundle(new, data)
    metrics = json.loads((new / "metrics.json").read_text())
    metrics["autoencoder"], metrics["autoencoder_via"] = after["autoencoder_onnx"], "onnx"
    metrics["forecast"].update(after["forecast"])
    metrics["inverse_interpolation"], metrics["generation"] = after["inverse_interpolation"], after["generation"]
    metrics.pop("super_resolution", None)  # made with the old head: `echo-onnx-train super-res` again
    metrics.pop("calibration", None)       # likewise: `echo-onnx-train calibration`
    metrics["continuous_query"] = record
    picture(old, new, data, new / "continuous_query.png")
    (new / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float) + "\n")
    write_report(new / "metrics.json", new / "REPORT.md")


def refit(bundle, data, out, minutes=10.0, batch=8, points=1024, lr=1e-3, seed=0, threads=None, stencil=None):
    """`stencil`: the new head's nodes per axis (default: the bundle's); its tent is stencil / 2 wide."""
    t_start = time.perf_counter()
    bundle, out = Path(bundle), Path(out)
    if threads:
        torch.set_num_threads(threads)
    rt = Runtime(bundle)
    m = rt.manifest
    if m["query"]["kind"] != "learned":
        raise SystemExit(f"{bundle}: the query is not learned; nothing to refit")
    train, test = load(Path(data) / "train.npz"), load(Path(data) / "test.npz")
    n = train["w"].shape[-1]
    fc = Forecaster(rt, lattice(n), lattice(n))
    G = m["graphs"]["query"]["inputs"][0]["shape"][-1]
    dim, C, s_old = fc.grid.dim, sum(f["components"] for f in m["fields"]), m["query"]["stencil"]
    s = stencil or s_old
    old = head_from_onnx(bundle / "query.onnx", G, dim, C, window=None)
    log(f"old head read back from query.onnx (max relative difference {check_against_graph(old, bundle / 'query.onnx', G, dim):.1e})")
    head = head_from_onnx(bundle / "query.onnx", G, dim, C, window=s / 2)
    t0 = time.perf_counter()
    win = Windows(fc, train["w"], every=8)
    held = Windows(fc, test["w"], every=16, limit=16)
    log(f"decoded {len(win.features)} training and {len(held.features)} held-out windows in {time.perf_counter() - t0:.0f} s")
    before = {"old head": evaluate(fc, old, held, s_old), "windowed, before refitting": evaluate(fc, head, held, s)}
    log(f"before: {json.dumps(before)}")

    step, history = fit(head, fc, win, s, minutes, batch, points, lr, seed)
    after = evaluate(fc, head, held, s)
    log(f"after {step} steps: {json.dumps(after)}")

    # Written next to `out` and moved into place at the end: `out` may be the bundle itself.
    final, out = out, out.parent / f".{out.name}.requery"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(bundle, out)
    ex = {"features": torch.randn(64, s ** dim, G), "offsets": torch.rand(64, s ** dim, dim) - 0.5}
    Ksd = Dim("Ks", min=1, max=1024)
    export_graph(QueryGraph(head), ex, {"features": {0: Dim("M"), 1: Ksd}, "offsets": {0: Dim("M"), 1: Ksd}}, "values",
                 out / "query.onnx")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["graphs"]["query"]["sha256"] = sha256_file(out / "query.onnx")
    prov = manifest.setdefault("provenance", {})
    manifest["query"]["stencil"] = s
    prov.setdefault("model", {}).update(query_window=True, stencil=s)
    prov.setdefault("stages", []).append(
        f"query head refitted with the continuous window (echo-onnx-train requery), stencil {s_old} -> {s}: {step} steps, batch {batch} x "
        f"{points} points of the {FINE}x lattice, {minutes:g} min, features of {len(win.features)} training windows")
    (out / "manifest.json").write_text(dumps_manifest(manifest) + "\n")
    record = {"before": before["old head"], "windowed_before_refit": before["windowed, before refitting"],
              "after": after, "steps": step, "minutes": minutes, "history": history,
              "held_out_windows": len(held.features), "lattice_factor": FINE, "stencil": [s_old, s]}
    if (out / "metrics.json").exists():
        rescore(bundle, out, data, record)
    if final.exists():
        shutil.rmtree(final)
    out.rename(final)
    log(f"wrote {final} in {time.perf_counter() - t_start:.0f} s")
    return {"before": before, "after": after, "steps": step}
