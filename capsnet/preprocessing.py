"""Make a person's drawing look like an MNIST digit, the only kind of image the network has seen.

MNIST's recipe (LeCun et al.): fit the digit's longer side into a 20x20 box,
keeping its aspect ratio, with anti-aliasing, then place it in a 28x28 field so
that its centre of mass lies at the centre. MNIST digits are light on black,
and their strokes are about a tenth of the digit's height wide. A canvas
drawing differs in all of this: it has margins, any size, either polarity, maybe
a transparent background, and a pen from 1 px on a large canvas to a fat
marker. Skipping these steps is why CapsNet demos recognise so little of what
people draw.
"""

import io
import math
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MNIST_SIZE = 28
DIGIT_BOX = 20  # MNIST fits the digit's longer side into 20 px
MNIST_CENTRE = 14.0  # mean centre of mass of MNIST test digits, row and column (bench/mnist_stats.py)
MAX_SIDE = 2048  # larger images are first shrunk by box averaging, which keeps 1 px lines visible
MIN_CONTRAST = 0.08  # ink that differs from the paper by less than this is no drawing
NOISE_FLOOR = 0.15  # after normalising, fainter pixels are paper (JPEG noise, smudges, shadows)
WORK_SIZE = 160  # stroke width is measured and changed with the digit's longer side this many px
# Stroke width over the digit's longer side in MNIST test digits, 10th to 90th
# percentile, measured by stroke_width() (bench/mnist_stats.py). Thinner or
# thicker drawings are brought to the nearest end of the range.
STROKE_RANGE = (0.089, 0.154)
MIN_ELONGATION = 2.5  # a disc is 2 stroke widths long; ink no longer than this is a dot, not a digit

# Limits for an image from a person (upload, canvas, API, preprocess), checked before decoding.
# A phone photo is 12-50 megapixels (48 MP is 8064x6048, 50 MP 8160x6120) and 3-25 MB as
# a JPEG; a digit needs far less, but refusing a photo straight from a phone would surprise.
MAX_IMAGE_BYTES = 25 * 2**20
MAX_IMAGE_PIXELS = 50_000_000
# Modes whose pixels Image.reduce cannot average, and the mode they are averaged in.
AVERAGE_IN = {"1": "L", "P": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I", "I;16N": "I"}
READ_ERROR = "send a PNG, JPEG, GIF, WebP or BMP file"
# What PIL raises for a file it cannot decode: truncated, corrupt, or a bomb that slipped past the header checks.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


class ImageError(ValueError):
    """An input that is no usable image; the message is one line saying what is wrong and what to do."""


def read_image(source: bytes | str | os.PathLike) -> Image.Image:
    """An image file's bytes (or its path) as a PIL image, refused before decoding when over the limits.

    Only the header is read before the size checks, so a small file that claims
    a huge picture (a decompression bomb) costs nothing. Animated images give
    their first frame. Images over MAX_SIDE px on a side come shrunk to it (as
    preprocess would), so a big photo holds little memory once read. Raises
    ImageError (one line) for anything else.
    """
    if not isinstance(source, (bytes, str, os.PathLike)):
        raise ImageError(f"read_image needs an image file's bytes or path, not {type(source).__name__}")
    data = source if isinstance(source, bytes) else _read_file(source)
    check_file_size(len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            check_pixels(*image.size)
            image.seek(0)  # an animated GIF, WebP or PNG: its first frame
            return _decoded(image)
    except ImageError:
        raise
    except DECODE_ERRORS as error:
        raise _unreadable(error) from None


def _decoded(image: Image.Image) -> Image.Image:
    """image decoded and shrunk to at most MAX_SIDE px a side; ImageError when it cannot be decoded.

    Image.open reads only the header: a truncated file fails here. A JPEG is decoded
    at 1/2, 1/4 or 1/8 scale when big, so a phone photo never exists full size.
    """
    try:
        image.draft(image.mode, _shrunk_size(image.size))  # only a JPEG not yet decoded does anything here
        image.load()
        return shrink(image)
    except DECODE_ERRORS as error:
        raise _unreadable(error) from None


def _unreadable(error: Exception) -> ImageError:
    return ImageError(f"not a readable image ({type(error).__name__}); {READ_ERROR}")


def check_file_size(size: int) -> None:
    if size > MAX_IMAGE_BYTES:
        raise ImageError(f"the file is {size / 2**20:.0f} MB; send an image of at most {MAX_IMAGE_BYTES // 2**20} MB")


def check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(f"the image is {width}x{height} pixels; send one of at most "
                         f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels")


def _read_file(path: str | os.PathLike) -> bytes:
    try:
        check_file_size(os.path.getsize(path))
        with open(path, "rb") as f:
            return f.read()
    except OSError as error:
        raise ImageError(f"cannot read {os.fspath(path)!r} ({error.strerror or type(error).__name__})") from None


def _shrunk_size(size: tuple[int, int]) -> tuple[int, int]:
    factor = _shrink_factor(size)
    return (-(-size[0] // factor), -(-size[1] // factor))


def _shrink_factor(size: tuple[int, int]) -> int:
    return max(1, -(-max(size) // MAX_SIDE))


def shrink(image: Image.Image) -> Image.Image:
    """At most MAX_SIDE px on the longer side, by box averaging, which keeps 1 px lines visible."""
    factor = _shrink_factor(image.size)
    if factor == 1:
        return image
    if "transparency" in image.info:  # one colour marked transparent: averaging would lose it
        image = image.convert("RGBA")
    if image.mode in AVERAGE_IN:
        image = image.convert(AVERAGE_IN[image.mode])
    return image.reduce(factor)


def preprocess(image) -> torch.Tensor | None:
    """An image of one digit as the network's input: float tensor (1, 1, 28, 28) in [0, 1].

    image: a PIL image (any mode) or a numpy array (H, W), (H, W, 1), (H, W, 3)
    or (H, W, 4) of integers (0-255), bools or floats (0-1; NaN is 0, inf is
    clipped), any size up to MAX_IMAGE_PIXELS, either polarity; in RGBA,
    transparent pixels are background. Returns None when there is no digit to
    see: an empty, blank, uniform or near-blank image, or a lone dot. Raises
    ImageError (one line) for anything else: another type, another shape or
    kind of array, too many pixels, a file PIL cannot decode.
    """
    height, width = _image_shape(image)
    if height == 0 or width == 0:
        return None
    ink = _ink(_to_gray(_to_pil(image)))
    if ink is None:
        return None
    ink = to_work_size(crop_to_ink(ink))
    width = stroke_width(ink)
    if max(ink.shape) < MIN_ELONGATION * width:
        return None
    ink = _normalise_stroke(ink, width)
    digit = _fit_box(crop_to_ink(ink))
    return _centre_by_mass(digit).view(1, 1, MNIST_SIZE, MNIST_SIZE)


def framing_constants() -> dict:
    """The constants preprocess frames a drawing with, by name, as JSON: the page's port of the framing
    (demo/static/modules/frame.js) gets them from the manifest (demo/server/assets.py) instead of copies of its own."""
    return {"MNIST_SIZE": MNIST_SIZE, "DIGIT_BOX": DIGIT_BOX, "MNIST_CENTRE": MNIST_CENTRE, "MAX_SIDE": MAX_SIDE,
            "MIN_CONTRAST": MIN_CONTRAST, "NOISE_FLOOR": NOISE_FLOOR, "WORK_SIZE": WORK_SIZE,
            "STROKE_RANGE": list(STROKE_RANGE), "MIN_ELONGATION": MIN_ELONGATION}


def _image_shape(image) -> tuple[int, int]:
    """Height and width of an accepted input, checked against the pixel limit; ImageError for anything else."""
    if isinstance(image, np.ndarray):
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))):
            raise ImageError(f"an image array has shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), not {image.shape}")
        height, width = image.shape[:2]
    elif isinstance(image, Image.Image):
        width, height = image.size
    else:
        raise ImageError(f"preprocess needs a PIL image or a numpy array, not {type(image).__name__}")
    check_pixels(width, height)
    return height, width


def _to_pil(image) -> Image.Image:
    """Any accepted input as a PIL image, decoded (JPEG at a reduced scale when big) and shrunk when huge."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(_array_to_uint8(image))
    return _decoded(image)  # a file opened lazily is decoded only now


def _array_to_uint8(array: np.ndarray) -> np.ndarray:
    """0-255 grey levels of an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array; (H, W, 1) becomes (H, W)."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):  # float64 beyond float32's range becomes inf: clipped
            values = array.astype(np.float32)
        np.nan_to_num(values, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(values, 0, 1, out=values)
        return np.rint(np.multiply(values, 255, out=values), out=values).astype(np.uint8)
    if array.dtype.kind in "iu" and 0 <= array.min() and array.max() <= 255:
        return np.ascontiguousarray(array, dtype=np.uint8)
    raise ImageError(f"an image array holds 0-255 integers, bools or 0-1 floats, not {array.dtype} "
                     f"values{' outside 0-255' if array.dtype.kind in 'iu' else ''}; convert it, "
                     f"e.g. with array.astype('uint8')")


def _to_gray(image: Image.Image) -> np.ndarray:
    """Luminance in [0, 1]; a transparent background becomes the colour farthest from the ink."""
    if image.mode == "LAB":  # PIL converts CIELAB only to RGB(A); its L band is the lightness
        image = image.getchannel("L")
    if not image.has_transparency_data:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255
    luma_alpha = np.asarray(image.convert("LA"), dtype=np.float32) / 255
    luma, alpha = luma_alpha[..., 0], luma_alpha[..., 1]
    ink_luma = float((luma * alpha).sum() / max(alpha.sum(), 1e-6))
    paper = 1.0 if ink_luma < 0.5 else 0.0
    return luma * alpha + paper * (1 - alpha)


def _ink(gray: np.ndarray) -> torch.Tensor | None:
    """How much each pixel differs from the paper, 0 (paper) to 1 (strongest ink); None if nothing is drawn.

    The paper is the median of the image's border; the ink is whichever side of
    it (darker or lighter) holds more of the difference, so both polarities work.
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    difference = gray - np.median(border)
    darker, lighter = np.clip(-difference, 0, None), np.clip(difference, 0, None)
    ink = darker if darker.sum() > lighter.sum() else lighter
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST:
        return None
    ink = ink / contrast
    ink[ink < NOISE_FLOOR] = 0
    return torch.from_numpy(ink)


def crop_to_ink(ink: torch.Tensor) -> torch.Tensor:
    rows, cols = torch.nonzero(ink.any(dim=1))[:, 0], torch.nonzero(ink.any(dim=0))[:, 0]
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def to_work_size(ink: torch.Tensor) -> torch.Tensor:
    """Rescale so the longer side is WORK_SIZE; shrinking takes the max of each block, so no line fades."""
    height, width = ink.shape
    scale = WORK_SIZE / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    t = ink.view(1, 1, height, width)
    if scale < 1:
        return F.adaptive_max_pool2d(t, size)[0, 0]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0]


def stroke_width(ink: torch.Tensor) -> float:
    """Mean stroke width in pixels: twice the ink's area over its outline's length.

    A stroke of width w and length L has area wL and an outline of about 2L.
    Both are taken over all grey levels at once, the outline as the summed
    gradient magnitude (total variation), so anti-aliased edges and slanted
    strokes count right; forward differences keep a 1 px line's two edges apart.
    """
    padded = F.pad(ink, (1, 1, 1, 1))
    grad_y = padded[1:, :-1] - padded[:-1, :-1]
    grad_x = padded[:-1, 1:] - padded[:-1, :-1]
    outline = float(torch.sqrt(grad_x**2 + grad_y**2).sum())
    return 2 * float(ink.sum()) / max(outline, 1e-6)


def _normalise_stroke(ink: torch.Tensor, width: float) -> torch.Tensor:
    """Thicken thin pens and thin fat markers until the stroke is as wide, relative to the digit, as MNIST's."""
    length = max(ink.shape)
    target = min(max(width / length, STROKE_RANGE[0]), STROKE_RANGE[1])
    # Growing every edge by r px makes the stroke w + 2r wide and the digit L + 2r long. Written so that a width
    # in the range gives exactly 0, not a rounding error whose sign pads the digit with a fringe of 1e-16 ink.
    radius = (target - width / length) * length / (2 * (1 - target))
    if radius > 0:
        return _dilate(F.pad(ink, (math.ceil(radius),) * 4), radius)
    if radius < 0:
        thinner = 1 - _dilate(1 - ink, -radius)
        return thinner if thinner.max() > 0.5 else ink
    return ink


def _dilate(ink: torch.Tensor, radius: float) -> torch.Tensor:
    """Grey-level dilation by a disc-like octagon of any radius, whole pixels and a last fraction.

    A fractional pixel blends the last two steps, so the result changes smoothly
    with the radius: pens of nearly the same width give nearly the same digit.
    """
    t = ink[None, None]
    for step in range(math.ceil(radius)):
        grown = _grow_one_pixel(t, step)
        t = t + min(radius - step, 1.0) * (grown - t)
    return t[0, 0]


def _grow_one_pixel(t: torch.Tensor, step: int) -> torch.Tensor:
    """Each pixel's max over a 3x3 square on even steps and over a cross on odd ones: together, an octagon."""
    if step % 2 == 0:
        return F.max_pool2d(t, 3, stride=1, padding=1)
    rows = F.max_pool2d(t, (3, 1), stride=1, padding=(1, 0))
    cols = F.max_pool2d(t, (1, 3), stride=1, padding=(0, 1))
    return torch.maximum(rows, cols)


def _fit_box(ink: torch.Tensor) -> torch.Tensor:
    """The longer side to DIGIT_BOX px, aspect kept, anti-aliased; the strongest ink back to 1."""
    height, width = ink.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = F.interpolate(ink[None, None], size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0]
    small = small.clamp(0, 1)
    return small / small.max().clamp_min(1e-6)


def _centre_by_mass(digit: torch.Tensor) -> torch.Tensor:
    """Paste into a 28x28 field so that the centre of mass lands on MNIST_CENTRE (whole pixels: no blur)."""
    height, width = digit.shape
    mass = digit.sum()
    com_y = float((digit.sum(dim=1) * torch.arange(height)).sum() / mass)
    com_x = float((digit.sum(dim=0) * torch.arange(width)).sum() / mass)
    top = min(max(round(MNIST_CENTRE - com_y), 0), MNIST_SIZE - height)
    left = min(max(round(MNIST_CENTRE - com_x), 0), MNIST_SIZE - width)
    field = torch.zeros(MNIST_SIZE, MNIST_SIZE)
    field[top : top + height, left : left + width] = digit
    return field
