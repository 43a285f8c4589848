"""Two-digit mode in a real browser: #mode, both digits, #overlay in two colours, sliders that move one digit only."""

import numpy as np
import pytest
import torch

from bench.pagedriver.page import (
    NetworkMessages,
    VIEWPORT,
    choose_mode,
    drag_slider,
    draw,
    draw_pair,
    image_src,
    overlay_drawings,
    pixels,
    pose_on_page,
    wait_for_pixels,
    wait_for_prediction,
    wait_for_reading,
)
from demo.app import PAIR_EXAMPLES
from demo.compute.readers import Answer, load_examples

pytestmark = pytest.mark.browser

INK = 0.3  # a drawing has ink where a channel reaches this
# decoder.js decodes with the pair model's decoder graph (float32 sums in another order) into 8-bit PNGs.
DECODER_TOLERANCE = 3 / 255
FIRST_SCREEN = ["canvas", "mode", "prediction", "lengths", "reconstruction", "overlay", "dim-0", "dim-15"]


def wait_for_pair_answer(page, pair_reader) -> Answer:
    """What two-digit mode shows for the canvas, once its answer is on the page (answers sent while drawing come
    first)."""
    return wait_for_reading(page, pair_reader)


def wait_for_views_of(page, view: Answer) -> None:
    """Waits until the explainer views show the view's input: the routing caption names its selected capsule's
    length (the first digit's views come first while two are drawn)."""
    digit, length = view.digit, float(view.result.lengths[view.digit])
    page.wait_for_function("(want) => want.every(text => document.querySelector('#routing .caption')"
                           "?.innerText.includes(text))", arg=[f"capsule {digit}'s length", f"to {length:.2f}"])


def margin_shown(page) -> str:
    """The line under the predicted digits."""
    return page.locator("#prediction .margin").inner_text()


def lengths_named(answer: Answer) -> list[str]:
    """How the line under the digits may name the longest capsule's length and the next capsule's: "length 0.91",
    "1: 0.12" (whether it reads one digit or two), each to 2 decimals give or take 0.01, whoever read the drawing
    (the page's live path, with 8-bit weights, moves lengths by up to 0.01)."""
    lengths = answer.reading["lengths"]
    first, second = answer.result.longest_two()
    return [[f"{label}{lengths[capsule] + step:.2f}" for step in (-0.01, 0, 0.01)]
            for label, capsule in (("length ", first), (f"{second}: ", second))]


def says_lengths_of(page, answer: Answer) -> bool:
    return all(any(name in margin_shown(page) for name in names) for names in lengths_named(answer))


def shown(page, elem_id: str) -> bool:
    return page.locator(f"#{elem_id}").is_visible()


def test_two_overlapping_digits_show_both_digits_and_both_colours(page, pair_reader):
    choose_mode(page, "two digits")
    draw_pair(page, 3, 7)
    expected = wait_for_pair_answer(page, pair_reader)
    first, second = expected.result.longest_two()
    assert says_lengths_of(page, expected) and margin_shown(page).startswith(f"capsules {first}")
    marked = page.locator("#lengths .bar.longest .name").all_inner_texts()
    assert sorted(int(d) for d in marked) == sorted((first, second))
    drawings = overlay_drawings(page)
    assert drawings[..., 0].max() >= INK and drawings[..., 1].max() >= INK  # red and green both draw
    assert shown(page, "overlay") and not shown(page, "input-28")  # the overlay shows the input under the drawings
    assert page.js_errors == []


def test_a_slider_moves_the_selected_digit_and_not_the_other_without_the_network(page, pair_model, pair_reader):
    choose_mode(page, "two digits")
    draw_pair(page, 3, 7)
    expected = wait_for_pair_answer(page, pair_reader)
    wait_for_views_of(page, expected)  # they follow the prediction: their answer is the drawing's, not the sliders'
    before = overlay_drawings(page)
    network = NetworkMessages(page)
    drag_slider(page, 5, 0.95)
    pose = pose_on_page(page)
    with torch.inference_mode():
        decoded = pair_model.decode(torch.tensor([pose]), torch.tensor([expected.digit]))[0, 0].numpy()
    wait_for_pixels(page, "reconstruction", decoded, DECODER_TOLERANCE)  # decoded with the pair model's decoder
    page.wait_for_function("(old) => document.querySelector('#overlay img.drawings').getAttribute('src') !== old",
                           arg=expected.overlay["drawings"])
    page.wait_for_timeout(300)  # the last moves' recolouring
    network.close()
    after = overlay_drawings(page)
    assert np.array_equal(after[..., 1], before[..., 1])  # the other digit stays put
    assert np.abs(after[..., 0] - decoded).max() <= DECODER_TOLERANCE  # the selected one is the sliders' pose
    assert np.abs(after[..., 0] - before[..., 0]).max() > 0.05
    assert network.messages == []


def test_switching_mode_reads_the_same_drawing_with_the_other_model(page, model, pair_reader):
    draw(page, 3)
    wait_for_prediction(page, "3")
    assert not shown(page, "overlay")
    choose_mode(page, "two digits")
    expected = wait_for_pair_answer(page, pair_reader)
    assert says_lengths_of(page, expected)
    assert shown(page, "overlay")
    choose_mode(page, "one digit")
    wait_for_prediction(page, "3")
    assert not shown(page, "overlay") and shown(page, "input-28")


def test_a_digit_drawn_alone_in_two_digit_mode_reads_as_one_digit(page, pair_reader):
    choose_mode(page, "two digits")
    draw(page, 7)
    expected = wait_for_pair_answer(page, pair_reader)
    assert says_lengths_of(page, expected) and margin_shown(page).startswith("one digit: 7 (")


def test_a_shipped_pair_opens_two_digit_mode(page, pair_reader):
    page.locator("#pair-examples .thumbnail-item").first.click()
    page.wait_for_function("() => document.querySelector('#mode input[value=two]').checked")
    example = load_examples(PAIR_EXAMPLES)[0]
    expected = pair_reader.file(str(example.path))
    page.wait_for_function("(want) => document.querySelector('#overlay img.input').getAttribute('src') === want",
                           arg=expected.overlay["input"])
    assert says_lengths_of(page, expected)
    assert np.abs(pixels(image_src(page, "reconstruction")) - pixels(expected.reconstruction)).max() <= 1 / 255


def test_the_first_screen_holds_two_digit_mode(page):
    choose_mode(page, "two digits")
    draw_pair(page, 3, 7)
    wait_for_prediction(page)
    for elem_id in FIRST_SCREEN:
        box = page.locator(f"#{elem_id}").bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], elem_id
