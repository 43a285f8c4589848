"""Slider moves decoded in the browser (demo/decoder.js, with the decoder graph that network.js's worker runs): the
same images as model.decode, nothing sent to the server, the server's "pose" event when the network cannot run in the
page, and the play control."""

import json
import urllib.request
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from bench.pagedriver.page import (
    Blocking,
    NetworkMessages,
    decoder_place,
    drag_slider,
    draw,
    image_src,
    open_demo,
    pixels,
    pose_on_page,
    wait_for_new_src,
    wait_for_pixels,
    wait_for_prediction,
    wait_for_reading,
    wait_for_views,
)
from demo.compute.inputs import POSE_RANGE


pytestmark = pytest.mark.browser

JS_TOLERANCE = 2 / 255  # the decoder graph's float32 sums in another order, then rounding to 8 bits
RANDOM_POSES = 20
SWEEP = 0.25

# Moves slider dim's range input to value as a drag does (an input event), one animation frame per slider so
# that Gradio has shown each value before the next; resolves to nothing.
SET_POSE = """async (pose) => {
  for (const [dim, value] of pose.entries()) {
    const range = document.querySelector(`#dim-${dim} input[type=range]`);
    range.value = value;
    range.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise(requestAnimationFrame);
  }
}"""


def selected_digit(page) -> int:
    return int(page.locator("#digit input[aria-checked=true]").get_attribute("value"))


def choose_digit(page, digit: int) -> None:
    """Clicks capsule digit and waits until the server's answer is shown: without a drawing, a zero pose."""
    page.locator("#digit label", has_text=str(digit)).click()
    page.wait_for_function("(d) => document.querySelector('#digit input:checked')?.value === String(d)"
                           " && [...document.querySelectorAll('[id^=dim-] input[type=number]')]"
                           ".every(box => Number(box.value) === 0)", arg=digit)


def finished_drawing(page, reader, digit: int) -> None:
    """Draws digit and waits for the answer to the stroke's end (the sliders hold that drawing's pose)."""
    draw(page, digit)
    wait_for_prediction(page, str(digit))
    wait_for_reading(page, reader)


def test_page_decodes_in_the_browser(page):
    assert decoder_place(page) == "browser"


def test_js_decoder_draws_what_model_decode_draws(page, model):
    rng = np.random.default_rng(0)
    low, high = POSE_RANGE
    worst = 0.0
    dims, digits = model.config.digit_dim, model.config.num_classes
    page.evaluate(SET_POSE, [0.5] * dims)  # choose_digit waits for the zero pose
    for n in range(RANDOM_POSES):
        digit = n % digits  # two poses for each capsule
        choose_digit(page, digit)
        pose = np.round(rng.uniform(low, high, dims), 2).tolist()
        before = image_src(page, "reconstruction")
        page.evaluate(SET_POSE, pose)
        shown = pixels(wait_for_new_src(page, "reconstruction", before))
        assert pose_on_page(page) == pytest.approx(pose, abs=1e-9) and selected_digit(page) == digit
        with torch.inference_mode():
            expected = model.decode(torch.tensor([pose]), torch.tensor([digit]))[0, 0].numpy()
        worst = max(worst, float(np.abs(shown - expected).max()))
    assert worst <= JS_TOLERANCE


def test_slider_moves_send_nothing_to_the_server(page, reader):
    finished_drawing(page, reader, 3)
    wait_for_views(page)  # the explainer views follow the prediction: their answer is the drawing's, not the sliders'
    network = NetworkMessages(page)
    page.wait_for_timeout(300)  # let anything still on its way arrive
    network.clear()
    before = image_src(page, "reconstruction")
    for dim, fraction in [(0, 0.9), (5, 0.1), (9, 0.7), (15, 0.3)]:
        drag_slider(page, dim, fraction)
    wait_for_new_src(page, "reconstruction", before)
    page.wait_for_timeout(500)
    assert network.messages == []


def test_the_last_image_of_a_drag_is_the_decoders_for_the_sliders_left(page, reader):
    finished_drawing(page, reader, 2)
    before = image_src(page, "reconstruction")
    drag_slider(page, 7, 0.85, steps=20)
    shown = pixels(wait_for_new_src(page, "reconstruction", before))
    expected = pixels(reader.pose(selected_digit(page), pose_on_page(page), None).reconstruction)
    assert np.abs(shown - expected).max() <= JS_TOLERANCE


def test_launched_demo_serves_each_models_decoder_graph_cached_for_good(demo_url):
    with urllib.request.urlopen(demo_url + "lab/manifest.json") as response:
        models = json.load(response)["models"]
    assert list(models) == ["one", "two"] and models["one"]["decoder"] != models["two"]["decoder"]
    with urllib.request.urlopen(demo_url + "lab/" + models["one"]["decoder"]) as response:
        assert "immutable" in response.headers["Cache-Control"]


@contextmanager
def tab_without(browser, demo_url, missing: str):
    """A tab on the demo whose page cannot run the decoder: a file it needs (glob) cannot be fetched. The views'
    renderers stay: they are the page's, whoever computes the numbers."""
    tab = open_demo(Blocking(browser, missing), demo_url)
    try:
        yield tab
    finally:
        tab.close()


@pytest.mark.parametrize("missing", ["**/lab/network.js", "**/*.wasm", "**/decoder-*.onnx"])
def test_when_the_decoder_cannot_run_in_the_page_slider_moves_are_drawn_by_the_server(
        browser, demo_url, reader, missing):
    with tab_without(browser, demo_url, missing) as tab:
        assert decoder_place(tab) == "server"
        assert tab.locator("#play button").is_disabled()
        finished_drawing(tab, reader, 0)
        network = NetworkMessages(tab)
        before = image_src(tab, "reconstruction")
        drag_slider(tab, 4, 0.95)
        wait_for_new_src(tab, "reconstruction", before)
        expected = pixels(reader.pose(selected_digit(tab), pose_on_page(tab), None).reconstruction)
        shown = wait_for_pixels(tab, "reconstruction", expected, 3 / 255)
        assert np.abs(shown - expected).max() <= 3 / 255
        assert any("/gradio_api/" in message for message in network.messages)  # the "pose" event
        assert tab.js_errors == [] and tab.locator(".toast-body").count() == 0


def played_values(page, count: int) -> list[float]:
    """The played dimension's value (#play's readout, "dim D = V") at count successive moments 50 ms apart."""
    values = []
    for _ in range(count):
        page.wait_for_timeout(50)
        values.append(float(page.locator("#play output").inner_text().split("=")[1]))
    return values


def test_play_sweeps_a_dimension_around_its_drawing_value(page, reader):
    finished_drawing(page, reader, 5)
    centre = pose_on_page(page)[6]
    drag_slider(page, 6, 0.95)  # the sweep is around the drawing's value, not the slider's
    page.locator("#play select").select_option("6")
    page.locator("#play button").click()
    first = image_src(page, "reconstruction")
    wait_for_new_src(page, "reconstruction", first)
    values = played_values(page, 60)  # 3 s: a whole sweep
    assert page.locator("#play output").inner_text().startswith("dim 6 =")
    assert min(values) >= centre - SWEEP - 0.01 and max(values) <= centre + SWEEP + 0.01
    assert max(values) - min(values) > SWEEP  # it moves both ways


def test_dragging_a_slider_stops_play(page, reader):
    finished_drawing(page, reader, 5)
    page.locator("#play button").click()
    wait_for_new_src(page, "reconstruction", image_src(page, "reconstruction"))
    assert page.locator("#play button").inner_text() == "■ stop"
    drag_slider(page, 1, 0.2)
    assert page.locator("#play button").inner_text() == "▶ play"
    shown = image_src(page, "reconstruction")
    page.wait_for_timeout(300)
    assert image_src(page, "reconstruction") == shown  # no more frames
    expected = pixels(reader.pose(selected_digit(page), pose_on_page(page), None).reconstruction)
    assert np.abs(pixels(shown) - expected).max() <= JS_TOLERANCE
