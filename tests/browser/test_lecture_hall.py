"""A lecture hall at once: with the network in the page, a finished stroke is read by the page itself, the four
explainer views included (canvas.js, network.js's explain graph and decoder, explained.js), and nothing is sent;
#digit and the sliders take the page's reading, and a capsule choice, #iterations and Reset for it are answered in
the page too; an event that needs the input later (#sweep, #mode) brings the drawing to the server then
(wiring.current), and a capsule chosen for an input the server read (an example) is asked of the server. Without WebAssembly the server still reads every input and
makes every view. The numbers themselves are checked against the server's without a browser (tests/test_explain.py,
tests/js/explained.test.mjs)."""

import numpy as np
import pytest
import torch

from bench.pagedriver.page import (
    EXPLAINER_VIEWS,
    choose_capsule,
    choose_mode,
    draw,
    draw_pair,
    pixels,
    pose_on_page,
    wait_for_prediction,
    wait_for_views,
)
from capsnet import preprocess

# a slider against model(x)'s pose: the page's live path, with 8-bit weights, then the slider's 4 decimals
from ..test_export import TOLERANCE as POSE_TOLERANCE

pytestmark = pytest.mark.browser


def posts(page) -> list[str]:
    """The URLs of the POST requests the tab sends from now on (the list grows)."""
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def cleared(page) -> None:
    page.locator("#clear").click()
    page.wait_for_function("(ids) => ids.every(id => document.querySelector(`#${id} img`) === null)",
                           arg=EXPLAINER_VIEWS)


def drawn_input(page) -> torch.Tensor:
    """What the server makes of the canvas: its PNG, read and framed by preprocess."""
    url = page.evaluate("() => document.querySelector('#canvas canvas').toDataURL('image/png')")
    return preprocess((pixels(url) * 255).round().astype(np.uint8))


def checked_capsule(page) -> int:
    return int(page.evaluate("document.querySelector('#digit input:checked').value"))


@pytest.mark.parametrize("mode", ["one", "two"])
def test_drawing_three_digits_sends_nothing_and_every_view_follows_the_drawing(page_reading, mode):
    page = page_reading
    if mode == "two":
        choose_mode(page, "two digits")
        assert page.evaluate("capsnetLocal.prepare('two')")
    sent, shown = posts(page), None
    for digit in (3, 7, 1):
        cleared(page)
        if mode == "one":
            draw(page, digit)
        else:
            draw_pair(page, digit, (digit + 5) % 10)
        views = wait_for_views(page, shown)
        assert shown is None or all(views[view] != shown[view] for view in EXPLAINER_VIEWS)
        shown = views
        if mode == "one":
            assert wait_for_prediction(page) == str(digit)
    page.wait_for_timeout(500)  # anything sent late
    assert sent == []
    assert page.js_errors == []


def test_without_webassembly_the_server_reads_the_drawing_and_makes_every_view(server_page):
    sent = posts(server_page)
    draw(server_page, 7)
    assert wait_for_prediction(server_page) == "7"
    views = wait_for_views(server_page)
    assert all("<img" in html for html in views.values())
    assert any("/gradio_api/run/" in url for url in sent)


def test_the_capsule_and_sliders_take_the_pages_reading_of_the_drawing(page_reading, model):
    draw(page_reading, 4)
    wait_for_views(page_reading)
    with torch.inference_mode():
        out = model(drawn_input(page_reading))
    longest = int(out.lengths[0].argmax())
    page_reading.wait_for_function("(digit) => document.querySelector('#digit input:checked')?.value === digit",
                                   arg=str(longest))
    np.testing.assert_allclose(pose_on_page(page_reading), out.poses[0, longest].numpy(), atol=POSE_TOLERANCE)


def sliders_moved(page, before: list[float]) -> None:
    page.wait_for_function("(before) => Array.from({length: 16}, (_, d) => Number(document.querySelector("
                           "`#dim-${d} input[type=number]`).value)).some((v, d) => v !== before[d])", arg=before)


def another_capsule_chosen(page) -> tuple[int, list[str]]:
    """Another capsule than the one on show chosen, waited for until the sliders and Figure 4 show it: (that capsule,
    the POSTs the tab sent meanwhile)."""
    page.wait_for_function("() => document.querySelector('#digit input:checked') !== null")
    other = (checked_capsule(page) + 1) % 10
    before, sent = pose_on_page(page), posts(page)
    choose_capsule(page, other)
    sliders_moved(page, before)
    return other, sent


def test_choosing_another_capsule_for_a_drawing_the_page_read_is_answered_in_the_page(page_reading, model):
    draw(page_reading, 4)
    wait_for_views(page_reading)
    other, sent = another_capsule_chosen(page_reading)
    with torch.inference_mode():
        pose = model(drawn_input(page_reading)).poses[0, other]
    np.testing.assert_allclose(pose_on_page(page_reading), pose.numpy(), atol=POSE_TOLERANCE)
    page_reading.wait_for_timeout(500)  # anything sent late
    assert sent == []


def test_iterations_and_reset_for_a_drawing_the_page_read_are_answered_in_the_page(page_reading):
    draw(page_reading, 6)
    wait_for_views(page_reading)
    sent = posts(page_reading)
    page_reading.locator("#iterations label", has_text="1").click()
    page_reading.wait_for_function("() => document.querySelectorAll('#routing .iterations > *').length === 1")
    drawn = pose_on_page(page_reading)
    for dim in (0, 5):
        page_reading.locator(f"#dim-{dim} input[type=number]").fill(str(drawn[dim] + 0.1))
    sliders_moved(page_reading, drawn)
    page_reading.locator("#reset").click()
    page_reading.wait_for_function("(drawn) => Array.from({length: 16}, (_, d) => Number(document.querySelector("
                                   "`#dim-${d} input[type=number]`).value)).every((v, d) => v === drawn[d])",
                                   arg=drawn)
    page_reading.wait_for_timeout(500)
    assert sent == []


def test_a_capsule_chosen_for_an_example_is_asked_of_the_server(page_reading):
    page_reading.locator("#examples .thumbnail-item").first.click()
    wait_for_views(page_reading)
    _, sent = another_capsule_chosen(page_reading)
    assert any("/gradio_api/run/" in url for url in sent)


def test_clear_empties_every_view_in_the_page(page_reading):
    draw(page_reading, 2)
    wait_for_views(page_reading)
    sent = posts(page_reading)
    cleared(page_reading)
    assert page_reading.locator("#prediction .predicted-digit").inner_text() == "?"
    assert all("Draw a digit" in page_reading.locator(f"#{view}").inner_text() for view in EXPLAINER_VIEWS)
    assert sent == []


def test_the_sweep_when_shown_is_asked_of_the_server_for_a_drawing_the_page_read(page_reading):
    page_reading.get_by_role("tab", name="Turn and stretch").click()
    page_reading.locator("#canvas canvas").scroll_into_view_if_needed()  # the tab scrolled the page down
    for digit in (1, 0):
        page_reading.locator("#clear").click()
        draw(page_reading, digit)
        page_reading.wait_for_function("(digit) => document.querySelector('#sweep').innerText"
                                       ".includes(`capsule ${digit}'s 16 pose values`)", arg=digit)
