"""The demo page in a real browser: drawing, predictions, capsule choice, pose sliders, reset, clear."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.pagedriver.page import (
    drag_slider,
    draw,
    draw_by_touch,
    image_src,
    open_demo,
    pixels,
    pose_on_page,
    predicted_digit,
    wait_for_new_src,
    wait_for_pixels,
    wait_for_pose,
    wait_for_prediction,
    wait_for_reading,
)
from demo.compute.inputs import slider_values
from demo.compute.readers import Answer

# a pose the page read against the server's: the page's live path has 8-bit weights
from ..test_export import TOLERANCE as POSE_TOLERANCE


pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PIXEL_TOLERANCE = 3 / 255  # PNG is 8 bit; threads may sum floats in another order


def selected_digit(page) -> int:
    return int(page.locator("#digit input[aria-checked=true]").get_attribute("value"))


@pytest.mark.parametrize("digit", ["1", "0"])
def test_drawn_digit_is_recognised(page, digit):
    draw(page, int(digit))
    assert wait_for_prediction(page, digit) == digit


def test_drawing_with_a_finger_works_like_the_mouse(browser, demo_url):
    phone = open_demo(browser, demo_url, touch=True)
    try:
        draw_by_touch(phone, 7)
        assert wait_for_prediction(phone, "7") == "7"
    finally:
        phone.close()


def test_prediction_appears_while_the_pen_is_still_down(page):
    draw(page, 7, finish=False)
    wait_for_prediction(page)
    page.mouse.up()


def test_prediction_shows_lengths_and_the_networks_input(page):
    blank_input = image_src(page, "input-28")
    draw(page, 1)
    wait_for_prediction(page, "1")
    wait_for_new_src(page, "input-28", blank_input)
    bars = page.locator("#lengths .bar")
    assert bars.count() == 10
    assert page.locator("#lengths .bar.longest .name").inner_text() == "1"
    assert pixels(image_src(page, "input-28")).shape == (28, 28)


def canvas_url(page) -> str:
    return page.evaluate("() => document.querySelector('#canvas canvas').toDataURL('image/png')")


def wait_for_finished_drawing(page, reader) -> Answer:
    """What the page shows once the reading of the stroke's end is in (readings made while drawing come first)."""
    return wait_for_reading(page, reader)


def test_sliders_take_the_longest_capsules_pose(page, reader):
    draw(page, 0)
    wait_for_prediction(page, "0")
    expected = wait_for_finished_drawing(page, reader)
    assert pose_on_page(page) == pytest.approx(expected.pose, abs=POSE_TOLERANCE)
    assert selected_digit(page) == expected.digit == 0


def test_slider_moves_do_not_run_the_servers_decoder(page, model, reader, monkeypatch):
    # decoder.js draws them in the browser; a new prediction sets the sliders without firing their events either.
    decoded = []
    decode = model.decode

    def counting_decode(pose, digit):
        if len(pose) == 1:  # one pose: a slider's; the explainer views decode 10 and 176 poses at once
            decoded.append(pose)
        return decode(pose, digit)

    monkeypatch.setattr(model, "decode", counting_decode)
    draw(page, 0)
    wait_for_prediction(page, "0")
    wait_for_finished_drawing(page, reader)
    before = image_src(page, "reconstruction")
    drag_slider(page, 1, 0.9, steps=1)
    wait_for_new_src(page, "reconstruction", before)
    assert decoded == []


def test_dragging_a_slider_redraws_from_the_final_pose(page, reader):
    draw(page, 0)
    wait_for_prediction(page, "0")
    wait_for_finished_drawing(page, reader)
    before = image_src(page, "reconstruction")
    drag_slider(page, 4, 0.95)
    wait_for_new_src(page, "reconstruction", before)
    # The last image shown is the decoder's output for the sliders as they were left.
    expected = pixels(reader.pose(selected_digit(page), pose_on_page(page), None).reconstruction)
    shown = wait_for_pixels(page, "reconstruction", expected, PIXEL_TOLERANCE)
    assert np.abs(shown - expected).max() <= PIXEL_TOLERANCE


def test_choosing_another_capsule_decodes_that_capsule(page, reader):
    draw(page, 1)
    wait_for_prediction(page, "1")
    drawing = wait_for_finished_drawing(page, reader)
    pose_of_one, before = pose_on_page(page), image_src(page, "reconstruction")
    page.locator("#digit label", has_text="7").click()
    wait_for_new_src(page, "reconstruction", before)
    pose_of_seven = wait_for_pose(page, pose_of_one)
    assert selected_digit(page) == 7
    assert pose_of_seven == pytest.approx(slider_values(drawing.result.poses[7]), abs=POSE_TOLERANCE)


def test_reset_puts_the_drawings_pose_back(page, reader):
    draw(page, 0)
    wait_for_prediction(page, "0")
    wait_for_finished_drawing(page, reader)
    drawing_pose, drawing_image = pose_on_page(page), image_src(page, "reconstruction")
    drag_slider(page, 2, 0.02)
    moved_image = wait_for_new_src(page, "reconstruction", drawing_image)
    page.locator("#reset").click()
    wait_for_new_src(page, "reconstruction", moved_image)
    assert pose_on_page(page) == pytest.approx(drawing_pose, abs=POSE_TOLERANCE)  # the drawing's, whoever read it
    assert np.abs(pixels(image_src(page, "reconstruction")) - pixels(drawing_image)).max() <= PIXEL_TOLERANCE


def test_clear_brings_back_the_draw_a_digit_state(page):
    draw(page, 1)
    wait_for_prediction(page, "1")
    page.locator("#clear").click()
    page.wait_for_function("() => document.querySelector('#prediction').innerText.includes('Draw a digit')")
    assert predicted_digit(page) == "?"
    all_white = page.evaluate(
        "() => { const c = document.querySelector('#canvas canvas');"
        " return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.every(v => v === 255); }")
    assert all_white


def test_blank_page_shows_no_error(page, server_page):
    for tab in (page, server_page):  # the empty canvas read in the page, and sent to the server
        tab.locator("#clear").click()
        tab.wait_for_timeout(500)  # the server's answer
        assert "Draw a digit" in tab.locator("#prediction").inner_text()
        assert tab.locator(".toast-body").count() == 0
        assert tab.js_errors == []


def test_drawings_are_not_kept_in_the_browsers_storage(page):
    # Gradio's run history would store every event's drawing in localStorage and re-encode it on each event.
    draw(page, 1)
    wait_for_prediction(page, "1")
    assert page.evaluate("() => Object.keys(localStorage).filter(key => key.startsWith('gradio:run-history'))") == []


def canvas_on_screen(page) -> np.ndarray:
    """What the screen shows of the canvas, grey levels (H, W)."""
    return np.asarray(Image.open(io.BytesIO(page.locator("#canvas canvas").screenshot())).convert("L"), dtype=int)


def test_a_drawn_digit_shows_on_screen_and_its_screenshot_is_saved(page):
    blank = canvas_on_screen(page)
    draw(page, 4)
    wait_for_prediction(page)
    assert (np.abs(canvas_on_screen(page) - blank) > 64).mean() > 0.01  # the strokes are there, not a blank canvas
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-page.png"))  # for a person to look at after a run


def test_two_tabs_keep_their_own_capsules(page, browser, demo_url, reader):
    other = open_demo(browser, demo_url)
    try:
        draw(page, 1)
        wait_for_prediction(page, "1")
        wait_for_finished_drawing(page, reader)
        own = pose_on_page(page)
        draw(other, 0)
        wait_for_prediction(other, "0")
        wait_for_finished_drawing(other, reader)
        drag_slider(page, 2, 0.02)
        page.locator("#reset").click()  # the pose comes back from this tab's reading, not the other's
        page.wait_for_function("(want) => Number(document.querySelector('#dim-2 input[type=number]').value) === want",
                               arg=own[2])
        assert pose_on_page(page) == own
        assert predicted_digit(page) == "1" and predicted_digit(other) == "0"
    finally:
        other.close()
