"""What the page shows for a drawing, a capsule choice or a pose: plain functions of the model, no Gradio.

app.py wires them to the page; tests call them directly.
"""

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from capsnet import CapsNet, preprocess

NUM_DIGITS = 10
POSE_DIMS = 16
# Slider range of every pose dimension, from bench/pose_ranges.py: on the MNIST
# test set the longest capsule's 16 values lie within -0.38..0.46 (0.1st to
# 99.9th percentile of every dimension, shipped checkpoint). Adding the paper's
# largest perturbation (0.25, Fig. 4) and rounding up gives -0.8..0.8: any
# drawing's pose fits, and every value can still be pushed 0.25 either way.
POSE_RANGE = (-0.8, 0.8)
BLANK_MESSAGE = "Draw a digit"
IMAGE_SIZE = 28


@dataclass
class View:
    """Everything a prediction changes on the page, in the order app.py lists the outputs."""

    prediction: str  # HTML: the digit, large, and by how much its capsule is the longest
    lengths: str  # HTML: a bar per digit capsule, 0-1
    network_input: str  # PNG data URL of the 28x28 image the network received
    reconstruction: str  # PNG data URL of the decoder's output for the selected capsule
    digit: int | None  # the selected capsule
    pose: list[float]  # its 16 values, for the sliders
    poses: np.ndarray | None  # (10, 16) all capsules' poses: the tab's state

    def outputs(self) -> tuple:
        return (self.prediction, self.lengths, self.network_input, self.reconstruction, self.digit,
                *self.pose, self.poses)


def image_url(image: torch.Tensor | None) -> str:
    """A 28x28 image in [0, 1] (any leading dims of size 1) as a PNG data URL; black when None."""
    pixels = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    if image is not None:
        pixels = (image.reshape(IMAGE_SIZE, IMAGE_SIZE).clamp(0, 1) * 255).round().byte().numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def read_data_url(url: str | None) -> Image.Image | None:
    """The canvas's PNG data URL as an image; None for an empty canvas or anything unreadable."""
    if not url or "," not in url:
        return None
    try:
        image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1], validate=True)))
        image.load()  # Image.open reads only the header: a truncated file fails here, not later
    except (binascii.Error, ValueError, OSError, Image.DecompressionBombError):  # OSError: not an image, truncated
        return None
    return image


def slider_values(pose: torch.Tensor) -> list[float]:
    """A pose as slider positions: clamped to the sliders' range, which Gradio enforces."""
    low, high = POSE_RANGE
    return [round(min(max(value, low), high), 4) for value in pose.tolist()]


def lengths_html(lengths: torch.Tensor | None) -> str:
    """A bar per digit capsule on a fixed 0-1 scale, the longest marked; they don't sum to 1, so no percentages."""
    values = [0.0] * NUM_DIGITS if lengths is None else lengths.tolist()
    longest = None if lengths is None else int(lengths.argmax())
    bars = "".join(
        f'<div class="bar{" longest" if digit == longest else ""}" title="capsule {digit}: length {value:.3f}">'
        f'<span class="value">{value:.2f}</span>'
        f'<span class="track"><span class="fill" style="height:{100 * value:.1f}%"></span></span>'
        f'<span class="name">{digit}</span></div>'
        for digit, value in enumerate(values)
    )
    axis = '<div class="axis"><span>1</span><span>0.5</span><span>0</span></div>'
    return f'<div class="lengths-chart" aria-label="capsule lengths, 0 to 1">{axis}{bars}</div>'


def prediction_html(lengths: torch.Tensor | None, message: str = BLANK_MESSAGE) -> str:
    """The longest capsule's digit, large, with its length and the runner-up's; the message when none."""
    if lengths is None:
        return f'<div class="predicted-digit empty">?</div><div class="margin">{message}</div>'
    top = torch.topk(lengths, 2)
    (first, second), (best, runner_up) = top.values.tolist(), top.indices.tolist()
    return (f'<div class="predicted-digit">{best}</div>'
            f'<div class="margin">capsule {best}: length {first:.2f}; next longest {runner_up}: {second:.2f}</div>')


def blank_view(message: str = BLANK_MESSAGE) -> View:
    return View(prediction_html(None, message), lengths_html(None), image_url(None), image_url(None),
                None, [0.0] * POSE_DIMS, None)


def predict(model: CapsNet, image) -> View:
    """The page for an image (PIL or array, as capsnet.preprocess takes): blank when there's no digit in it."""
    try:
        x = preprocess(image)
    except TypeError as error:
        return blank_view(f"Cannot read this image: {error}")
    if x is None:
        return blank_view()
    with torch.inference_mode():
        out = model(x)
    lengths, poses = out.lengths[0], out.poses[0]
    digit = int(lengths.argmax())
    return View(prediction_html(lengths), lengths_html(lengths), image_url(x), image_url(out.reconstruction),
                digit, slider_values(poses[digit]), poses.numpy())


def predict_drawing(model: CapsNet, url: str | None) -> View:
    """The page for the canvas's data URL; an empty canvas is blank."""
    image = read_data_url(url)
    return blank_view() if image is None else predict(model, image)


def warm_up(model: CapsNet) -> None:
    """One run on an empty image, so that the first drawing doesn't wait for PyTorch's lazy set-up."""
    with torch.inference_mode():
        model(torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE))


def reconstruct(model: CapsNet, digit: int | None, pose: list[float]) -> str:
    """The decoder's image of pose placed in capsule digit (the sliders' event: the decoder only)."""
    if digit is None:
        return image_url(None)
    with torch.inference_mode():
        image = model.decode(torch.tensor([pose], dtype=torch.float32), torch.tensor([digit]))
    return image_url(image)


def select_capsule(model: CapsNet, digit: int | None, poses: np.ndarray | None) -> tuple:
    """Capsule digit's own pose from the drawing: (reconstruction, its 16 slider values); reset does the same."""
    if digit is None or poses is None:
        return (image_url(None), *[0.0] * POSE_DIMS)
    pose = slider_values(torch.from_numpy(poses[digit]))
    return (reconstruct(model, digit, torch.from_numpy(poses[digit]).tolist()), *pose)
