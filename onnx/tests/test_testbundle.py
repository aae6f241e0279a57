import hashlib
import itertools

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from echo_onnx.manifest import graph_signature, load_manifest
from echo_onnx.testbundle import build_bundle

VARIANTS = list(itertools.product((2, 3), ("learned", "kernel"), ("learned", "linear"), (True, False)))
KEYS = ["format", "format_version", "name", "description", "fields", "latent_grid", "lift", "query",
        "time", "latent", "parameters", "sampler", "graphs", "provenance"]


def digests(d):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_build_is_byte_for_byte_deterministic(tmp_path):
    build_bundle(tmp_path / "a")
    build_bundle(tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    build_bundle(tmp_path / "c", seed=1)
    assert digests(tmp_path / "a")["encoder.onnx"] != digests(tmp_path / "c")["encoder.onnx"]


def variant_id(v):
    return f"{v[0]}d-{v[1]}-{v[2]}-{'params' if v[3] else 'noparams'}"


@pytest.fixture(scope="module", params=VARIANTS, ids=variant_id)
def variant(request, tmp_path_factory):
    dim, lift, query, params = request.param
    out = tmp_path_factory.mktemp("variant")
    build_bundle(out, dim, lift, query, params)
    return out, load_manifest(out)


def test_manifest_matches_graphs(variant):
    out, m = variant
    assert list(m) == KEYS
    assert ("lift" in m["graphs"]) == (m["lift"]["kind"] == "learned")
    assert ("query" in m["graphs"]) == (m["query"]["kind"] == "learned")
    for g in m["graphs"].values():
        data = (out / g["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == g["sha256"]
        model = onnx.load_from_string(data)
        assert model.opset_import[0].version == 17
        sig = graph_signature(model)
        assert sig["inputs"] == g["inputs"] and sig["outputs"] == g["outputs"]


def doc_shapes(m):
    """The doc's signature table, with B = 2, M = 37 and K = neighbours / stencil^D."""
    dim, C = m["latent_grid"]["dim"], sum(f["components"] for f in m["fields"])
    sp = m["latent_grid"]["shape"][::-1]
    lat = [2, m["latent"]["channels"], len(m["time"]["slots"]), *m["latent"]["shape"][::-1]]
    T, P = m["time"]["frames"], len(m["parameters"])
    F = 8 if m["lift"]["kind"] == "learned" else C
    E = F + int(m["latent_grid"]["coverage_channel"])
    G = 8 if m["query"]["kind"] == "learned" else C
    Kl, Kq = m["lift"]["neighbours"], m["query"]["stencil"] ** dim
    vel_in = {"z": lat, "observed": lat, "slot_mask": [2, lat[2]], "r": [2]}
    if P:
        vel_in.update(params=[2, P], param_mask=[2])
    return {
        "lift": ({"values": [37, Kl, C], "offsets": [37, Kl, dim], "mask": [37, Kl]}, [37, F]),
        "encoder": ({"frames": [2, E, T, *sp]}, lat),
        "velocity": (vel_in, lat),
        "decoder": ({"latent": lat}, [2, G, T, *sp]),
        "query": ({"features": [37, Kq, G], "offsets": [37, Kq, dim]}, [37, C]),
    }


def test_every_graph_runs_with_the_doc_shapes(variant):
    out, m = variant
    rng = np.random.default_rng(0)
    for name, g in m["graphs"].items():
        inputs, want = doc_shapes(m)[name]
        assert [i["name"] for i in g["inputs"]] == list(inputs)
        sess = ort.InferenceSession(str(out / g["file"]), providers=["CPUExecutionProvider"])
        feeds = {k: rng.random(s).astype(np.float32) for k, s in inputs.items()}
        y = sess.run(None, feeds)[0]
        assert list(y.shape) == want and np.isfinite(y).all() and np.abs(y).max() < 10
        for k in feeds:  # every input matters
            other = dict(feeds, **{k: feeds[k] + 0.5})
            assert not np.allclose(sess.run(None, other)[0], y), f"{name}: output ignores {k}"


@pytest.mark.parametrize("dim", [2, 3])
def test_encoder_is_causal(tmp_path, dim):
    m = build_bundle(tmp_path, dim=dim)
    _, lat = doc_shapes(m)["encoder"]
    sess = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    frames = np.random.default_rng(1).random(doc_shapes(m)["encoder"][0]["frames"]).astype(np.float32)
    a = sess.run(None, {"frames": frames})[0]
    frames[:, :, 5] += 1.0
    b = sess.run(None, {"frames": frames})[0]
    np.testing.assert_allclose(a[:, :, :2], b[:, :, :2], rtol=0, atol=1e-6)  # slots 0 and 1: frames <= 4
    assert not np.allclose(a[:, :, 2], b[:, :, 2])
