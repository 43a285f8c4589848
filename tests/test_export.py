"""The live path exported to ONNX (capsnet/export.py), run by ONNX Runtime: model(x)'s and model.trace's outputs."""

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from bench.pagedriver.digit_strokes import render
from capsnet import CapsNet, CapsNetConfig, load_model, preprocess
from capsnet.data import load_mnist
from capsnet.export import INPUT, OUTPUTS, export_onnx, onnx_bytes

# The page's lengths equal model(x) within this (issue 22); float16 weights cost less (docs/in-page-network.md).
TOLERANCE = 1e-3
TEST_DIGITS = 500
# Another architecture than the shipped one: fewer channels and capsule types, 8-D digit capsules, 2 iterations.
SMALL = CapsNetConfig(conv1_channels=32, primary_channels=4, digit_dim=8, routing_iterations=2, decoder_hidden=(32, 64))


def session(model: CapsNet) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(onnx_bytes(model), providers=["CPUExecutionProvider"])


def run(live: onnxruntime.InferenceSession, images: torch.Tensor) -> dict[str, np.ndarray]:
    return dict(zip(OUTPUTS, live.run(list(OUTPUTS), {INPUT: images.numpy()})))


@pytest.fixture(scope="module")
def shipped():
    return load_model()


@pytest.fixture(scope="module")
def shipped_live(shipped):
    return session(shipped)


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    images, _ = load_mnist(mnist_dir, train=False, download=False)
    return images[:TEST_DIGITS]


def drawings() -> torch.Tensor:
    """Canvas-like drawings of every digit with three pens, framed by preprocess: (30, 1, 28, 28)."""
    return torch.cat([preprocess(render(digit, pen=pen)) for digit in range(10) for pen in (6, 18, 40)])


def assert_outputs_equal_the_models(model: CapsNet, live, images: torch.Tensor) -> None:
    with torch.inference_mode():
        expected, trace = model(images), model.trace(images)
    got = run(live, images)
    np.testing.assert_allclose(got["lengths"], expected.lengths.numpy(), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(got["poses"], expected.poses.numpy(), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(got["iteration_lengths"], trace.lengths.numpy(), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(got["coupling"], trace.coupling.numpy(), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(got["primary"], trace.primary.numpy(), atol=TOLERANCE, rtol=0)


def test_exported_outputs_equal_the_models_on_mnist_test_digits(shipped, shipped_live, test_digits):
    for batch in test_digits.split(100):
        assert_outputs_equal_the_models(shipped, shipped_live, batch)


def test_exported_outputs_equal_the_models_on_drawings(shipped, shipped_live):
    assert_outputs_equal_the_models(shipped, shipped_live, drawings())


def test_another_architecture_exports_with_its_own_shapes_and_iterations():
    torch.manual_seed(0)
    small = CapsNet(SMALL).eval()
    with torch.no_grad():
        small.digit_capsules.W.mul_(30)  # trained-like predictions, so that routing moves the couplings
    images = drawings()
    live = session(small)
    got = run(live, images)
    assert got["poses"].shape == (len(images), 10, 8)
    assert got["coupling"].shape == (2, len(images), SMALL.num_primary_capsules, 10)
    assert got["primary"].shape == (len(images), SMALL.num_primary_capsules, SMALL.primary_dim)
    assert_outputs_equal_the_models(small, live, images)


@pytest.mark.parametrize("batch", [1, 7])
def test_the_batch_size_is_free(shipped, shipped_live, test_digits, batch):
    got = run(shipped_live, test_digits[:batch])
    assert got["lengths"].shape == (batch, 10) and got["coupling"].shape == (3, batch, 1152, 10)


def test_the_file_holds_the_encoder_and_routing_in_float16_without_the_decoder(shipped, tmp_path):
    path = export_onnx(shipped, tmp_path / "live.onnx")
    graph = onnx.load(path)
    encoder = sum(p.numel() for name, p in shipped.named_parameters() if not name.startswith("decoder."))
    assert 2 * encoder < path.stat().st_size < 2 * encoder + 100_000  # 2 bytes a weight, biases aside
    weights = [t for t in graph.graph.initializer if len(t.dims) >= 2]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)
    assert not any("decoder" in t.name for t in graph.graph.initializer)
