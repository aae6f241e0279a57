"""A tiny deterministic ONNX graph builder on top of `onnx.helper`.

Names are generated from counters (never from ids or time), so the same calls give the same bytes.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # opset 17 needs IR >= 8; kept at the minimum so that older runtimes load the graphs


def tensor_info(name: str, shape) -> onnx.ValueInfoProto:
    """A float32 graph input/output; ints are fixed sizes, strings symbolic axes."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


class GraphBuilder:
    """Collects nodes and initializers; `op` returns the name of the (first) output."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes = []
        self.inits = []
        self.count = 0

    def _name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, array, dtype=np.float32) -> str:
        """An initializer holding `array`."""
        name = self._name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def ints(self, values) -> str:
        """An int64 initializer (shapes, axes, pads)."""
        return self.const(values, dtype=np.int64)

    def weight(self, shape, fan_in: int, gain: float = 1.0) -> str:
        """Random normal weights scaled by gain / sqrt(fan_in), so activations stay O(1)."""
        w = self.rng.standard_normal(shape) * (gain / np.sqrt(fan_in))
        return self.const(w)

    def bias(self, shape, scale: float = 0.1) -> str:
        return self.const(self.rng.standard_normal(shape) * scale)

    def op(self, op_type: str, inputs, outputs=None, **attrs) -> str:
        """Add a node; `outputs` names graph outputs explicitly, else one fresh name is made."""
        outputs = outputs or [self._name("t")]
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=self._name("n"), **attrs))
        return outputs[0]

    def reshape(self, x: str, shape) -> str:
        return self.op("Reshape", [x, self.ints(shape)])

    def transpose(self, x: str, perm) -> str:
        return self.op("Transpose", [x], perm=list(perm))

    def matmul_bias(self, x: str, n_in: int, n_out: int, gain: float = 1.0) -> str:
        """x @ W + b over the last axis."""
        y = self.op("MatMul", [x, self.weight([n_in, n_out], n_in, gain)])
        return self.op("Add", [y, self.bias([n_out])])

    def conv(self, x: str, c_in: int, c_out: int, kernel, stride=1, pad=0, gain: float = 1.0) -> str:
        """A Conv over len(kernel) spatial axes with a bias."""
        k = list(kernel)
        w = self.weight([c_out, c_in, *k], c_in * int(np.prod(k)), gain)
        return self.op("Conv", [x, w, self.bias([c_out])], kernel_shape=k,
                       strides=[stride] * len(k), pads=[pad] * (2 * len(k)))

    def conv_transpose(self, x: str, c_in: int, c_out: int, kernel, stride: int, gain: float = 1.0) -> str:
        k = list(kernel)
        w = self.weight([c_in, c_out, *k], c_in, gain)
        return self.op("ConvTranspose", [x, w, self.bias([c_out])], kernel_shape=k, strides=[stride] * len(k))

    def model(self, name: str, inputs, outputs) -> onnx.ModelProto:
        """The checked model with fixed opset and IR version (inputs/outputs: ValueInfoProtos)."""
        graph = helper.make_graph(self.nodes, name, inputs, outputs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="echo_onnx", producer_version="1")
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        return model
