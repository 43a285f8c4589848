"""The explainer views' numbers as the page computes them (capsnet/explain.py, exported by
capsnet.export.explain_onnx_bytes and run by ONNX Runtime) against the server's (demo/compute/explainer.py): the
graph is fed the model's "predictions" u_hat and "poses" (the page's, from its live path, differ by its 8-bit weights:
tests/test_export.py), and the decoder graph draws its poses."""

import numpy as np
import onnxruntime
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bench.pagedriver.digit_strokes import render
from capsnet import CapsNet, figures, load_model, read_image
from capsnet.explain import EXPLAIN_INPUTS, EXPLAIN_OUTPUTS, ITERATIONS, Explain, quantile
from capsnet.export import DECODER_INPUTS, decoder_onnx_bytes, explain_onnx_bytes
from demo.app import EXAMPLES
from demo.compute import explainer
from demo.compute.readers import one_digit

from .test_explainer import unpacked
from .test_export import SMALL

TOLERANCE = 1e-3  # lengths and couplings
RELATIVE = 1e-4  # vote and agreement maps, of their largest value
PIXEL_TOLERANCE = 2 / 255  # decoded pictures, shown as 8-bit greys
# (input, digit shown): two drawings and an example digit; None is the longest capsule, as the page starts
CASES = [("drawn 3", None), ("drawn 3", 8), ("drawn 7", None), ("example 5", 6)]


def session(graph: bytes) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def results(model):
    """The Results of the inputs, as the tab's state keeps them."""
    reader = one_digit("one", model, [])
    return {"drawn 3": reader.image(render(3)).result, "drawn 7": reader.image(render(7)).result,
            "example 5": reader.image(read_image(EXAMPLES / "10-true5.png")).result}


@pytest.fixture(scope="module")
def graphs(model):
    """The page's graphs: the decoder and an explain graph per iteration count."""
    return {"decoder": session(decoder_onnx_bytes(model)),
            **{r: session(explain_onnx_bytes(model.config, r)) for r in ITERATIONS}}


def run_explain(model: CapsNet, graphs: dict, result, digit: int, iterations: int) -> dict[str, np.ndarray]:
    """The explain graph's outputs for the Result's input, from what the live path outputs, as the model makes it."""
    with torch.inference_mode():
        trace = model.trace(result.x)
    inputs = trace.predictions.numpy(), trace.poses[-1].numpy(), np.array([digit])
    return dict(zip(EXPLAIN_OUTPUTS, graphs[iterations].run(None, dict(zip(EXPLAIN_INPUTS, inputs)))))


@pytest.fixture(scope="module", params=[(name, digit, r) for name, digit in CASES for r in ITERATIONS],
                ids=lambda case: f"{case[0]}, digit {case[1]}, {case[2]} iterations")
def case(request, model, results, graphs) -> tuple[dict, dict, explainer.Views]:
    """For one input, digit and iteration count: the explain graph's outputs, the server's Explain numbers and
    the server's views."""
    name, digit, iterations = request.param
    result = results[name]
    digit = result.capsule(digit)
    with torch.inference_mode():
        server = {k: v.numpy() for k, v in explainer.explained(model, result, digit, iterations).items()}
    views = explainer.explain(model, result, digit, iterations)
    return run_explain(model, graphs, result, digit, iterations), server, views


def assert_close_to_largest(got: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(got, expected, rtol=0, atol=RELATIVE * np.abs(expected).max())


def test_the_cases_include_a_capsule_that_is_not_the_longest(results):
    assert any(digit is not None and digit != results[name].longest for name, digit in CASES)


def test_the_graph_routes_as_the_server_iteration_by_iteration(case):
    got, server, _ = case
    for name in ("coupling", "shares", "lengths", "last_coupling"):
        np.testing.assert_allclose(got[name], server[name], atol=TOLERANCE, rtol=0, err_msg=name)
    assert np.array_equal(got["longest"], server["longest"])


def test_the_graphs_vote_maps_are_the_servers(case):
    got, server, _ = case
    assert_close_to_largest(got["votes"], server["votes"])
    assert_close_to_largest(got["vote_top"], server["vote_top"])


def test_the_graphs_agreement_is_the_servers(case):
    got, server, _ = case
    assert_close_to_largest(got["agreement"], server["agreement"])
    assert_close_to_largest(got["agreement_means"], server["agreement_means"])
    assert_close_to_largest(got["agreement_limit"], server["agreement_limit"])
    assert np.array_equal(got["agreement_order"], server["agreement_order"])


def test_the_graph_gives_figure_4s_and_every_capsules_poses_to_decode(case):
    got, server, _ = case
    np.testing.assert_allclose(got["decode_poses"], server["decode_poses"], atol=1e-6, rtol=0)
    assert np.array_equal(got["decode_digits"], server["decode_digits"])
    assert got["decode_poses"].shape == (16 * 11 + 10, 16)


def test_the_decoder_graph_draws_the_servers_figure_4_and_capsules_from_them(case, graphs):
    got, _, views = case
    decoded = graphs["decoder"].run(None, dict(zip(DECODER_INPUTS, (got["decode_poses"], got["decode_digits"]))))[0]
    grid = figures.perturbation_tiles(torch.from_numpy(decoded[:-10])).numpy()  # (16, 11, 28, 28)
    assert np.abs(grid - unpacked(views.figure4["images"]) / 255).max() <= PIXEL_TOLERANCE
    assert np.abs(decoded[-10:, 0] - unpacked(views.all_capsules["images"]) / 255).max() <= PIXEL_TOLERANCE


def test_the_explain_graph_holds_no_weights(model):
    assert len(explain_onnx_bytes(model.config, 5)) < 200_000  # routing's constants (its first c_ij), not W


def test_another_architecture_explains_with_its_own_shapes():
    torch.manual_seed(0)
    small = CapsNet(SMALL).eval()
    with torch.inference_mode():
        trace = small.trace(torch.rand(1, 1, 28, 28))
        expected = Explain(SMALL, 4)(trace.predictions, trace.poses[-1], torch.tensor([2]))
    got = session(explain_onnx_bytes(SMALL, 4)).run(None, dict(zip(EXPLAIN_INPUTS, (
        trace.predictions.numpy(), trace.poses[-1].numpy(), np.array([2])))))
    assert got[0].shape == (4, SMALL.primary_channels, 6, 6) and got[-2].shape == (8 * 11 + 10, 8)
    for name, value, wanted in zip(EXPLAIN_OUTPUTS, got, expected):
        np.testing.assert_allclose(value, wanted.numpy(), atol=1e-5, rtol=0, err_msg=name)


@settings(max_examples=200, deadline=None)
@given(values=arrays(np.float32, st.integers(1, 300), elements=st.floats(-1e6, 1e6, width=32)),
       q=st.floats(0, 1))
def test_quantile_is_numpys_linear_quantile(values, q):
    assert quantile(torch.from_numpy(values), q).item() == np.quantile(values, q)
