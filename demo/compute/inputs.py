"""Values from the page or the API, checked: a drawing, an uploaded file, a capsule, an iteration count, a pose.

Anyone can call the page's events with anything; what is not what the page sends is answered with a
one-line message (ImageError) or counts as not given, never an exception.
"""

import base64
import binascii
import math

import torch
from PIL import Image

from capsnet import ImageError
from capsnet.preprocessing import check_file_size

from ..server.memory import read_image

# Slider range of every pose dimension, from bench/pose_ranges.py: on the MNIST
# test set the longest capsule's 16 values lie within -0.38..0.46 (0.1st to
# 99.9th percentile of every dimension, shipped checkpoint). Adding the paper's
# largest perturbation (0.25, Fig. 4) and rounding up gives -0.8..0.8: any
# drawing's pose fits, and every value can still be pushed 0.25 either way.
POSE_RANGE = (-0.8, 0.8)


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


def slider_values(pose: torch.Tensor) -> list[float]:
    """A pose as slider positions: clamped to the sliders' range, which Gradio enforces."""
    low, high = POSE_RANGE
    return [round(min(max(value, low), high), 4) for value in pose.tolist()]


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


def read_upload(path: str | None) -> tuple[Image.Image | None, str | None]:
    """An uploaded file as (PIL image, None), or (None, a one-line message saying what is wrong)."""
    if path is None:
        return None, "Choose an image file"
    try:
        return read_image(path), None
    except ImageError as error:
        return None, f"Cannot use this file: {error}"


def _describe(value) -> str:
    """A value from the page or the API, named without echoing much of it."""
    return f"the text {value[:20]!r}" if isinstance(value, str) else f"a value of type {type(value).__name__}"
