"""The network's live path as an ONNX graph, for ONNX Runtime in a web page (demo/static/modules/network.js).

What is exported: Conv1, PrimaryCaps, the W_ij and routing-by-agreement unrolled for the model's
iterations; not the decoder, which the page already has (demo/static/components/decoder.js). One input, a batch of images
"image" (B, 1, 28, 28) in [0, 1], and five outputs:
- "lengths" (B, 10) and "poses" (B, 10, 16): model(x)'s lengths and poses;
- "iteration_lengths" (r, B, 10) and "coupling" (r, B, 1152, 10): model.trace(x)'s, one row per iteration;
- "primary" (B, 1152, 8): model.trace(x)'s squashed primary capsules u_i.

The weights are stored in float16 and cast to float32 by the graph itself, so all sums stay float32: the
file is half as big, and the outputs move by far less than the 1e-3 that tests/test_export.py allows
(sizes and differences: docs/in-page-network.md).
"""

import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .atomic import atomic_write
from .model import CapsNet

INPUT = "image"
OUTPUTS = ("lengths", "poses", "iteration_lengths", "coupling", "primary")
# TorchScript's exporter (dynamo=False) at the opset it knows best: several times faster than the dynamo exporter
# on this graph, with the same outputs (docs/in-page-network.md), and the demo exports as it starts.
OPSET = 17


class LivePath(torch.nn.Module):
    """model.trace as a module with tensor outputs: what torch.onnx.export traces."""

    def __init__(self, model: CapsNet):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        trace = self.model.trace(image)  # the model's own iterations: the last one is model(x)'s
        return trace.lengths[-1], trace.poses[-1], trace.lengths, trace.coupling, trace.primary


def onnx_bytes(model: CapsNet) -> bytes:
    """The live path of model (on the CPU) as a serialised ONNX model with float16 weights."""
    buffer = io.BytesIO()
    example = torch.zeros(1, 1, model.config.image_size, model.config.image_size)
    with torch.no_grad(), warnings.catch_warnings():
        # It warns that it is deprecated (the dynamo exporter is the default now): chosen knowingly, see OPSET.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(LivePath(model).eval(), (example,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=[INPUT], output_names=list(OUTPUTS),
                          dynamic_axes={INPUT: {0: "batch"}})
    graph = onnx.load_from_string(buffer.getvalue())
    weights_in_float16(graph)
    return graph.SerializeToString()


def export_onnx(model: CapsNet, path: str | Path) -> Path:
    """Writes the live path of model to path (an .onnx file) and returns the path."""
    path = Path(path)
    with atomic_write(path) as f:
        f.write(onnx_bytes(model))
    return path


def weights_in_float16(graph: onnx.ModelProto) -> None:
    """Stores the weight tensors (conv kernels and W, 99.99% of the bytes) as float16, each followed by a Cast
    back to float32 under its old name; biases and constants such as routing's EPS (0 in float16) stay as they are.
    """
    casts = []
    for tensor in list(graph.graph.initializer):
        weight = numpy_helper.to_array(tensor)
        if weight.dtype != np.float32 or weight.ndim < 2:
            continue
        graph.graph.initializer.remove(tensor)
        graph.graph.initializer.append(numpy_helper.from_array(weight.astype(np.float16), f"{tensor.name}.float16"))
        casts.append(helper.make_node("Cast", [f"{tensor.name}.float16"], [tensor.name], to=TensorProto.FLOAT))
    nodes = casts + list(graph.graph.node)  # the casts before their users: ONNX nodes are in order
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
