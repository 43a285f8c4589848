"""The page's modes (demo/compute/readers.py), called as the page's events call them, without a browser: one-digit mode
reads the shipped model, two-digit mode the shipped pair model. What the page draws from a reading (#prediction,
#lengths) is specified in tests/js/views.test.mjs."""

import base64
import dataclasses
import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from bench.pagedriver.digit_strokes import render, render_pair
from capsnet import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT, load_model, preprocess
from capsnet.data import load_mnist
from capsnet.multimnist import TEST_PAIR_SEED, fixed_pairs
from capsnet.preprocessing import MAX_IMAGE_BYTES
from demo.__main__ import main
from demo.app import EXAMPLES, ONE, PAIR_EXAMPLES, TWO, build
from demo.wiring import Page, current
from demo.compute.inputs import POSE_RANGE, slider_values
from demo.compute.readers import PRESENT, Answer, Pose, load_examples, load_pair_model, one_digit, two_digits
from tests.test_preprocessing import png_header

POSE_DIMS = 16  # the shipped models'
PIXEL_TOLERANCE = 1 / 255  # PNG is 8 bit
BLANK_IMAGES = {
    "white": Image.new("L", (280, 280), 255),
    "black": Image.new("L", (280, 280), 0),
    "transparent": Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
    "tiny dot": Image.fromarray(np.pad(np.zeros((3, 3), np.uint8), 138, constant_values=255)),
}


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def one(model):
    return one_digit(ONE, model, [])


@pytest.fixture(scope="module")
def pair_model(model):
    pair_model, why_not = load_pair_model(PAIR_CHECKPOINT, model)
    assert pair_model is not None, why_not
    return pair_model


@pytest.fixture(scope="module")
def two(pair_model):
    return two_digits(TWO, pair_model, [])


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return data_url_of(buffer.getvalue())


def data_url_of(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def pixels(url: str) -> np.ndarray:
    """A grey PNG data URL's pixels (H, W) in [0, 1]."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))), dtype=np.float32) / 255


def rgb(url: str) -> np.ndarray:
    """A PNG data URL's pixels (H, W, 3) in [0, 1]."""
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


def drawing(pair_model, result, digit: int) -> np.ndarray:
    """What capsule digit draws from its own pose in the tab's result (28, 28)."""
    with torch.inference_mode():
        return pair_model.decode(result.poses[digit][None], torch.tensor([digit]))[0, 0].numpy()


def saved(tmp_path, image: Image.Image, name: str) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


def longest(reading: dict, k: int = 1) -> list[int]:
    """The k longest capsules of a reading, longest first."""
    return torch.tensor(reading["lengths"]).topk(k).indices.tolist()


def read_alone(reading: dict) -> int | None:
    """The digit a two-digit reading shows alone: its longest capsule, when the next is under `present`."""
    first, second = longest(reading, 2)
    return first if reading["lengths"][second] < reading["present"] else None


def assert_blank(answer: Answer, message: str) -> None:
    assert answer.reading["message"] == message and answer.reading["lengths"] == [0.0] * 10
    assert answer.digit is None and answer.result is None
    assert answer.pose == [0.0] * POSE_DIMS


# ---- one digit: an input read ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BLANK_IMAGES)
def test_nothing_drawn_asks_for_a_digit(one, name):
    assert_blank(one.image(BLANK_IMAGES[name]), "Draw a digit")


TRUNCATED_PNG = data_url_of(base64.b64decode(data_url(render(1)).split(",")[1])[:300])
BOMB_PNG = data_url_of(png_header(13000, 13000))


@pytest.mark.parametrize("url", ["", None, "data:image/png;base64,"], ids=["empty", "none", "no data"])
def test_empty_canvas_is_blank(one, url):
    assert_blank(one.drawing(url), "Draw a digit")


@pytest.mark.parametrize("url,reason", [
    ("data:image/png;base64,not-base64!", "not valid base64"),
    ("data:image/png;base64,aGVsbG8=", "not a readable image"),
    (TRUNCATED_PNG, "not a readable image"),
    ("hello", "expected an image as a data URL"),
    (BOMB_PNG, "13000x13000 pixels; send one of at most 50 megapixels"),
    ("data:image/png;base64," + "A" * (4 * MAX_IMAGE_BYTES // 3 + 8), "send an image of at most 25 MB"),
    (7, "not a value of type int"),
    (["data:image/png;base64,"], "not a value of type list"),
    ({"path": "/etc/passwd"}, "not a value of type dict"),
], ids=["not base64", "not an image", "truncated png", "no data URL", "bomb", "too long", "number", "list", "dict"])
def test_what_is_no_drawing_says_why_in_one_line(one, url, reason):
    answer = one.drawing(url)
    message = answer.reading["message"]
    assert message.startswith("Cannot read this drawing") and reason in message and "\n" not in message
    assert answer.digit is None and answer.result is None


def test_canvas_drawing_is_predicted(one):
    answer = one.drawing(data_url(render(1)))
    assert answer.digit == 1 and answer.reading["message"] is None and longest(answer.reading) == [1]


def test_huge_image_is_predicted(one):
    assert one.image(render(7, size=5000, pen=250)).digit == 7


def test_transparent_rgba_drawing_is_predicted(one):
    assert one.image(render(0, mode="RGBA")).digit == 0


def test_wrong_dtype_gives_a_one_line_message_not_an_exception(one):
    answer = one.image(np.zeros((280, 280), dtype=np.complex64))
    message = answer.reading["message"]
    assert message.startswith("Cannot read this image") and "\n" not in message
    assert answer.digit is None


def test_network_input_shown_is_the_preprocessed_image(one):
    answer = one.image(render(6))
    expected = preprocess(render(6))[0, 0].numpy()
    assert np.abs(pixels(answer.network_input) - expected).max() <= PIXEL_TOLERANCE


def test_sliders_get_the_longest_capsules_pose(one):
    answer = one.image(render(2))
    assert answer.result.poses.shape == (10, POSE_DIMS)
    assert answer.pose == slider_values(answer.result.poses[answer.digit])


def test_a_result_names_the_mode_that_read_it(one, two):
    assert one.image(render(2)).result.mode == ONE and two.image(render(2)).result.mode == TWO


# ---- the reading: the numbers that #prediction and #lengths draw ----------------------------------------------

def test_a_one_digit_reading_is_every_capsules_length_to_4_places_and_one_digit(one):
    lengths = torch.tensor([0.1, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.853217, 0.0, 0.4])
    assert one.reading(lengths) == {"lengths": [0.1, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.8532, 0.0, 0.4], "digits": 1,
                                    "present": PRESENT, "message": None}


def test_a_two_digit_reading_has_two_digits_each_present_from_half_length(two):
    reading = two.reading(torch.full((10,), 0.05))
    assert reading["digits"] == 2 and reading["present"] == 0.5  # halfway between the margin loss's m- and m+


def test_a_predictions_reading_has_its_results_lengths(one):
    answer = one.image(render(5))
    assert answer.reading["lengths"] == pytest.approx(answer.result.lengths.tolist(), abs=5e-5)


def test_the_pair_model_reads_a_digit_drawn_alone_as_one_digit(two):
    read_as_one = [d for d in range(10) if read_alone(two.image(render(d)).reading) == d]
    assert len(read_as_one) >= 8, read_as_one  # trained with single digits mixed in (89% of the test digits)


def test_a_two_digit_readings_two_longest_capsules_are_the_results_digits(two):
    answer = two.image(render_pair(3, 7))
    assert answer.reading["digits"] == 2
    assert longest(answer.reading, 2) == list(answer.result.longest_two())


# ---- one digit: the capsule choice and the pose sliders ------------------------------------------------------------

def test_a_pose_is_drawn_by_the_decoder_alone(one, model, monkeypatch):
    def whole_network(*args):
        raise AssertionError("the sliders must not run the whole network")

    monkeypatch.setattr(model, "forward", whole_network)
    assert pixels(one.pose(3, [0.1] * POSE_DIMS, None).reconstruction).shape == (28, 28)


def test_reconstruction_follows_the_pose(one):
    pose = one.image(render(5)).pose
    moved = pose.copy()
    moved[0] = POSE_RANGE[1]
    assert not np.array_equal(pixels(one.decode(5, pose)), pixels(one.decode(5, moved)))


def test_a_pose_without_a_capsule_is_black(one):
    assert pixels(one.pose(None, [0.0] * POSE_DIMS, None).reconstruction).max() == 0


def test_selecting_a_capsule_gives_its_pose_and_image(one):
    result = one.image(render(4)).result
    chosen = one.select(8, result)
    assert chosen.values == slider_values(result.poses[8])
    assert np.array_equal(pixels(chosen.reconstruction), pixels(one.decode(8, result.poses[8].tolist())))


BAD_POSES = {
    "nan": [math.nan] + [0.0] * 15,
    "inf": [0.0] * 15 + [math.inf],
    "text": ["0.1"] * 16,
    "None": [None] * 16,
    "15 values": [0.0] * 15,
    "17 values": [0.0] * 17,
    "not a list": 0.5,
}


@pytest.mark.parametrize("name", BAD_POSES)
def test_a_pose_that_is_not_16_finite_numbers_leaves_the_picture_alone(one, name):
    assert one.pose(3, BAD_POSES[name], None) == Pose(None, None)


def test_pose_values_outside_the_sliders_range_are_clamped_to_it(one):
    low, high = POSE_RANGE
    far = one.pose(3, [-5.0] * 8 + [1e9] * 8, None).reconstruction
    assert far == one.pose(3, [low] * 8 + [high] * 8, None).reconstruction


@pytest.mark.parametrize("digit", [-1, 10, 3.5, "x", True, None, [3], math.nan])
def test_a_capsule_outside_0_to_9_decodes_to_black(one, digit):
    assert pixels(one.pose(digit, [0.1] * POSE_DIMS, None).reconstruction).max() == 0
    chosen = one.select(digit, one.image(render(4)).result)
    assert pixels(chosen.reconstruction).max() == 0 and chosen.values == [0.0] * POSE_DIMS


def test_selecting_a_capsule_before_drawing_is_blank(one):
    chosen = one.select(3, None)
    assert pixels(chosen.reconstruction).max() == 0 and chosen.values == [0.0] * POSE_DIMS


def test_one_digit_mode_has_no_overlay(one):
    answer = one.image(render(4))
    assert answer.overlay is None and one.blank().overlay is None
    assert one.select(8, answer.result).overlay is None and one.pose(8, answer.pose, answer.result).overlay is None


# ---- two digits ------------------------------------------------------------------------------------------------------

def test_a_blank_canvas_asks_for_two_digits(two):
    answer = two.drawing("")
    assert answer.result is None and answer.reading["message"] == "Draw two digits over each other"
    assert rgb(answer.overlay["drawings"]).max() == 0


@pytest.mark.parametrize("url", ["hello", 7, "data:image/png;base64,!!!"])
def test_a_drawing_that_is_no_image_is_answered_with_one_line(two, url):
    answer = two.drawing(url)
    assert answer.result is None and answer.reading["message"].startswith("Cannot read this drawing")


def test_an_image_without_ink_says_no_digits_were_found(two, tmp_path):
    path = saved(tmp_path, Image.new("L", (200, 200), 255), "white.png")
    assert two.file(path).reading["message"].startswith("No digits found in this image")


def test_the_overlay_draws_the_selected_capsule_red_and_the_other_green(two, pair_model):
    answer = two.image(render_pair(3, 7))
    first, second = answer.result.longest_two()
    shown = rgb(answer.overlay["drawings"])
    assert answer.digit == first
    assert np.abs(shown[..., 0] - drawing(pair_model, answer.result, first)).max() <= PIXEL_TOLERANCE
    assert np.abs(shown[..., 1] - drawing(pair_model, answer.result, second)).max() <= PIXEL_TOLERANCE
    assert shown[..., 2].max() == 0
    assert answer.overlay["input"] == answer.network_input


def test_choosing_the_other_digit_swaps_the_colours(two):
    answer = two.image(render_pair(3, 7))
    _, second = answer.result.longest_two()
    before, after = rgb(answer.overlay["drawings"]), rgb(two.select(second, answer.result).overlay["drawings"])
    assert np.array_equal(after[..., 0], before[..., 1]) and np.array_equal(after[..., 1], before[..., 0])


def test_a_slider_moved_on_the_server_changes_only_the_red_drawing(two):
    answer = two.image(render_pair(3, 7))
    moved = [value + 0.2 for value in answer.pose]
    overlay = two.pose(answer.digit, moved, answer.result).overlay
    before, after = rgb(answer.overlay["drawings"]), rgb(overlay["drawings"])
    assert np.array_equal(after[..., 1], before[..., 1])
    assert np.abs(after[..., 0] - before[..., 0]).max() > 0.05


def test_a_bad_slider_value_leaves_the_overlay_as_it_is(two):
    answer = two.image(render_pair(3, 7))
    assert two.pose(answer.digit, [float("nan")] * 16, answer.result) == Pose(None, None, None)


def test_the_pair_results_digits_are_its_two_longest_capsules(two):
    result = two.image(render(3)).result
    assert set(result.longest_two()) == set(result.lengths.topk(2).indices.tolist())
    first, second = result.longest_two()
    assert result.other(first) == second and result.other(second) == first
    assert result.other(next(d for d in range(10) if d not in (first, second))) == first


# ---- the page's answers (wiring.Page) ----------------------------------------------------------------------------------

def named_page() -> Page:
    """A Page whose components are their names: what it sets reads by name."""
    names = {field.name: field.name for field in dataclasses.fields(Page)}
    return Page(**{**names, "sliders": [f"dim-{j}" for j in range(POSE_DIMS)]})


ONE_DIGIT_ANSWERS = {
    "drawing": lambda one, tmp_path: one.drawing(data_url(render(5))),
    "upload": lambda one, tmp_path: one.file(saved(tmp_path, render(5), "five.png")),
    "blank": lambda one, tmp_path: one.blank(),
}


@pytest.mark.parametrize("source", ONE_DIGIT_ANSWERS)
def test_a_one_digit_answer_sets_every_output_of_the_page_but_the_overlay(one, tmp_path, source):
    page, answer = named_page(), ONE_DIGIT_ANSWERS[source](one, tmp_path)
    shown = page.shown(answer)
    assert set(shown) == set(page.answered()) - {"overlay"}
    assert shown["prediction"] == shown["lengths"] == answer.reading and shown["digit"] == answer.digit
    assert [shown[slider] for slider in page.sliders] == answer.pose and shown["result"] is answer.result


def test_a_two_digit_answer_sets_the_overlay_too(two):
    page, answer = named_page(), two.image(render_pair(3, 7))
    shown = page.shown(answer)
    assert set(shown) == set(page.answered()) and shown["overlay"] == answer.overlay


def test_each_answer_asks_for_the_views_with_a_new_number_unless_told_not_to(one):
    page, answer = named_page(), one.image(render(5))
    assert page.shown(answer)["new_result"] != page.shown(answer)["new_result"]
    assert "new_result" not in page.shown(answer, views=False)


def test_a_pose_moved_on_the_server_sets_only_the_picture_and_the_overlay(two):
    page, answer = named_page(), two.image(render_pair(3, 7))
    pose = two.pose(answer.digit, [value + 0.2 for value in answer.pose], answer.result)
    # and the tab's Result it was made from, which may be the page's drawing read just now (wiring.current)
    assert page.posed_as(pose, answer.result) == {"reconstruction": pose.reconstruction, "overlay": pose.overlay,
                                                  "result": answer.result}


# ---- a drawing the page read itself (wiring.current) ------------------------------------------------------------------

def test_a_drawing_the_page_read_itself_is_read_by_the_server_when_an_event_needs_it(one, two):
    drawing = data_url(render(4))
    state = current({ONE: one, TWO: two}, None, drawing, ONE)
    assert state.longest == 4 and state.drawing == drawing and state.mode == ONE


def test_the_drawing_the_state_was_read_from_is_not_read_again(one, two):
    drawing = data_url(render(4))
    state = one.drawing(drawing).result
    assert current({ONE: one, TWO: two}, state, drawing, ONE) is state


def test_no_drawing_of_the_pages_own_leaves_the_state_as_it_is(one, two, tmp_path):
    state = one.file(saved(tmp_path, render(5), "five.png")).result  # an upload: the canvas's value is None
    assert current({ONE: one, TWO: two}, state, None, ONE) is state


def test_an_empty_canvas_after_a_drawing_is_no_input(one, two):
    state = one.drawing(data_url(render(4))).result
    assert current({ONE: one, TWO: two}, state, "", ONE) is None


@pytest.mark.parametrize("drawing, mode", [("not a drawing", ONE), (["x"], ONE), (data_url(render(4)), ["one"]),
                                           (data_url(render(4)), "three")])
def test_a_bad_drawing_or_mode_from_the_page_is_read_as_nothing_or_in_one_digit_mode(one, two, drawing, mode):
    state = current({ONE: one, TWO: two}, None, drawing, mode)
    assert state is None or (state.mode == ONE and state.longest == 4)


# ---- the pair model and the page's modes -----------------------------------------------------------------------------

def test_a_missing_pair_checkpoint_is_one_line_not_a_crash(model, tmp_path):
    pair_model, why_not = load_pair_model(tmp_path / "none", model)
    assert pair_model is None and "none: no such model folder" in why_not and "\n" not in why_not


def test_a_one_digit_checkpoint_is_not_taken_for_a_pair_model(model):
    pair_model, why_not = load_pair_model(DEFAULT_CHECKPOINT, model)
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


# ---- the shipped pairs ---------------------------------------------------------------------------------------------

def test_shipped_pairs_are_the_test_pairs_they_name(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    test_pairs, pair_labels, _ = fixed_pairs(images, labels, TEST_PAIR_SEED)
    index = json.loads(PAIR_EXAMPLES.read_text())
    assert len(index) >= 6 and len({frozenset(e["labels"]) for e in index}) == len(index)
    for example in index:
        shown = np.asarray(Image.open(EXAMPLES / example["file"]), dtype=np.float32) / 255
        assert np.abs(shown - test_pairs[example["test_pair"], 0].numpy()).max() <= PIXEL_TOLERANCE
        assert pair_labels[example["test_pair"]].tolist() == example["labels"]
        assert "{}and{}".format(*example["labels"]) in example["file"]


def test_the_pairs_list_reads_as_the_examples_list_does_captioned_with_both_digits():
    pairs = load_examples(PAIR_EXAMPLES)
    assert pairs and all(len(e.labels) == 2 and e.path.is_file() for e in pairs)
    assert all(e.caption == "{} and {}".format(*e.labels) for e in pairs)


# ---- the command line --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [None, b"not safetensors"])
def test_missing_or_broken_checkpoint_stops_with_one_line_saying_how_to_train(tmp_path, content):
    path = tmp_path / "capsnet"
    if content is not None:
        path.mkdir()
        (path / "config.json").write_text('{"model_type": "capsnet"}')
        (path / "model.safetensors").write_bytes(content)
    with pytest.raises(SystemExit) as stop:
        main(["--checkpoint", str(path)])
    message = str(stop.value.code)
    assert "python train.py" in message and "\n" not in message


@pytest.mark.parametrize("flag", ["--torch-threads", "--max-threads"])
@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_thread_count_below_one_stops_with_a_usage_error(flag, value, capsys):
    with pytest.raises(SystemExit) as stop:
        main([flag, value])
    assert stop.value.code == 2 and "at least 1" in capsys.readouterr().err
