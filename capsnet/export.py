"""What the page computes, as ONNX graphs for ONNX Runtime in a web page (demo/static/modules/network.js): the network's live
path, the decoder and the warp of the #transform sliders, each exported from the Python that the server runs.

- onnx_bytes(model), the live path: Conv1, PrimaryCaps, the W_ij and routing-by-agreement unrolled for the model's
  iterations. One input, a batch of images "image" (B, 1, 28, 28) in [0, 1], and six outputs:
  - "lengths" (B, 10) and "poses" (B, 10, 16): model(x)'s lengths and poses;
  - "iteration_lengths" (r, B, 10) and "coupling" (r, B, 1152, 10): model.trace(x)'s, one row per iteration;
  - "primary" (B, 1152, 8): model.trace(x)'s squashed primary capsules u_i;
  - "predictions" (B, 1152, 10, 16): model.trace(x)'s u_hat_j|i = W_ij u_i, what the explain graph routes again.
- decoder_onnx_bytes(model): model.decode, "poses" (N, 16) placed in capsules "digits" (N,) (int64) -> "images"
  (N, 1, 28, 28): a slider move is one pose, Figure 4 could be all of its rows at once.
- explain_onnx_bytes(config, iterations): capsnet.explain.Explain, the explainer views' numbers for one image's
  "predictions" (1, 1152, 10, 16) and "poses" (1, 10, 16) (the live path's) and a "digit" (1,) (int64), with routing
  re-run for iterations -> EXPLAIN_OUTPUTS; no weights, so models of one config share it.
- warp_onnx_bytes(): capsnet.transforms.warp, "image" (B, 1, 28, 28) changed by "change" (5,), the page's five
  sliders in CHANGE's order -> "warped" (B, 1, 28, 28); the change matrix (its cos and sin) is made in the graph.

The weights are stored smaller and made float32 again by the graph itself, so all sums stay float32 (sizes and
differences: docs/in-page-network.md). The live path's weights are 8-bit integers with a float32 scale for each
output channel, a quarter of float32's bytes: its lengths move by less than 0.01 and its longest capsule is
model(x)'s on at least 99.9% of MNIST's test digits. Its first layer, which multiplies the pixels themselves, and
the decoder, whose pictures moved by tens of grey levels in 8 bits, keep float16, which the shipped checkpoints hold
already: for them nothing is rounded.
"""

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .atomic import atomic_write
from .explain import EXPLAIN_INPUTS, EXPLAIN_OUTPUTS, Explain
from .model import CapsNet, CapsNetConfig
from .transforms import warp

INPUT = "image"
OUTPUTS = ("lengths", "poses", "iteration_lengths", "coupling", "primary", "predictions")
DECODER_INPUTS = ("poses", "digits")
DECODER_OUTPUT = "images"
WARP_INPUTS = ("image", "change")
WARP_OUTPUT = "warped"
CHANGE = ("rotate", "scale", "shear", "shift_x", "shift_y")  # the warp graph's "change", in this order
# TorchScript's exporter (dynamo=False) at the opset it knows best: several times faster than the dynamo exporter
# on this graph, with the same outputs (docs/in-page-network.md), and the demo exports as it starts.
OPSET = 17
# warp samples in float64, as capsnet.transforms.warp does: ONNX Runtime has GridSample for float64 from opset 20.
WARP_OPSET = 20


class LivePath(torch.nn.Module):
    """model.trace as a module with tensor outputs: what torch.onnx.export traces."""

    def __init__(self, model: CapsNet):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        trace = self.model.trace(image)  # the model's own iterations: the last one is model(x)'s
        return trace.lengths[-1], trace.poses[-1], trace.lengths, trace.coupling, trace.primary, trace.predictions


class Decode(torch.nn.Module):
    """model.decode as a module: what torch.onnx.export traces."""

    def __init__(self, model: CapsNet):
        super().__init__()
        self.model = model

    def forward(self, poses: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
        return self.model.decode(poses, digits)  # (N, 16), (N,) -> (N, 1, 28, 28)


class Warp(torch.nn.Module):
    """capsnet.transforms.warp with its five changes in one tensor, in CHANGE's order: what torch.onnx.export traces."""

    def forward(self, image: torch.Tensor, change: torch.Tensor) -> torch.Tensor:
        # (1,) tensors, not 0-dim ones: the exporter would multiply a 0-dim tensor by a Python number in float32.
        rotate, scale, shear, shift = change.split([1, 1, 1, 2])
        return warp(image, rotate, scale, shear, shift)  # (B, 1, 28, 28), one change for every image


def exported(module: torch.nn.Module, example: tuple, inputs: tuple, outputs: tuple, batched: tuple,
             opset: int = OPSET) -> onnx.ModelProto:
    """module (on the CPU) traced on example as an ONNX graph with these input and output names; the batched
    inputs take any batch size."""
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # It warns that it is deprecated (the dynamo exporter is the default now): chosen knowingly, see OPSET.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module.eval(), example, buffer, dynamo=False, opset_version=opset, input_names=list(inputs),
                          output_names=list(outputs), dynamic_axes={name: {0: "batch"} for name in batched})
    return onnx.load_from_string(buffer.getvalue())


def onnx_bytes(model: CapsNet) -> bytes:
    """The live path of model (on the CPU) as a serialised ONNX model with 8-bit weights, its first layer's float16."""
    example = torch.zeros(1, 1, model.config.image_size, model.config.image_size)
    graph = exported(LivePath(model), (example,), (INPUT,), OUTPUTS, batched=(INPUT,))
    first_layer = next(node.input[1] for node in graph.graph.node if INPUT in node.input)  # conv1's kernels
    weights_stored(graph, lambda name, weight: (in_float16 if name == first_layer else in_int8)(name, weight))
    return graph.SerializeToString()


def decoder_onnx_bytes(model: CapsNet) -> bytes:
    """model.decode (on the CPU) as a serialised ONNX model with float16 weights."""
    example = torch.zeros(2, model.config.digit_dim), torch.zeros(2, dtype=torch.int64)
    graph = exported(Decode(model), example, DECODER_INPUTS, (DECODER_OUTPUT,), batched=DECODER_INPUTS)
    weights_stored(graph, in_float16)
    return graph.SerializeToString()


def explain_onnx_bytes(config: CapsNetConfig, iterations: int) -> bytes:
    """capsnet.explain.Explain for models of config, routing with iterations, as a serialised ONNX model (no
    weights: its only tensors are constants such as Figure 4's perturbations)."""
    example = (torch.zeros(1, config.num_primary_capsules, config.num_classes, config.digit_dim),
               torch.zeros(1, config.num_classes, config.digit_dim), torch.zeros(1, dtype=torch.int64))
    with warnings.catch_warnings():
        # Its shapes are fixed (one image): the tracer warns that the quantile's position and Figure 4's
        # perturbations are read as constants, which they are.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        graph = exported(Explain(config, iterations), example, EXPLAIN_INPUTS, EXPLAIN_OUTPUTS, batched=())
    return graph.SerializeToString()


def warp_onnx_bytes(image_size: int = 28) -> bytes:
    """capsnet.transforms.warp for images of image_size pixels a side as a serialised ONNX model (no weights)."""
    example = torch.zeros(1, 1, image_size, image_size), torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0])
    graph = exported(Warp(), example, WARP_INPUTS, (WARP_OUTPUT,), batched=WARP_INPUTS[:1], opset=WARP_OPSET)
    return graph.SerializeToString()


def export_onnx(model: CapsNet, path: str | Path) -> Path:
    """Writes the live path of model to path (an .onnx file) and returns the path."""
    path = Path(path)
    with atomic_write(path) as f:
        f.write(onnx_bytes(model))
    return path


Stored = tuple[list[onnx.TensorProto], list[onnx.NodeProto]]  # initializers, and the nodes that make the weight of them


def in_float16(name: str, weight: np.ndarray) -> Stored:
    """weight as float16, cast back to float32 under name."""
    return ([numpy_helper.from_array(weight.astype(np.float16), f"{name}.float16")],
            [helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT)])


def in_int8(name: str, weight: np.ndarray) -> Stored:
    """weight as integers in -127..127 with one float32 scale per output channel (its first axis: a convolution's
    output channels, W's primary capsules i), so that a channel of small weights keeps its precision; made float32
    again under name by a Cast and a Mul, which ONNX Runtime folds into one float32 tensor as it loads the graph."""
    largest = np.abs(weight).max(axis=tuple(range(1, weight.ndim)), keepdims=True)  # (C, 1, ...)
    scale = np.where(largest > 0, largest / 127, 1).astype(np.float32)
    levels = np.round(weight / scale).astype(np.int8)
    return ([numpy_helper.from_array(levels, f"{name}.int8"), numpy_helper.from_array(scale, f"{name}.scale")],
            [helper.make_node("Cast", [f"{name}.int8"], [f"{name}.levels"], to=TensorProto.FLOAT),
             helper.make_node("Mul", [f"{name}.levels", f"{name}.scale"], [name])])


def weights_stored(graph: onnx.ModelProto, store: Callable[[str, np.ndarray], Stored]) -> None:
    """Replaces each weight tensor (conv kernels, W, the decoder's matrices: 99.99% of the bytes) by what store
    makes of it; biases and constants such as routing's EPS (0 in float16) stay float32 as they are."""
    making = []
    for tensor in list(graph.graph.initializer):
        weight = numpy_helper.to_array(tensor)
        if weight.dtype != np.float32 or weight.ndim < 2:
            continue
        graph.graph.initializer.remove(tensor)
        initializers, nodes = store(tensor.name, weight)
        graph.graph.initializer.extend(initializers)
        making += nodes
    nodes = making + list(graph.graph.node)  # before their users: ONNX nodes are in order
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
