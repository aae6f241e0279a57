"""Reading bundles and describing graph signatures the way manifest.json spells them."""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx

_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.DOUBLE: "float64",
           onnx.TensorProto.INT64: "int64", onnx.TensorProto.INT32: "int32"}


def normalise_parameter(value, spec: dict):
    """A parameter's value (a number or an array) -> [0, 1] over the manifest entry's range, linearly
    or, with `"scale": "log"`, in its logarithm (a range of decades, such as viscosities 1e-5 .. 1e-3,
    where linearly 1e-5 and 1e-4 would be 0 and 0.09): what the runtime feeds the velocity graph."""
    if spec.get("scale", "linear") == "log":
        return (np.log(value) - np.log(spec["min"])) / (np.log(spec["max"]) - np.log(spec["min"]))
    return (np.asarray(value, dtype=np.float64) - spec["min"]) / (spec["max"] - spec["min"])


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tensor_sig(value_info) -> dict:
    t = value_info.type.tensor_type
    shape = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in t.shape.dim]
    return {"name": value_info.name, "dtype": _DTYPES[t.elem_type], "shape": shape}


def graph_signature(model: onnx.ModelProto) -> dict:
    """`{"inputs": [...], "outputs": [...]}` as declared by the graph (initializers excluded)."""
    inits = {i.name for i in model.graph.initializer}
    return {"inputs": [_tensor_sig(v) for v in model.graph.input if v.name not in inits],
            "outputs": [_tensor_sig(v) for v in model.graph.output]}


def load_manifest(bundle_dir) -> dict:
    manifest = json.loads((Path(bundle_dir) / "manifest.json").read_text())
    if manifest.get("format") != "echo-bundle" or manifest.get("format_version") != 1:
        raise ValueError(f"{bundle_dir}: not an echo-bundle of format_version 1")
    return manifest


def dumps_manifest(obj, indent: str = "") -> str:
    """JSON with objects indented and flat lists (shapes, slots' frames) kept on one line."""
    pad = indent + "  "
    flat = json.dumps(obj)
    if isinstance(obj, dict) and len(flat) <= 80 and not any(isinstance(v, dict) for v in obj.values()):
        return flat  # small records such as a tensor signature stay on one line
    if isinstance(obj, dict) and obj:
        items = [f"{pad}{json.dumps(k)}: {dumps_manifest(v, pad)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) and v for v in obj):
        if all(isinstance(v, list) for v in obj):  # list of flat lists, e.g. time.slots
            return "[" + ", ".join(dumps_manifest(v, pad) for v in obj) + "]"
        return "[\n" + ",\n".join(pad + dumps_manifest(v, pad) for v in obj) + "\n" + indent + "]"
    return flat
