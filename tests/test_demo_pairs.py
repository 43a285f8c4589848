"""Two-digit mode's handlers (demo/pairs.py), called as the page calls them, without a browser."""

import base64
import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from bench.pagedriver.digit_strokes import render, render_pair
from capsnet import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT, load_model
from capsnet.data import load_mnist
from capsnet.multimnist import TEST_PAIR_SEED, fixed_pairs
from demo import pairs
from demo.app import EXAMPLES, PAIR_EXAMPLES, build

PIXEL_TOLERANCE = 1 / 255  # PNG is 8 bit


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def pair_model(model):
    pair_model, why_not = pairs.load_pair_model(PAIR_CHECKPOINT, model)
    assert pair_model is not None, why_not
    return pair_model


def rgb(data_url: str) -> np.ndarray:
    """A PNG data URL's pixels (H, W, 3) in [0, 1]."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


def drawing(pair_model, result, digit: int) -> np.ndarray:
    """What capsule digit draws from its own pose in the tab's result (28, 28)."""
    with torch.inference_mode():
        return pair_model.decode(result.poses[digit][None], torch.tensor([digit]))[0, 0].numpy()


def lengths_with(**long) -> torch.Tensor:
    """Ten capsule lengths of 0.05, except the given ones (d3=0.9: capsule 3 has length 0.9)."""
    lengths = torch.full((10,), 0.05)
    for name, value in long.items():
        lengths[int(name[1:])] = value
    return lengths


def test_both_digits_are_in_the_prediction_longest_first():
    shown = pairs.prediction_html(lengths_with(d7=0.95, d2=0.8, d5=0.3))
    digits = re.search(r'class="predicted-digit pair">(.*?)</div>', shown).group(1)
    assert re.findall(r"\d", digits) == ["7", "2"]
    assert "one digit" not in shown


def test_one_long_capsule_says_it_may_be_one_digit():
    shown = pairs.prediction_html(lengths_with(d7=0.95, d2=0.3))
    assert re.search(r'class="predicted-digit">7</div>', shown)
    assert "one digit: 7 (length 0.95" in shown and "2: 0.30" in shown


def test_the_pair_model_reads_a_digit_drawn_alone_as_one_digit(pair_model):
    read_as_one = [d for d in range(10) if f"one digit: {d} (" in pairs.predict(pair_model, render(d)).prediction]
    assert len(read_as_one) >= 8, read_as_one  # trained with single digits mixed in (89% of the test digits)


def test_the_two_longest_capsules_are_marked(pair_model):
    view = pairs.predict(pair_model, render_pair(3, 7))
    marked = re.findall(r'class="bar longest" title="capsule (\d)', view.lengths)
    assert sorted(int(d) for d in marked) == sorted(view.result.digits)


def test_a_blank_canvas_asks_for_two_digits(pair_model):
    view = pairs.predict_drawing(pair_model, "")
    assert view.result is None and pairs.BLANK_MESSAGE in view.prediction
    assert rgb(view.overlay["drawings"]).max() == 0


@pytest.mark.parametrize("url", ["hello", 7, "data:image/png;base64,!!!"])
def test_a_drawing_that_is_no_image_is_answered_with_one_line(pair_model, url):
    view = pairs.predict_drawing(pair_model, url)
    assert view.result is None and "Cannot read this drawing" in view.prediction


def test_an_image_without_ink_says_no_digits_were_found(pair_model, tmp_path):
    path = tmp_path / "white.png"
    Image.new("L", (200, 200), 255).save(path)
    assert pairs.NO_DIGITS in pairs.predict_file(pair_model, str(path)).prediction


def test_the_overlay_draws_the_selected_capsule_red_and_the_other_green(pair_model):
    view = pairs.predict(pair_model, render_pair(3, 7))
    first, second = view.result.digits
    pixels = rgb(view.overlay["drawings"])
    assert view.digit == first
    assert np.abs(pixels[..., 0] - drawing(pair_model, view.result, first)).max() <= PIXEL_TOLERANCE
    assert np.abs(pixels[..., 1] - drawing(pair_model, view.result, second)).max() <= PIXEL_TOLERANCE
    assert pixels[..., 2].max() == 0
    assert view.overlay["input"] == view.network_input


def test_choosing_the_other_digit_swaps_the_colours(pair_model):
    view = pairs.predict(pair_model, render_pair(3, 7))
    first, second = view.result.digits
    *_, overlay = pairs.select_capsule(pair_model, second, view.result)
    before, after = rgb(view.overlay["drawings"]), rgb(overlay["drawings"])
    assert np.array_equal(after[..., 0], before[..., 1]) and np.array_equal(after[..., 1], before[..., 0])


def test_a_slider_moved_on_the_server_changes_only_the_red_drawing(pair_model):
    view = pairs.predict(pair_model, render_pair(3, 7))
    moved = [value + 0.2 for value in view.pose]
    _, overlay = pairs.reconstruct(pair_model, view.digit, moved, view.result)
    before, after = rgb(view.overlay["drawings"]), rgb(overlay["drawings"])
    assert np.array_equal(after[..., 1], before[..., 1])
    assert np.abs(after[..., 0] - before[..., 0]).max() > 0.05


def test_a_bad_slider_value_leaves_the_overlay_as_it_is(pair_model):
    view = pairs.predict(pair_model, render_pair(3, 7))
    assert pairs.reconstruct(pair_model, view.digit, [float("nan")] * 16, view.result) == (None, None)


def test_the_pair_results_digits_are_its_two_longest_capsules(pair_model):
    view = pairs.predict(pair_model, render(3))
    assert set(view.result.digits) == set(view.result.lengths.topk(2).indices.tolist())
    first, second = view.result.digits
    assert view.result.other(first) == second and view.result.other(second) == first
    assert view.result.other(next(d for d in range(10) if d not in (first, second))) == first


def test_a_missing_pair_checkpoint_is_one_line_not_a_crash(model, tmp_path):
    pair_model, why_not = pairs.load_pair_model(tmp_path / "none", model)
    assert pair_model is None and "none: no such model folder" in why_not and "\n" not in why_not


def test_a_one_digit_checkpoint_is_not_taken_for_a_pair_model(model):
    pair_model, why_not = pairs.load_pair_model(DEFAULT_CHECKPOINT, model)
    assert pair_model is None and "not a model trained on pairs" in why_not


def mode_config(page) -> dict:
    return next(c["props"] for c in page.config["components"] if c["props"].get("elem_id") == "mode")


def test_without_a_pair_model_the_page_offers_one_digit_and_says_why(model):
    page = build(model, None, "checkpoints/capsnet-multimnist: no such model folder")
    props = mode_config(page)
    assert [value for _, value in props["choices"]] == ["one"]
    assert "two digits: unavailable (checkpoints/capsnet-multimnist: no such model folder)" in props["info"]


def test_with_a_pair_model_the_page_offers_both_modes_one_digit_first(model, pair_model):
    props = mode_config(build(model, pair_model))
    assert [value for _, value in props["choices"]] == ["one", "two"] and props["value"] == "one"


def test_shipped_pairs_are_the_test_pairs_they_name(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    test_pairs, pair_labels, _ = fixed_pairs(images, labels, TEST_PAIR_SEED)
    index = json.loads(PAIR_EXAMPLES.read_text())
    assert len(index) >= 6 and len({frozenset(e["labels"]) for e in index}) == len(index)
    for example in index:
        pixels = np.asarray(Image.open(EXAMPLES / example["file"]), dtype=np.float32) / 255
        assert np.abs(pixels - test_pairs[example["test_pair"], 0].numpy()).max() <= PIXEL_TOLERANCE
        assert pair_labels[example["test_pair"]].tolist() == example["labels"]
        assert "{}and{}".format(*example["labels"]) in example["file"]
