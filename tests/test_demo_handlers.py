"""The demo's handlers, called as the page calls them, without a browser."""

import base64
import html
import io
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from bench.pagedriver.digit_strokes import render
from capsnet import load_model, preprocess
from capsnet.preprocessing import MAX_IMAGE_BYTES
from demo import handlers
from demo.__main__ import main
from tests.test_preprocessing import png_header

BLANK_IMAGES = {
    "white": Image.new("L", (280, 280), 255),
    "black": Image.new("L", (280, 280), 0),
    "transparent": Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
    "tiny dot": Image.fromarray(np.pad(np.zeros((3, 3), np.uint8), 138, constant_values=255)),
}


@pytest.fixture(scope="module")
def model():
    return load_model()


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return data_url_of(buffer.getvalue())


def data_url_of(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def pixels(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))), dtype=np.float32) / 255


POSE_DIMS = 16  # the shipped model's


def assert_blank(view: handlers.View) -> None:
    assert handlers.BLANK_MESSAGE in view.prediction
    assert view.digit is None and view.result is None
    assert view.pose == [0.0] * POSE_DIMS


@pytest.mark.parametrize("name", BLANK_IMAGES)
def test_nothing_drawn_asks_for_a_digit(model, name):
    assert_blank(handlers.predict(model, BLANK_IMAGES[name]))


TRUNCATED_PNG = data_url_of(base64.b64decode(data_url(render(1)).split(",")[1])[:300])
BOMB_PNG = data_url_of(png_header(13000, 13000))


@pytest.mark.parametrize("url", ["", None, "data:image/png;base64,"], ids=["empty", "none", "no data"])
def test_empty_canvas_is_blank(model, url):
    assert_blank(handlers.predict_drawing(model, url))


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
def test_what_is_no_drawing_says_why_in_one_line(model, url, reason):
    view = handlers.predict_drawing(model, url)
    assert "Cannot read this drawing" in view.prediction and reason in html.unescape(view.prediction)
    assert "\n" not in view.prediction and view.digit is None and view.result is None


def test_canvas_drawing_is_predicted(model):
    view = handlers.predict_drawing(model, data_url(render(1)))
    assert view.digit == 1
    assert re.search(r'class="predicted-digit">1<', view.prediction)


def test_huge_image_is_predicted(model):
    assert handlers.predict(model, render(7, size=5000, pen=250)).digit == 7


def test_transparent_rgba_drawing_is_predicted(model):
    assert handlers.predict(model, render(0, mode="RGBA")).digit == 0


def test_wrong_dtype_gives_a_one_line_message_not_an_exception(model):
    view = handlers.predict(model, np.zeros((280, 280), dtype=np.complex64))
    assert "Cannot read this image" in view.prediction and "\n" not in view.prediction
    assert view.digit is None


def test_outputs_are_in_the_pages_order(model):
    view = handlers.predict(model, render(3))
    outputs = view.outputs()
    assert len(outputs) == 5 + POSE_DIMS + 1
    assert outputs[4] == view.digit and list(outputs[5:-1]) == view.pose and outputs[-1] is view.result


def test_sliders_get_the_longest_capsules_pose(model):
    view = handlers.predict(model, render(2))
    assert view.result.poses.shape == (10, POSE_DIMS)
    assert view.pose == handlers.slider_values(view.result.poses[view.digit])


def test_lengths_chart_draws_each_length_on_a_fixed_0_to_1_scale():
    lengths = torch.tensor([0.05, 0.9, 0.0, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 1.0])
    html = handlers.lengths_html(lengths)
    heights = [float(h) for h in re.findall(r"height:([\d.]+)%", html)]
    assert heights == pytest.approx((100 * lengths).tolist(), abs=0.05)
    assert html.count('class="bar longest"') == 1 and "%<" not in html  # no percentages


def test_prediction_names_the_longest_capsule_and_the_runner_up():
    html = handlers.prediction_html(torch.tensor([0.1, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.85, 0.0, 0.4]))
    assert ">7<" in html and "0.85" in html and "next longest 9: 0.40" in html


def test_slider_values_stay_in_the_sliders_range():
    low, high = handlers.POSE_RANGE
    values = handlers.slider_values(torch.linspace(-5, 5, POSE_DIMS))
    assert min(values) == low and max(values) == high


def test_reconstruct_runs_only_the_decoder(model, monkeypatch):
    def whole_network(*args):
        raise AssertionError("the sliders must not run the whole network")

    monkeypatch.setattr(model, "forward", whole_network)
    image = pixels(handlers.reconstruct(model, 3, [0.1] * POSE_DIMS))
    assert image.shape == (28, 28)


def test_reconstruction_follows_the_pose(model):
    pose = handlers.predict(model, render(5)).pose
    moved = pose.copy()
    moved[0] = handlers.POSE_RANGE[1]
    assert not np.array_equal(pixels(handlers.reconstruct(model, 5, pose)),
                              pixels(handlers.reconstruct(model, 5, moved)))


def test_reconstruct_without_a_capsule_is_black(model):
    assert pixels(handlers.reconstruct(model, None, [0.0] * POSE_DIMS)).max() == 0


def test_selecting_a_capsule_gives_its_pose_and_image(model):
    view = handlers.predict(model, render(4))
    image, *pose = handlers.select_capsule(model, 8, view.result)
    assert pose == handlers.slider_values(view.result.poses[8])
    assert np.array_equal(pixels(image), pixels(handlers.reconstruct(model, 8, view.result.poses[8].tolist())))


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
def test_a_pose_that_is_not_16_finite_numbers_leaves_the_picture_alone(model, name):
    assert handlers.reconstruct(model, 3, BAD_POSES[name]) is None


def test_pose_values_outside_the_sliders_range_are_clamped_to_it(model):
    low, high = handlers.POSE_RANGE
    far = handlers.reconstruct(model, 3, [-5.0] * 8 + [1e9] * 8)
    assert far == handlers.reconstruct(model, 3, [low] * 8 + [high] * 8)


@pytest.mark.parametrize("digit", [-1, 10, 3.5, "x", True, None, [3], math.nan])
def test_a_capsule_outside_0_to_9_decodes_to_black(model, digit):
    assert pixels(handlers.reconstruct(model, digit, [0.1] * POSE_DIMS)).max() == 0
    image, *pose = handlers.select_capsule(model, digit, handlers.predict(model, render(4)).result)
    assert pixels(image).max() == 0 and pose == [0.0] * POSE_DIMS


@pytest.mark.parametrize("digit", [3, "3", 3.0])
def test_a_capsule_number_may_come_as_text_or_a_whole_float(digit):
    assert handlers.whole_number(digit, range(10)) == 3


def test_selecting_a_capsule_before_drawing_is_blank(model):
    image, *pose = handlers.select_capsule(model, 3, None)
    assert pixels(image).max() == 0 and pose == [0.0] * POSE_DIMS


@pytest.mark.parametrize("shape", [(6, 6, 3), (28, 28), (463, 318), (1, 1), (41, 65, 3)])
def test_png_bytes_hold_the_same_pixels_as_pils_png(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    pils = io.BytesIO()
    Image.fromarray(pixels).save(pils, format="PNG", compress_level=handlers.PNG_COMPRESSION)
    ours = Image.open(io.BytesIO(handlers.png_bytes(pixels)))
    assert ours.mode == Image.open(pils).mode and np.array_equal(np.asarray(ours), np.asarray(Image.open(pils)))


def test_network_input_shown_is_the_preprocessed_image(model):
    view = handlers.predict(model, render(6))
    expected = preprocess(render(6))[0, 0].numpy()
    assert np.abs(pixels(view.network_input) - expected).max() <= 1 / 255


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
