"""The pose sliders in a real browser are named by what each dimension of the capsule on show tracks."""

import pytest

from bench.pagedriver.page import choose_mode, draw, draw_pair, wait_for_prediction
from capsnet import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT
from demo.compute.turn_and_stretch import capsule_names

pytestmark = pytest.mark.browser


def slider_names(page) -> list[str]:
    return page.evaluate("() => Array.from({length: 16}, (_, dim) =>"
                         " document.querySelector(`#dim-${dim} [data-testid=block-info]`).textContent)")


def choose_capsule(page, digit: int) -> None:
    page.locator("#digit label", has_text=str(digit)).click()


def wait_for_names(page, names: list[str]) -> list[str]:
    page.wait_for_function("(want) => want.every((name, dim) =>"
                           " document.querySelector(`#dim-${dim} [data-testid=block-info]`).textContent === name)",
                           arg=names)
    return slider_names(page)


def test_a_drawn_4_names_at_least_8_sliders_and_another_capsule_renames_them(page):
    names = capsule_names(DEFAULT_CHECKPOINT, 16, 10)
    draw(page, 4)
    wait_for_prediction(page, "4")
    choose_capsule(page, 4)
    shown = wait_for_names(page, names[4])
    assert sum(" - " in name for name in shown) >= 8  # "dim 3 - turn": named by what it does
    choose_capsule(page, 1)
    assert wait_for_names(page, names[1]) != shown


def test_two_digit_mode_shows_the_pair_models_own_names(page):
    single, pair = capsule_names(DEFAULT_CHECKPOINT, 16, 10), capsule_names(PAIR_CHECKPOINT, 16, 10)
    choose_mode(page, "two digits")
    draw_pair(page, 3, 7)
    wait_for_prediction(page)
    digit = int(page.locator("#digit input:checked").get_attribute("value"))
    assert pair[digit] != single[digit]  # measured on the pair model itself
    assert sum(" - " in name for name in wait_for_names(page, pair[digit])) >= 1
