"""The network in the demo page (canvas.js and turn.js with network.js and local.js): while the pen or a #transform
slider moves the page predicts by itself and sends nothing, as model(x) would for the server's input (turned by the
warp graph, as capsnet.warp turns it), in both modes; lifting the pen sends nothing either (the page makes the views:
tests/browser/test_lecture_hall.py); when the runtime cannot load, the server predicts and the page says so in one
line. The framing itself is checked on 50 canvas drawings by
tests/browser/test_network_js.py."""

import numpy as np
import pytest
import torch

from bench.pagedriver.digit_strokes import PAIR_BOXES, strokes
from bench.pagedriver.page import (
    Blocking,
    NetworkMessages,
    canvas_box,
    choose_mode,
    drag_to,
    draw_strokes,
    drawing_sends_after_lifting,
    open_demo,
    pixels,
    wait_for_prediction,
    wait_for_views,
)
from capsnet import preprocess, warp

from ..test_export import TOLERANCE as LENGTH_TOLERANCE  # the page's capsule lengths against model(x)

pytestmark = pytest.mark.browser

PICTURE_TOLERANCE = 2 / 255  # #input-28 against preprocess's input: a PNG of 8-bit greys
WARP_TOLERANCE = 1e-5  # the page's warp graph against capsnet.warp, per pixel of the same 8-bit input
SETTLE_MS = 1000  # after the pen stops: the prediction asked for at its last move has come back


def in_page(page) -> None:
    page.wait_for_function("() => window.capsnetLocal && window.capsnetLocal.place !== 'loading'")
    assert page.evaluate("capsnetLocal.place") == "browser", page.evaluate("capsnetLocal.reason")


def load_model_in_page(page, mode: str) -> None:
    """The mode's model fetched and set up in the page (a prediction of a line waits for it)."""
    assert page.evaluate("""async (mode) => {
      const paper = document.createElement('canvas');
      paper.width = paper.height = 280;
      const pen = paper.getContext('2d');
      pen.fillStyle = 'white';
      pen.fillRect(0, 0, 280, 280);
      pen.lineWidth = 18;
      pen.beginPath(); pen.moveTo(140, 40); pen.lineTo(140, 240); pen.stroke();
      return (await capsnetLocal.predict(pen.getImageData(0, 0, 280, 280), mode)) !== null;
    }""", mode)


def pair_paths(page, first: int, second: int) -> list:
    canvas = page.locator("#canvas canvas").bounding_box()
    paths = []
    for digit, (left, top, width, height) in zip((first, second), PAIR_BOXES):
        paths += strokes(digit, (canvas["x"] + left * canvas["width"], canvas["y"] + top * canvas["height"],
                                 width * canvas["width"], height * canvas["height"]))
    return paths


def hold_last_stroke(page, paths) -> list[str]:
    """Draws all strokes but the last (each sent as the pen lifts, its views awaited), then the last with the pen
    held down until the page's prediction is in: what the tab sent over the network while that stroke was drawn."""
    if len(paths) > 1:
        draw_strokes(page, paths[:-1])
        wait_for_views(page)
        page.wait_for_timeout(500)  # the sweep's answer, which follows the views
    messages = NetworkMessages(page)
    try:
        draw_strokes(page, paths[-1:], finish=False)
        page.wait_for_timeout(SETTLE_MS)
        wait_for_prediction(page)
        return list(messages.messages)
    finally:
        messages.close()


def server_input(page) -> torch.Tensor:
    """What the server makes of the canvas: its PNG, read and framed by preprocess."""
    url = page.evaluate("() => document.querySelector('#canvas canvas').toDataURL('image/png')")
    return preprocess((pixels(url) * 255).round().astype(np.uint8))


def local_lengths(page) -> np.ndarray:
    return np.array(page.evaluate("Array.from(capsnetLocal.last.lengths)"))


@pytest.mark.parametrize("mode", ["one", "two"])
def test_while_the_pen_moves_the_page_predicts_as_model_x_and_sends_nothing(page, model, pair_model, mode):
    in_page(page)
    if mode == "two":
        choose_mode(page, "two digits")
    load_model_in_page(page, mode)
    paths = pair_paths(page, 4, 7) if mode == "two" else strokes(1, canvas_box(page))
    sent = hold_last_stroke(page, paths)
    assert sent == []
    x = server_input(page)
    with torch.inference_mode():
        lengths = (pair_model if mode == "two" else model)(x).lengths[0]
    np.testing.assert_allclose(local_lengths(page), lengths.numpy(), atol=LENGTH_TOLERANCE, rtol=0)
    shown = page.locator("#prediction .predicted-digit").inner_text()
    assert shown.split()[0] == str(int(lengths.argmax()))
    marked = page.locator("#lengths .bar.longest").count()
    assert marked == (2 if mode == "two" else 1)
    network_input = pixels(page.locator("#input-28 img").get_attribute("src"))
    assert np.abs(network_input - x[0, 0].numpy()).max() <= PICTURE_TOLERANCE
    page.mouse.up()


def test_lifting_the_pen_sends_nothing_the_page_makes_the_views(page):
    in_page(page)
    load_model_in_page(page, "one")
    assert drawing_sends_after_lifting(page) == 0


def test_the_page_reads_its_predictions_as_the_servers_readers_do(page, reader, pair_reader):
    # views.js draws both from one reading; the page's says what the mode's reader says (from the manifest).
    in_page(page)
    load_model_in_page(page, "two")
    lengths = [0.95, 0.2, 0.1, 0.3, 0.05, 0.0, 0.01, 0.4, 0.2, 0.1]
    for mode, server in (("one", reader), ("two", pair_reader)):
        blank, read = page.evaluate("""async ([lengths, mode]) => {
          const local = await import(new URL('lab/local.js', document.baseURI).href);
          const result = {input28: new Float32Array(784), lengths: Float32Array.from(lengths),
                          poses: new Float32Array(160)};
          return [local.view({input28: null}, mode).prediction, local.view(result, mode).lengths];
        }""", [lengths, mode])
        expected = server.reading(torch.tensor(lengths))
        assert blank == server.blank().reading
        assert read["lengths"] == pytest.approx(expected.pop("lengths"), abs=1e-4)
        assert {key: value for key, value in read.items() if key != "lengths"} == expected


def test_without_the_runtime_the_server_predicts_and_the_page_says_so(browser, demo_url):
    page = open_demo(Blocking(browser, "**/*.wasm"), demo_url)
    try:
        page.wait_for_function("() => window.capsnetLocal && window.capsnetLocal.place === 'server'")
        status = page.locator("#live-status")
        status.filter(has_text="server").wait_for()
        assert "\n" not in status.inner_text()
        draw_strokes(page, strokes(3, canvas_box(page)))
        assert wait_for_prediction(page) == "3"
        assert page.js_errors == []
    finally:
        page.close()


def test_turning_predicts_in_the_page_as_model_x_and_sends_nothing_until_released(page, model):
    in_page(page)
    load_model_in_page(page, "one")
    draw_strokes(page, strokes(7, canvas_box(page)))
    wait_for_views(page)
    page.wait_for_timeout(500)  # the sweep's answer, which follows the views
    framed = torch.from_numpy(pixels(page.locator("#input-28 img").get_attribute("src")))[None, None]
    messages = NetworkMessages(page)
    try:
        drag_to(page, "rotate", 0.85, release=False)
        page.wait_for_timeout(SETTLE_MS)
        sent = list(messages.messages)
    finally:
        messages.close()
    assert sent == []
    rotate = float(page.locator("#rotate input[type=range]").input_value())
    assert rotate > 20
    turned = warp(framed, rotate=rotate)
    local_input = np.array(page.evaluate("Array.from(capsnetLocal.last.input28)")).reshape(turned.shape)
    assert np.abs(local_input - turned.numpy()).max() <= WARP_TOLERANCE
    with torch.inference_mode():
        lengths = model(turned).lengths[0]
    np.testing.assert_allclose(local_lengths(page), lengths.numpy(), atol=LENGTH_TOLERANCE, rtol=0)
    shown = pixels(page.locator("#input-28 img").get_attribute("src"))
    assert np.abs(shown - turned[0, 0].numpy()).max() <= PICTURE_TOLERANCE
    views = wait_for_views(page)
    page.mouse.up()  # the final values go to the server: its answer, the views and the sweep follow
    wait_for_views(page, views)
