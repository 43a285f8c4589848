"""Turn and stretch in a real browser: #rotate changes the network's input, the lengths and #sweep live; Reset and a
new input put them back; bad values sent to the page's transform event are clamped or ignored, never a 500."""

import base64
import io
import json
import math
import urllib.error
import urllib.request

import pytest

from bench.pagedriver.digit_strokes import render
from bench.pagedriver.page import (
    drag_to,
    draw,
    image_src,
    pixels,
    wait_for_new_src,
    wait_for_pixels,
    wait_for_prediction,
)

from ..test_export import TOLERANCE as LIVE_PATH_TOLERANCE  # the page's lengths against the server's

pytestmark = pytest.mark.browser


def number(page, elem_id: str) -> float:
    return float(page.locator(f"#{elem_id} input[type=number]").input_value())


def html_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_html()


def wait_for_new_html(page, elem_id: str, old: str) -> str:
    page.wait_for_function("([id, old]) => document.querySelector(`#${id}`).innerHTML !== old", arg=[elem_id, old])
    return html_of(page, elem_id)


def open_turn_tab(page) -> str:
    """Opens the "Turn and stretch" tab and waits for the sweep of the current input; returns #sweep's HTML."""
    page.get_by_role("tab", name="Turn and stretch").click()
    page.wait_for_function("() => document.querySelector('#sweep svg') !== null")
    return html_of(page, "sweep")


def drawn_seven(page) -> tuple[str, str]:
    """Draws a 7 and waits for it: (the network input's picture, the lengths' HTML)."""
    blank = image_src(page, "input-28")
    draw(page, 7)
    wait_for_prediction(page, "7")
    wait_for_new_src(page, "input-28", blank)
    # the reading of the stroke's end, the page's or the server's, comes last and sets the capsule
    page.wait_for_function("() => document.querySelector('#digit input:checked') !== null")
    page.wait_for_timeout(300)
    return image_src(page, "input-28"), html_of(page, "lengths")


def test_turning_changes_the_networks_input_the_lengths_and_the_sweep(page):
    drawn, lengths = drawn_seven(page)
    sweep = open_turn_tab(page)
    drag_to(page, "rotate", 0.9)  # about +48 deg
    assert number(page, "rotate") > 30
    turned = wait_for_new_src(page, "input-28", drawn)
    assert turned != drawn
    assert wait_for_new_html(page, "lengths", lengths) != lengths
    assert wait_for_new_html(page, "sweep", sweep) != sweep  # the slider's mark moved, the scale sweep is turned


def lengths_shown(page) -> list[float]:
    """The ten lengths #lengths shows (each bar's title holds its length to 3 decimals)."""
    titles = page.locator("#lengths .bar").evaluate_all("(bars) => bars.map((bar) => bar.title)")
    return [float(title.rsplit(" ", 1)[1]) for title in titles]


def test_reset_puts_the_input_and_the_lengths_back(page):
    drawn, _ = drawn_seven(page)
    lengths = lengths_shown(page)
    drag_to(page, "scale", 0.1)
    wait_for_new_src(page, "input-28", drawn)
    page.locator("#transform-reset").click()
    # the same pixels and lengths, whoever read the drawing (the page's PNG and 8-bit live path, or the server's)
    wait_for_pixels(page, "input-28", pixels(drawn), 1 / 255)
    page.wait_for_function("() => Number(document.querySelector('#scale input[type=number]').value) === 1")
    assert lengths_shown(page) == pytest.approx(lengths, abs=LIVE_PATH_TOLERANCE)
    assert number(page, "scale") == 1 and number(page, "rotate") == 0


def test_a_new_drawing_starts_with_no_change(page):
    drawn_seven(page)
    drag_to(page, "rotate", 0.2)
    assert number(page, "rotate") < -20
    page.locator("#clear").click()
    draw(page, 1)
    wait_for_prediction(page, "1")
    page.wait_for_function("() => Number(document.querySelector('#rotate input[type=number]').value) === 0")


def test_an_example_is_turned_and_the_next_one_starts_with_no_change(page):
    blank = image_src(page, "input-28")
    page.locator("#examples .thumbnail-item").nth(0).click()
    wait_for_prediction(page)
    example = wait_for_new_src(page, "input-28", blank)
    drag_to(page, "shear", 0.9)
    assert number(page, "shear") > 0.3
    wait_for_new_src(page, "input-28", example)
    page.locator("#examples .thumbnail-item").nth(1).click()
    page.wait_for_function("() => Number(document.querySelector('#shear input[type=number]').value) === 0")


def data_url(digit: int) -> str:
    buffer = io.BytesIO()
    render(digit).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def call(server: str, event: str, values: list, session: str) -> tuple[int, dict | None]:
    """An event by name with raw JSON values (NaN included), in one Gradio session."""
    body = json.dumps({"data": values, "session_hash": session}).encode()
    request = urllib.request.Request(f"{server}gradio_api/run/{event}", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def inputs_of(server: str, event: str) -> int:
    """How many values the page's event takes (its inputs, states included), from the page's config."""
    with urllib.request.urlopen(f"{server}config", timeout=60) as response:
        config = json.loads(response.read())
    return next(len(d["inputs"]) for d in config["dependencies"] if d.get("api_name") == event)


BAD_VALUES = {"nan": [math.nan] * 5, "text": ["x", "y", "z", "left", "up"], "null": [None] * 5,
              "out of range": [1e9, -1e9, 1e9, -1e9, 1e9], "lists": [[30], {"a": 1}, [], [0], [1]]}


@pytest.mark.parametrize("name", BAD_VALUES)
def test_bad_values_sent_to_the_transform_are_clamped_or_ignored(demo_url, name):
    session = f"bad-{name.replace(' ', '-')}"
    draw_values = [data_url(7), False] + [None] * (inputs_of(demo_url, "draw") - 2)
    assert call(demo_url, "draw", draw_values, session)[0] == 200
    status, answer = call(demo_url, "transform", [None, None, "one", *BAD_VALUES[name], False], session)  # Page.tab
    assert status == 200
    reading = answer["data"][0]  # #prediction's numbers (readers.Reader.reading)
    assert len(reading["lengths"]) == 10 and reading["message"] is None  # the changed input is read
