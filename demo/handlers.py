"""What the page shows for an input, a capsule choice or a pose: plain functions of the model, no Gradio.

Each input is run through the network once (`predict`): its Result, the tab's state, keeps what the
network saw and made of it, and the capsule choice, the sliders' reset and the explainer views
(explainer.py) follow from that Result. Every size (digits, pose dimensions, pixels) is the model's
config. app.py wires these functions to the page; tests call them directly.
"""

import base64
import binascii
import html
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from capsnet import CapsNet, CapsNetConfig, ImageError
from capsnet.preprocessing import check_file_size

from .cores import CORE_TURNS
from .memory import preprocess, read_image

# Slider range of every pose dimension, from bench/pose_ranges.py: on the MNIST
# test set the longest capsule's 16 values lie within -0.38..0.46 (0.1st to
# 99.9th percentile of every dimension, shipped checkpoint). Adding the paper's
# largest perturbation (0.25, Fig. 4) and rounding up gives -0.8..0.8: any
# drawing's pose fits, and every value can still be pushed 0.25 either way.
POSE_RANGE = (-0.8, 0.8)
BLANK_MESSAGE = "Draw a digit"
# zlib level 1: the views' PNGs are made twice as fast as at PIL's default (6) and are about a tenth larger
# (docs/speed.md, "A stroke's cost to the server"); PNG stays lossless at any level.
PNG_COMPRESSION = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_GREY, PNG_RGB = 0, 2  # the PNG colour types of 8-bit grey and RGB pixels


@dataclass
class Result:
    """One input as the network saw it and what it made of it: a tab's state, made once per input."""

    x: torch.Tensor  # (1, 1, 28, 28) the network input
    lengths: torch.Tensor  # (10,) the digit capsules' lengths
    poses: torch.Tensor  # (10, 16) the digit capsules v_j
    primary: torch.Tensor  # (1, 1152, 8) the primary capsules u_i: the views re-run only routing from them

    @property
    def longest(self) -> int:
        return int(self.lengths.argmax())

    def capsule(self, chosen) -> int:
        """The capsule chosen on the page (a digit capsule's number), or the longest when none or no such one."""
        digit = whole_number(chosen, range(len(self.lengths)))
        return self.longest if digit is None else digit


@dataclass
class View:
    """Everything a prediction changes on the page, in the order app.py lists the outputs."""

    prediction: str  # HTML: the digit, large, and by how much its capsule is the longest
    lengths: str  # HTML: a bar per digit capsule, 0-1
    network_input: str  # PNG data URL of the 28x28 image the network received
    reconstruction: str  # PNG data URL of the decoder's output for the selected capsule
    digit: int | None  # the selected capsule
    pose: list[float]  # its 16 values, for the sliders
    result: Result | None  # the tab's state; None when there is no digit to show

    def outputs(self) -> tuple:
        return (self.prediction, self.lengths, self.network_input, self.reconstruction, self.digit,
                *self.pose, self.result)


# ---- values from the page or the API ------------------------------------------------------------------------------

def whole_number(value, allowed: range) -> int | None:
    """A choice from the page or the API (a capsule, an iteration count): one of allowed as an int; it may come as a
    whole float or a numeral. None for anything else, booleans included."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in allowed:
        return value
    return None


def as_pose(values, dims: int) -> list[float] | None:
    """dims slider values from the page or the API, clamped to POSE_RANGE; None unless all are finite numbers."""
    if not isinstance(values, (list, tuple)) or len(values) != dims:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    low, high = POSE_RANGE
    return [min(max(float(v), low), high) for v in values]


def read_data_url(url) -> Image.Image | None:
    """The canvas's PNG data URL as an image, under read_image's limits; None for an empty canvas.

    The base64 text's length is checked before it is decoded. Raises ImageError
    (one line) for anything that is not an image's data URL.
    """
    if url is None or url == "":
        return None
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        raise ImageError(f"expected an image as a data URL (data:image/png;base64,...), not {_describe(url)}")
    payload = url.split(",", 1)[1]
    if not payload:
        return None
    check_file_size(len(payload) * 3 // 4)  # 4 base64 characters carry 3 bytes
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters
        raise ImageError("the data URL is not valid base64; send what canvas.toDataURL() gives") from None
    return read_image(data)


def _describe(value) -> str:
    """A value from the page or the API, named without echoing much of it."""
    return f"the text {value[:20]!r}" if isinstance(value, str) else f"a value of type {type(value).__name__}"


# ---- pictures and charts ------------------------------------------------------------------------------------------

def gray(image) -> np.ndarray:
    """Pixels in [0, 1] (any shape, squeezed) as uint8."""
    return (np.asarray(image, dtype=np.float32).squeeze().clip(0, 1) * 255).round().astype(np.uint8)


def png_url(pixels: np.ndarray) -> str:
    """uint8 pixels (H, W) or (H, W, 3) as a PNG data URL."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")


def png_bytes(pixels: np.ndarray) -> bytes:
    """uint8 pixels (H, W) grey or (H, W, 3) RGB as a PNG file: the same pixels as PIL's PNG, in about half its
    time for the views' small pictures (bench/bench_figures.py; docs/speed.md). Each row unfiltered, as PIL
    writes them at this compression level."""
    height, width = pixels.shape[:2]
    rows = np.insert(np.ascontiguousarray(pixels, np.uint8).reshape(height, -1), 0, 0, axis=1)  # filter type 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, PNG_RGB if pixels.ndim == 3 else PNG_GREY, 0, 0, 0)
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESSION))
            + chunk(b"IEND", b""))


def image_url(image) -> str:
    """An image in [0, 1] (any leading dims of size 1) as a PNG data URL."""
    return png_url(gray(image))


def black(cfg: CapsNetConfig) -> str:
    """The picture shown where there is no image yet."""
    return image_url(np.zeros((cfg.image_size, cfg.image_size)))


def slider_values(pose: torch.Tensor) -> list[float]:
    """A pose as slider positions: clamped to the sliders' range, which Gradio enforces."""
    low, high = POSE_RANGE
    return [round(min(max(value, low), high), 4) for value in pose.tolist()]


def lengths_html(lengths: torch.Tensor, marked: int = 1) -> str:
    """A bar per digit capsule on a fixed 0-1 scale, the `marked` longest marked (two for two digits; none when all
    are 0: nothing drawn); they don't sum to 1, so no percentages."""
    longest = set(lengths.topk(marked).indices.tolist()) if lengths.any() else set()
    bars = "".join(
        f'<div class="bar{" longest" if digit in longest else ""}" title="capsule {digit}: length {value:.3f}">'
        f'<span class="value">{value:.2f}</span>'
        f'<span class="track"><span class="fill" style="height:{100 * value:.1f}%"></span></span>'
        f'<span class="name">{digit}</span></div>'
        for digit, value in enumerate(lengths.tolist())
    )
    axis = '<div class="axis"><span>1</span><span>0.5</span><span>0</span></div>'
    return f'<div class="lengths-chart" aria-label="capsule lengths, 0 to 1">{axis}{bars}</div>'


def prediction_html(lengths: torch.Tensor | None, message: str = BLANK_MESSAGE) -> str:
    """The longest capsule's digit, large, with its length and the runner-up's; the message when none."""
    if lengths is None:
        return f'<div class="predicted-digit empty">?</div><div class="margin">{html.escape(message)}</div>'
    top = torch.topk(lengths, 2)
    (first, second), (best, runner_up) = top.values.tolist(), top.indices.tolist()
    return (f'<div class="predicted-digit">{best}</div>'
            f'<div class="margin">capsule {best}: length {first:.2f}; next longest {runner_up}: {second:.2f}</div>')


# ---- the page's answers -------------------------------------------------------------------------------------------

def blank_view(cfg: CapsNetConfig, message: str = BLANK_MESSAGE) -> View:
    return View(prediction_html(None, message), lengths_html(torch.zeros(cfg.num_classes)), black(cfg), black(cfg),
                None, [0.0] * cfg.digit_dim, None)


def predict(model: CapsNet, image, blank_message: str = BLANK_MESSAGE) -> View:
    """The page for an image (PIL or array, as capsnet.preprocess takes): blank, with blank_message, when
    there's no digit in it."""
    try:
        x = preprocess(image)
    except ImageError as error:
        return blank_view(model.config, f"Cannot read this image: {error}")
    if x is None:
        return blank_view(model.config, blank_message)
    return predict_input(model, x)


def predict_input(model: CapsNet, x: torch.Tensor) -> View:
    """The page for a network input x (1, 1, 28, 28), as preprocess framed it: a change of model re-runs it."""
    with CORE_TURNS.take(), torch.inference_mode():
        out = model(x)
    result = Result(x, out.lengths[0], out.poses[0], out.primary)
    digit = result.longest
    return View(prediction_html(result.lengths), lengths_html(result.lengths), image_url(x),
                image_url(out.reconstruction), digit, slider_values(result.poses[digit]), result)


def predict_drawing(model: CapsNet, url) -> View:
    """The page for the canvas's data URL; an empty canvas is blank, anything else not an image says why."""
    try:
        image = read_data_url(url)
    except ImageError as error:
        return blank_view(model.config, f"Cannot read this drawing: {error}")
    return blank_view(model.config) if image is None else predict(model, image)


def warm_up(model: CapsNet) -> None:
    """One run on an empty image, so that the first drawing doesn't wait for PyTorch's lazy set-up."""
    size = model.config.image_size
    with torch.inference_mode():
        model(torch.zeros(1, 1, size, size))


def reconstruct(model: CapsNet, digit, pose) -> str | None:
    """The decoder's image of pose placed in capsule digit (the sliders' event: the decoder only).

    Black without a capsule; None (leave the picture as it is) for a pose that is
    not 16 finite numbers. Values outside the sliders' range are clamped to it.
    """
    cfg = model.config
    digit, pose = whole_number(digit, range(cfg.num_classes)), as_pose(pose, cfg.digit_dim)
    if digit is None:
        return black(cfg)
    if pose is None:
        return None
    with torch.inference_mode():
        image = model.decode(torch.tensor([pose], dtype=torch.float32), torch.tensor([digit]))
    return image_url(image)


def select_capsule(model: CapsNet, digit, result: Result | None) -> tuple:
    """Capsule digit's own pose from the tab's Result: (reconstruction, its slider values); reset does the same."""
    digit = whole_number(digit, range(model.config.num_classes))
    if digit is None or result is None:
        return (black(model.config), *[0.0] * model.config.digit_dim)
    pose = result.poses[digit]
    return (reconstruct(model, digit, pose.tolist()), *slider_values(pose))
