"""A link to the lab as it is (demo/static/components/share.js, demo/static/modules/link.js): copied, it opens a
fresh page with the same drawing read the same way, the same capsule, sliders, turn and reconstruction; the address
bar follows the page without a history entry per stroke; a damaged link opens an empty, working page with one line
that says so. The codec itself is checked without a browser (tests/js/link.test.mjs)."""

import numpy as np
import pytest

from bench.pagedriver.digit_strokes import render
from bench.pagedriver.page import (
    SLIDERS,
    Blocking,
    choose_mode,
    drag_slider,
    drag_to,
    draw,
    draw_pair,
    image_src,
    open_demo,
    pixels,
    pose_on_page,
    predicted_digit,
    wait_for_pixels,
    wait_for_pose,
    wait_for_prediction,
    wait_for_views,
)

pytestmark = pytest.mark.browser

TURN = ["rotate", "scale", "shear", "shift-x", "shift-y"]
CANNOT_READ = "This link could not be read: "
# A link's state (link.js): a one drawn as one stroke, nothing else moved.
A_ONE = {"mode": "one", "strokes": [[[140, 40], [135, 120], [130, 240]]], "example": None, "upload": False,
         "digit": None, "pose": None, "turn": [0, 1, 0, 0, 0], "iterations": 3, "tab": 0}


class Watching:
    """A browser whose new tabs collect their console's errors from the start (tab.console_errors), for open_demo."""

    def __init__(self, browser):
        self.browser = browser

    def new_page(self, **options):
        tab = self.browser.new_page(**options)
        tab.console_errors = []
        tab.on("console", lambda message: tab.console_errors.append(message.text) if message.type == "error" else None)
        return tab


def opened(browser, url: str):
    """A fresh tab on url, once share.js has put the link's state on the page (or said why it could not)."""
    tab = open_demo(Watching(browser), url)
    tab.wait_for_function("() => document.querySelector('#share [data-link]')?.dataset.link === 'ready'")
    return tab


def copied_link(page) -> str:
    page.locator("#copy-link").click()
    return page.locator("#link-text").input_value()


def link_status(page) -> str:
    return page.locator("#link-status").inner_text()


def checked(page, elem_id: str) -> str | None:
    return page.evaluate("(id) => document.querySelector(`#${id} input:checked`)?.value ?? null", elem_id)


def turn_on_page(page) -> list[float]:
    return [float(page.locator(f"#{elem_id} input[type=number]").input_value()) for elem_id in TURN]


def state_of(page) -> dict:
    return {"prediction": predicted_digit(page), "capsule": checked(page, "digit"), "pose": pose_on_page(page),
            "turn": turn_on_page(page), "iterations": checked(page, "iterations")}


def fragment(page, state: dict) -> str:
    """A link's fragment for state, made by the page's own link.js."""
    return page.evaluate("async (state) => (await import('/lab/link.js')).encode(state)", state)


def decoded(page, text: str) -> dict:
    return page.evaluate("async (text) => (await import('/lab/link.js')).decode(text)", text)


def test_a_copied_link_opens_the_same_prediction_sliders_turn_and_reconstruction(page_reading, browser):
    page = page_reading
    draw(page, 4)
    wait_for_views(page)
    read = wait_for_pose(page)
    drag_to(page, "rotate", 0.65)  # the server's answer for the turned input sets the sliders
    turned = wait_for_pose(page, read)
    drag_slider(page, 3, 0.8)
    wait_for_pose(page, turned)
    page.wait_for_timeout(300)  # the last decode's picture
    shared, picture = state_of(page), pixels(image_src(page, "reconstruction"))
    assert shared["turn"][0] != 0 and shared["pose"] != turned
    link = copied_link(page)
    assert "#lab=" in link and link_status(page).endswith(f"{len(link)} characters.")

    fresh = opened(browser, link)
    fresh.wait_for_function("(digit) => document.querySelector('#digit input:checked')?.value === digit",
                            arg=shared["capsule"])
    np.testing.assert_array_equal(wait_for_pixels(fresh, "reconstruction", picture, 0), picture)
    assert state_of(fresh) == shared
    assert link_status(fresh) == ""
    assert fresh.evaluate("location.href") == link
    assert page.js_errors == [] and fresh.js_errors == [] and fresh.console_errors == []
    fresh.close()


def test_the_address_follows_the_drawing_without_a_history_entry_per_stroke(page_reading):
    page = page_reading
    entries = page.evaluate("history.length")
    draw(page, 4)  # two strokes
    wait_for_views(page)
    page.wait_for_function("() => location.hash.startsWith('#lab=')")
    first = page.evaluate("location.hash")
    draw(page, 1)
    page.wait_for_function("(first) => location.hash !== first", arg=first)
    assert page.evaluate("history.length") == entries


def test_a_two_digit_link_opens_in_two_digit_mode_with_both_digits_read_the_same(page_reading, browser):
    page = page_reading
    choose_mode(page, "two digits")
    draw_pair(page, 3, 7)
    wait_for_views(page)
    page.wait_for_function("() => document.querySelector('#digit input:checked') !== null")
    shared = state_of(page)
    fresh = opened(browser, copied_link(page))
    assert checked(fresh, "mode") == "two" and state_of(fresh) == shared
    assert fresh.js_errors == [] and fresh.console_errors == []
    fresh.close()


def test_an_examples_link_opens_that_example(page, browser):
    page.locator("#examples .thumbnail-item").nth(5).click()
    wait_for_views(page)
    shared, network_input = state_of(page), image_src(page, "input-28")
    fresh = opened(browser, copied_link(page))
    fresh.wait_for_function("(src) => document.querySelector('#input-28 img').getAttribute('src') === src",
                            arg=network_input)
    assert state_of(fresh) == shared
    fresh.close()


def test_an_uploaded_image_is_said_to_be_out_of_the_link(page, tmp_path):
    path = tmp_path / "seven.png"
    render(7).save(path)
    page.locator("#upload input[type=file]").set_input_files(str(path))
    wait_for_prediction(page, "7")
    assert "uploaded image is not in the link" in link_status(page)
    copied_link(page)
    assert "An uploaded image is not in it." in link_status(page)


def test_without_webassembly_the_server_reads_a_links_drawing_and_the_sliders_take_its_turn_and_pose(
        server_page, browser, demo_url):
    pose = [round(0.05 * (dim - 8), 4) for dim in range(SLIDERS)]
    link = fragment(server_page, {**A_ONE, "pose": pose, "turn": [10, 1, 0, 0, 0]})
    tab = opened(Blocking(browser, "**/*.wasm"), f"{demo_url}#{link}")
    assert tab.evaluate("capsnetLocal.place") == "server"
    assert predicted_digit(tab) == "1" and pose_on_page(tab) == pose and turn_on_page(tab) == [10, 1, 0, 0, 0]
    assert tab.js_errors == []  # its console has the blocked WebAssembly's errors
    tab.close()


def test_ten_damaged_links_each_open_an_empty_working_page_with_one_line(page, browser, demo_url):
    good = fragment(page, A_ONE)
    for_another_page = [{"digit": 12}, {"pose": [0.1] * (SLIDERS - 1)}, {"strokes": [[[10, 10], [9000, 10]]]}]
    damaged = [
        good[: len(good) // 2],  # cut in half
        good[:-1],  # one character short
        good[:10] + ("A" if good[10] != "A" else "B") + good[11:],  # one character changed
        good + "AAAA",  # more than a state
        "lab=" + "A" * 20_000,  # oversized
        "lab=%E2%9C%93!",  # not base64url
        "hello",  # not a link of the lab
        *(fragment(page, {**decoded(page, good), **changed}) for changed in for_another_page),  # well made, elsewhere
    ]
    assert len(damaged) == 10
    for text in damaged:
        tab = opened(browser, f"{demo_url}#{text}")
        line = link_status(tab)
        assert line.startswith(CANNOT_READ) and "\n" not in line, (text[:40], line)
        assert predicted_digit(tab) == "?" and tab.evaluate("location.hash") == ""
        draw(tab, 7)
        assert wait_for_prediction(tab) == "7"
        assert tab.js_errors == [] and tab.console_errors == [], text[:40]
        tab.close()


def test_a_link_of_one_stroke_opens_the_drawing_read_as_a_one(page, browser, demo_url):
    good = fragment(page, A_ONE)
    tab = opened(browser, f"{demo_url}#{good}")
    assert wait_for_prediction(tab) == "1" and link_status(tab) == ""
    tab.close()
