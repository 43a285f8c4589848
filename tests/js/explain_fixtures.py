"""Fixture for the page's assembly of the explainer views from its graphs' outputs: for three inputs of the shipped
model (routed with 3, 1 and 5 iterations, the last for a capsule that is not the longest), what the explain graph
(capsnet.export.explain_onnx_bytes, run by ONNX Runtime) and the decoder graph give, and the views the server sends
for them (demo/compute/explainer.py), with the model's constants from the manifest (explainer.page_constants).

The explain graph is fed the predictions and poses that the server's Explain routes (the Result's), so that only
ONNX Runtime's float32 sums (about 1e-7) stand between its numbers and the server's; the page feeds its live
path's, which differ by about as much again. Floats are written as the shortest decimals that read back as the
same float32, but for the decoded pixels, rounded to DECODED_DECIMALS (the file is a third as big): a pixel's grey
round(255 x) moves by one only where x lies within 5e-7 of a grey's edge, as ONNX Runtime's decoder already moves
some from the server's.
"""

import numpy as np
import onnxruntime
import torch

from bench.pagedriver.digit_strokes import render
from capsnet import load_model, read_image
from capsnet.explain import EXPLAIN_INPUTS, EXPLAIN_OUTPUTS
from capsnet.export import DECODER_INPUTS, decoder_onnx_bytes, explain_onnx_bytes
from demo.app import EXAMPLES
from demo.compute import explainer
from demo.compute.readers import one_digit

# (input, iterations, digit shown): None is the longest capsule, as the page starts
CASES = (("drawn 3", 3, None), ("drawn 7", 1, None), ("example 5", 5, 6))
DECODED_DECIMALS = 6


def session(graph: bytes) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])


def float32s(values) -> list:
    """values flattened, each the shortest decimal that reads back as the same float32 (ints stay ints)."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.reshape(-1).tolist()
    return [float(text) for text in array.astype(np.float32).reshape(-1).astype(str)]


def tensor(values) -> dict:
    return {"shape": list(np.shape(values)), "data": float32s(values)}


def fixtures() -> dict:
    model = load_model()
    reader = one_digit("one", model, [])
    results = {"drawn 3": reader.image(render(3)).result, "drawn 7": reader.image(render(7)).result,
               "example 5": reader.image(read_image(EXAMPLES / "10-true5.png")).result}
    decoder = session(decoder_onnx_bytes(model))
    cases = []
    for name, iterations, chosen in CASES:
        result = results[name]
        digit = result.capsule(chosen)
        with torch.inference_mode():
            predictions = model.digit_capsules.predictions(result.primary)  # (1, 1152, 10, 16), as Explain gets it
        inputs = predictions.numpy(), result.poses[None].numpy(), np.array([digit])
        outputs = dict(zip(EXPLAIN_OUTPUTS, session(explain_onnx_bytes(model.config, iterations)).run(
            None, dict(zip(EXPLAIN_INPUTS, inputs)))))
        decoded = decoder.run(None, dict(zip(DECODER_INPUTS, (outputs["decode_poses"], outputs["decode_digits"]))))[0]
        views = explainer.explain(model, result, digit, iterations, reader.names)
        cases.append({"input": name, "iterations": iterations, "digit": digit, "input28": float32s(result.x),
                      "prediction_lengths": float32s(result.lengths),
                      "outputs": {key: tensor(value) for key, value in outputs.items()},
                      "decoded": {"shape": [len(decoded), decoded[0].size],  # (186, 784)
                                  "data": np.round(decoded.astype(np.float64), DECODED_DECIMALS).reshape(-1).tolist()},
                      "expected": {"routing": views.routing, "primary": views.primary, "figure4": views.figure4,
                                   "all-capsules": views.all_capsules}})
    return {"constants": explainer.page_constants(model.config, reader.names), "cases": cases}
