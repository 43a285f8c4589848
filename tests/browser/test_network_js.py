"""The network in the page (demo/static/modules/network.js, network_worker.js, frame.js) on a bare page with the demo's live routes:
frame.js frames as capsnet.preprocess does, the page's lengths are model(x)'s, its decodes model.decode's and its warp
capsnet.warp's, predicting sends nothing, and when the runtime or a graph cannot load the page says so and falls back
to the server."""

import base64

import numpy as np
import pytest
import torch
from bench.pagedriver.digit_strokes import render
from bench.pagedriver.network_page import open_network_page, random_drawing, served
from bench.pagedriver.page import pixels

from capsnet import CapsNet, CapsNetConfig, load_model, preprocess, warp
from demo.server.assets import onnx_routes

# The page's outputs against model(x)'s: the live path's 8-bit weights' differences, as in ONNX Runtime in Python.
from ..test_export import PRIMARY_TOLERANCE, TOLERANCE as LENGTH_TOLERANCE

pytestmark = pytest.mark.browser

FRAME_TOLERANCE = 2 / 255  # per pixel of the 28x28 input (issue 22); measured: docs/in-page-network.md
DECODE_TOLERANCE = 1e-4  # the page's decoded pixels against model.decode: float32 sums in another order
WARP_TOLERANCE = 1e-5  # the page's warped input against capsnet.warp, per pixel
CANVAS_DRAWINGS = 50
# A second model, as two-digit mode's: here another architecture (8-D digit capsules, 2 iterations), untrained.
SMALL = CapsNetConfig(conv1_channels=32, primary_channels=4, digit_dim=8, routing_iterations=2, decoder_hidden=(32, 64))


@pytest.fixture(scope="module")
def shipped():
    return load_model()


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    model = CapsNet(SMALL).eval()
    with torch.no_grad():
        model.digit_capsules.W.mul_(30)  # trained-like predictions, so that routing moves the couplings
    return model


@pytest.fixture(scope="module")
def live_url(shipped, small):
    with served(onnx_routes({"one": shipped, "small": small})) as url:
        yield url


@pytest.fixture(scope="module")
def tab(browser, live_url):
    """One tab for the module: the model loads once (13.7 MB)."""
    page = open_network_page(browser, live_url)
    yield page
    page.close()


def python_input(png_url: str) -> torch.Tensor | None:
    """What the server makes of the canvas: its PNG, read and framed by preprocess."""
    return preprocess((pixels(png_url) * 255).round().astype(np.uint8))


def test_the_network_runs_in_the_page_from_the_demos_own_server(tab, live_url):
    assert tab.evaluate("capsnetLocal.place") == "browser"
    assert tab.evaluate("[capsnetLocal.fallback, capsnetLocal.message]") == [False, ""]
    assert tab.js_errors == []
    assert any(url.endswith(".wasm") for url in tab.requests) and any(url.endswith(".onnx") for url in tab.requests)
    assert all(url.startswith(live_url) for url in tab.requests)


def test_the_network_runs_on_threads_in_a_cross_origin_isolated_page_and_on_one_elsewhere(browser, shipped, tab):
    assert tab.evaluate("[crossOriginIsolated, capsnetLocal.threads]") == [
        True, min(4, tab.evaluate("navigator.hardwareConcurrency"))]
    with served(onnx_routes({"one": shipped}), isolated=False) as url:
        plain = open_network_page(browser, url)
        assert plain.evaluate("[crossOriginIsolated, capsnetLocal.place, capsnetLocal.threads]") == [
            False, "browser", 1]
        plain.close()


@pytest.mark.parametrize("style", [{"pen": 6}, {"pen": 18}, {"pen": 40}, {"size": 140, "pen": 9},
                                   {"mode": "RGBA", "ink": 40}, {"ink": 255, "paper": 0}])
def test_frame_js_frames_the_test_strokes_as_preprocess_does(tab, style):
    for digit in range(10):
        image = render(digit, **style).convert("RGBA")
        framed = tab.evaluate("([rgba, w, h]) => frameRgba(rgba, w, h)",
                              [base64.b64encode(image.tobytes()).decode(), image.width, image.height])
        expected = preprocess(image)
        assert framed is not None and expected is not None
        difference = np.abs(np.array(framed).reshape(28, 28) - expected[0, 0].numpy()).max()
        assert difference <= FRAME_TOLERANCE, (digit, style, difference)


def test_frame_js_and_the_pages_network_match_python_on_canvas_drawings(tab, shipped):
    rng = np.random.default_rng(22)
    for n in range(CANVAS_DRAWINGS):
        paths, pen = random_drawing(rng, n % 10)
        page = tab.evaluate("([paths, pen]) => examine(paths, pen)", [paths, pen])
        expected = python_input(page["png"])
        assert expected is not None and page["input28"] is not None, n
        framed = np.array(page["input28"]).reshape(1, 1, 28, 28)
        assert np.abs(framed - expected.numpy()).max() <= FRAME_TOLERANCE, n
        predicted = page["predicted"]
        assert predicted["input28"] == page["input28"]  # the worker frames as the page does
        with torch.inference_mode():
            output, trace = shipped(expected), shipped.trace(expected)
        np.testing.assert_allclose(predicted["lengths"], output.lengths[0].numpy(), atol=LENGTH_TOLERANCE, rtol=0)
        np.testing.assert_allclose(predicted["poses"], output.poses.flatten().numpy(), atol=LENGTH_TOLERANCE, rtol=0)
        np.testing.assert_allclose(predicted["iterationLengths"], trace.lengths.flatten().numpy(),
                                   atol=LENGTH_TOLERANCE, rtol=0)
        np.testing.assert_allclose(predicted["primary"], trace.primary.flatten().numpy(), atol=PRIMARY_TOLERANCE, rtol=0)


def test_another_model_is_fetched_when_prepared_and_reads_as_in_python(tab, small):
    small_file = tab.evaluate("capsnetLocal.manifest.models.small.file")
    assert not any(url.endswith(small_file) for url in tab.requests)
    with tab.expect_request(lambda request: request.url.endswith(small_file)):  # before any prediction with it
        tab.evaluate("capsnetLocal.prepare('small')")
    rng = np.random.default_rng(2)
    for n in range(5):
        page = tab.evaluate("([paths, pen]) => examine(paths, pen, 'small')", [*random_drawing(rng, n)])
        expected = python_input(page["png"])
        with torch.inference_mode():
            output = small(expected)
        predicted = page["predicted"]
        np.testing.assert_allclose(predicted["lengths"], output.lengths[0].numpy(), atol=LENGTH_TOLERANCE, rtol=0)
        np.testing.assert_allclose(predicted["poses"], output.poses.flatten().numpy(), atol=LENGTH_TOLERANCE, rtol=0)
        assert len(predicted["iterationLengths"]) == 2 * 10
    assert sum(url.endswith(small_file) for url in tab.requests) == 1


def test_a_model_of_no_such_name_predicts_nothing(tab):
    assert tab.evaluate("() => examine([[[100, 50], [120, 200]]], 18, 'none')")["predicted"] is None
    assert tab.evaluate("capsnetLocal.place") == "browser"


def test_a_blank_canvas_has_no_input_as_in_preprocess(tab):
    page = tab.evaluate("() => examine([], 18)")
    assert python_input(page["png"]) is None
    assert page["input28"] is None and page["predicted"]["input28"] is None


def test_predicting_sends_nothing_over_the_network(tab):
    before = len(tab.requests)
    paths, pen = random_drawing(np.random.default_rng(0), 4)
    times = tab.evaluate("([paths, pen]) => timePredictions(paths, pen, 10)", [paths, pen])
    assert len(times["total"]) == 10 and tab.requests[before:] == []


def test_only_the_latest_of_calls_made_while_it_runs_is_run(tab):
    results = tab.evaluate("""async () => {
      const pixels = document.getElementById('canvas').getContext('2d').getImageData(0, 0, 280, 280);
      const calls = [1, 2, 3, 4, 5].map(() => capsnetLocal.predict(pixels));
      return (await Promise.all(calls)).map((result) => result === null ? null : 'ran');
    }""")
    assert results == ["ran", None, None, None, "ran"]  # the first was running; 2-4 were superseded by 5


def test_a_drawing_given_as_a_reader_is_read_only_when_the_worker_takes_it_and_predicts_as_its_pixels(tab):
    paths, pen = random_drawing(np.random.default_rng(1), 7)
    results = tab.evaluate("""async ([paths, pen]) => {
      await examine(paths, pen);  // a digit on the canvas
      const pixels = document.getElementById('canvas').getContext('2d').getImageData(0, 0, 280, 280);
      const read = [];
      const reader = (n) => () => { read.push(n); return pixels; };
      const calls = [1, 2, 3].map((n) => capsnetLocal.predict(reader(n)));
      const answers = await Promise.all(calls);
      const given = await capsnetLocal.predict(pixels);
      return {read, ran: answers.map((a) => a !== null), same: Array.from(answers[2].lengths).every(
        (value, k) => value === given.lengths[k])};
    }""", [paths, pen])
    assert results == {"read": [1, 3], "ran": [True, False, True], "same": True}  # 2 was superseded unread


DECODE = """async ([poses, digits, model]) => {
  const decoded = await capsnetLocal.decode(poses, digits, model);
  return Array.from(decoded.images);
}"""


def test_decode_draws_a_batch_as_model_decode_with_the_named_models_decoder(tab, shipped, small):
    generator = torch.Generator().manual_seed(0)
    for name, model in {"one": shipped, "small": small}.items():
        poses = torch.rand(12, model.config.digit_dim, generator=generator) * 1.6 - 0.8  # the sliders' range
        digits = torch.arange(12) % 10
        images = tab.evaluate(DECODE, [poses.flatten().tolist(), digits.tolist(), name])
        with torch.inference_mode():
            expected = model.decode(poses, digits).flatten().numpy()
        np.testing.assert_allclose(images, expected, atol=DECODE_TOLERANCE, rtol=0, err_msg=name)


def test_decodes_wait_apart_from_predictions_and_only_the_latest_waiting_decode_is_run(tab):
    ran = tab.evaluate("""async () => {
      const pixels = document.getElementById('canvas').getContext('2d').getImageData(0, 0, 280, 280);
      const pose = new Array(16).fill(0.1);
      const calls = [capsnetLocal.predict(pixels), capsnetLocal.predict(pixels),
                     capsnetLocal.decode(pose, [3]), capsnetLocal.decode(pose, [4]), capsnetLocal.decode(pose, [5])];
      return (await Promise.all(calls)).map((result) => result !== null);
    }""")
    # The second prediction waited behind the first, not superseded by a decode; decode 4 was superseded by 5.
    assert ran == [True, True, True, False, True]


def test_an_input_given_with_a_change_is_warped_as_capsnet_warp_does_then_predicted(tab, shipped):
    warp_file = tab.evaluate("capsnetLocal.manifest.warp.file")
    x = preprocess(render(4))  # (1, 1, 28, 28)
    change = {"rotate": 25.0, "scale": 0.9, "shear": 0.15, "shift_x": 1.5, "shift_y": -1.0}
    result = tab.evaluate("""async ([input28, change]) => {
      const predicted = await capsnetLocal.predictInput(input28, null, change);
      return {input28: Array.from(predicted.input28), lengths: Array.from(predicted.lengths)};
    }""", [x.flatten().tolist(), [change[name] for name in tab.evaluate("capsnetLocal.manifest.warp.change")]])
    turned = warp(x, rotate=25.0, scale=0.9, shear=0.15, shift=(1.5, -1.0))
    np.testing.assert_allclose(result["input28"], turned.flatten().numpy(), atol=WARP_TOLERANCE, rtol=0)
    with torch.inference_mode():
        lengths = shipped(turned).lengths[0].numpy()
    np.testing.assert_allclose(result["lengths"], lengths, atol=LENGTH_TOLERANCE, rtol=0)
    assert sum(url.endswith(warp_file) for url in tab.requests) == 1  # fetched when first needed


def assert_the_page_says_the_server_predicts(page) -> None:
    assert page.evaluate("[capsnetLocal.place, capsnetLocal.fallback]") == ["server", True]
    message = page.evaluate("capsnetLocal.message")
    assert "server" in message and "\n" not in message
    assert page.evaluate("() => examine([[[100, 50], [120, 200]]], 18)")["predicted"] is None
    assert page.js_errors == []


@pytest.mark.parametrize("blocked", ["**/*.wasm", "**/model-*.onnx", "**/ort.wasm.bundle.min.mjs", "**/manifest.json",
                                     "**/network_worker.js"])
def test_when_the_runtime_or_model_cannot_load_the_page_says_so_and_predicts_nothing(browser, live_url, blocked):
    page = open_network_page(browser, live_url, block=blocked)
    try:
        assert page.evaluate("capsnetLocal.ready") is False
        assert_the_page_says_the_server_predicts(page)
    finally:
        page.close()


def test_when_the_decoder_cannot_load_the_page_says_so_after_the_network_started(browser, live_url):
    page = open_network_page(browser, live_url, block="**/decoder-*.onnx")
    try:
        assert page.evaluate("capsnetLocal.ready") is True  # the decoder is fetched once the network runs
        page.wait_for_function("() => capsnetLocal.fallback")
        assert_the_page_says_the_server_predicts(page)
    finally:
        page.close()
