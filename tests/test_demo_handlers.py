"""The demo's handlers, called as the page calls them, without a browser."""

import base64
import io
import re

import numpy as np
import pytest
import torch
from demo.digit_strokes import render
from PIL import Image

from capsnet import load_model, preprocess
from demo import handlers
from demo.__main__ import main

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
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pixels(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))), dtype=np.float32) / 255


def assert_blank(view: handlers.View) -> None:
    assert handlers.BLANK_MESSAGE in view.prediction
    assert view.digit is None and view.poses is None
    assert view.pose == [0.0] * handlers.POSE_DIMS


@pytest.mark.parametrize("name", BLANK_IMAGES)
def test_nothing_drawn_asks_for_a_digit(model, name):
    assert_blank(handlers.predict(model, BLANK_IMAGES[name]))


TRUNCATED_PNG = data_url(render(1))[:400]


@pytest.mark.parametrize("url", ["", None, "data:image/png;base64,", "data:image/png;base64,not-base64!",
                                 "data:image/png;base64,aGVsbG8=", TRUNCATED_PNG],
                         ids=["empty", "none", "no data", "not base64", "not an image", "truncated png"])
def test_empty_or_unreadable_canvas_is_blank(model, url):
    assert_blank(handlers.predict_drawing(model, url))


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
    assert len(outputs) == 5 + handlers.POSE_DIMS + 1
    assert outputs[4] == view.digit and list(outputs[5:-1]) == view.pose and outputs[-1] is view.poses


def test_sliders_get_the_longest_capsules_pose(model):
    view = handlers.predict(model, render(2))
    assert view.poses.shape == (handlers.NUM_DIGITS, handlers.POSE_DIMS)
    assert view.pose == handlers.slider_values(torch.from_numpy(view.poses[view.digit]))


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
    values = handlers.slider_values(torch.linspace(-5, 5, handlers.POSE_DIMS))
    assert min(values) == low and max(values) == high


def test_reconstruct_runs_only_the_decoder(model, monkeypatch):
    def whole_network(*args):
        raise AssertionError("the sliders must not run the whole network")

    monkeypatch.setattr(model, "forward", whole_network)
    image = pixels(handlers.reconstruct(model, 3, [0.1] * handlers.POSE_DIMS))
    assert image.shape == (28, 28)


def test_reconstruction_follows_the_pose(model):
    pose = handlers.predict(model, render(5)).pose
    moved = pose.copy()
    moved[0] = handlers.POSE_RANGE[1]
    assert not np.array_equal(pixels(handlers.reconstruct(model, 5, pose)),
                              pixels(handlers.reconstruct(model, 5, moved)))


def test_reconstruct_without_a_capsule_is_black(model):
    assert pixels(handlers.reconstruct(model, None, [0.0] * handlers.POSE_DIMS)).max() == 0


def test_selecting_a_capsule_gives_its_pose_and_image(model):
    view = handlers.predict(model, render(4))
    image, *pose = handlers.select_capsule(model, 8, view.poses)
    assert pose == handlers.slider_values(torch.from_numpy(view.poses[8]))
    assert np.array_equal(pixels(image), pixels(handlers.reconstruct(model, 8, view.poses[8].tolist())))


def test_selecting_a_capsule_before_drawing_is_blank(model):
    image, *pose = handlers.select_capsule(model, 3, None)
    assert pixels(image).max() == 0 and pose == [0.0] * handlers.POSE_DIMS


def test_network_input_shown_is_the_preprocessed_image(model):
    view = handlers.predict(model, render(6))
    expected = preprocess(render(6))[0, 0].numpy()
    assert np.abs(pixels(view.network_input) - expected).max() <= 1 / 255


@pytest.mark.parametrize("content", [None, b"not a checkpoint"])
def test_missing_or_broken_checkpoint_stops_with_one_line_saying_how_to_train(tmp_path, content):
    path = tmp_path / "capsnet.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SystemExit) as stop:
        main(["--checkpoint", str(path)])
    message = str(stop.value.code)
    assert "python train.py" in message and "\n" not in message
