"""capsnet.preprocess: any drawing in, an MNIST-like 28x28 digit out, or None when nothing is drawn."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from bench.pagedriver.digit_strokes import render
from capsnet import ImageError, preprocess, read_image
from capsnet.preprocessing import (DIGIT_BOX, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_SIDE, MNIST_CENTRE, STROKE_RANGE,
                                   crop_to_ink, stroke_width, to_work_size)

# (canvas size, pen width): a 1 px pen on a large canvas up to a fat marker
PENS = [(1000, 1), (1000, 6), (280, 3), (280, 18), (280, 45), (64, 4)]


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image)


def ink_box(x: torch.Tensor) -> tuple[int, int]:
    """Height and width of the output's inked area."""
    rows, cols = torch.nonzero(x[0, 0].sum(dim=1)), torch.nonzero(x[0, 0].sum(dim=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def relative_stroke(x: torch.Tensor) -> float:
    ink = to_work_size(crop_to_ink(x[0, 0]))
    return stroke_width(ink) / max(ink.shape)


def test_drawing_becomes_one_28x28_image_in_0_1():
    x = preprocess(render(3))
    assert x.shape == (1, 1, 28, 28)
    assert x.dtype == torch.float32
    assert x.min() >= 0 and x.max() == pytest.approx(1.0)


@pytest.mark.parametrize("value", [0, 128, 255])
def test_uniform_image_is_no_digit(value):
    assert preprocess(Image.new("L", (280, 280), value)) is None


def test_faint_noise_is_no_digit():
    noise = np.random.default_rng(0).integers(250, 256, (280, 280), dtype=np.uint8)
    assert preprocess(noise) is None


def test_a_lone_dot_is_no_digit():
    canvas = np.full((280, 280), 255, np.uint8)
    canvas[140:158, 140:158] = 0
    assert preprocess(canvas) is None


def test_fully_transparent_image_is_no_digit():
    assert preprocess(Image.new("RGBA", (280, 280), (0, 0, 0, 0))) is None


def test_polarity_does_not_matter():
    dark_on_light = render(2, ink=0, paper=255)
    light_on_dark = render(2, ink=255, paper=0)
    assert torch.allclose(preprocess(dark_on_light), preprocess(light_on_dark), atol=1e-6)


def test_grey_paper_and_grey_ink_work_like_black_and_white():
    grey = render(5, ink=90, paper=200)
    assert torch.allclose(preprocess(grey), preprocess(render(5)), atol=0.02)


@pytest.mark.parametrize("ink", [0, 255])
def test_transparent_background_is_paper_for_dark_and_light_ink(ink):
    rgba = render(6, ink=ink, mode="RGBA")
    assert torch.allclose(preprocess(rgba), preprocess(render(6)), atol=0.02)


def test_longer_side_fills_mnists_20_pixel_box():
    assert max(ink_box(preprocess(render(0)))) == DIGIT_BOX


def test_aspect_ratio_is_kept():
    height, width = ink_box(preprocess(render(1)))
    assert height == DIGIT_BOX and width < DIGIT_BOX / 2


def test_centre_of_mass_is_mnists():
    x = preprocess(render(7, box=(10, 10, 60, 90)))[0, 0]  # drawn small, in the top-left corner
    index = torch.arange(28, dtype=torch.float32)
    mass = x.sum()
    assert float((x.sum(dim=1) * index).sum() / mass) == pytest.approx(MNIST_CENTRE, abs=0.5)
    assert float((x.sum(dim=0) * index).sum() / mass) == pytest.approx(MNIST_CENTRE, abs=0.5)


def test_size_and_place_on_the_canvas_do_not_matter():
    small_in_corner = preprocess(render(8, size=280, box=(5, 5, 50, 80), pen=6))
    large_in_middle = preprocess(render(8, size=280, box=(80, 20, 125, 200), pen=15))
    assert (small_in_corner - large_in_middle).abs().mean() < 0.05


@pytest.mark.parametrize("size,pen", PENS)
def test_any_pen_gives_an_mnist_stroke_width(size, pen):
    low, high = STROKE_RANGE
    assert 0.8 * low <= relative_stroke(preprocess(render(4, size=size, pen=pen))) <= 1.25 * high


def test_huge_image_gives_what_its_smaller_copy_gives():
    huge, small = render(9, size=5000, pen=300), render(9, size=500, pen=30)
    assert (preprocess(huge) - preprocess(small)).abs().mean() < 0.02


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I"])
def test_every_pil_mode_is_read(mode):
    x = preprocess(render(3).convert(mode))
    assert x is not None and torch.isfinite(x).all()


@pytest.mark.parametrize("convert", [
    lambda a: a,  # uint8 (H, W)
    lambda a: a[:, :, None],  # (H, W, 1)
    lambda a: np.stack([a] * 3, axis=2),  # RGB
    lambda a: a.astype(np.float32) / 255,
    lambda a: a.astype(np.float64) / 255,
    lambda a: a > 127,  # bool
    lambda a: a.astype(np.int64),  # integers 0-255, numpy's default integer type
], ids=["uint8", "HxWx1", "rgb", "float32", "float64", "bool", "int64"])
def test_every_array_kind_is_read(convert):
    x = preprocess(convert(as_array(render(3))))
    assert x is not None and torch.allclose(x, preprocess(render(3)), atol=0.1)


def test_nan_in_a_float_array_gives_no_nan():
    array = as_array(render(3)).astype(np.float32) / 255
    array[:20, :20] = np.nan
    assert torch.isfinite(preprocess(array)).all()


@pytest.mark.parametrize("bad", [
    np.zeros((28, 28), dtype=np.complex64),
    np.zeros((28, 28, 2), dtype=np.uint8),
    np.zeros(28, dtype=np.uint8),
    np.full((28, 28), 1000, dtype=np.int32),
    np.full((28, 28), -1, dtype=np.int8),
    np.array([["a"]]),
    torch.zeros(28, 28),
    "digit.png",
    None,
], ids=["complex", "2 channels", "1-D", "over 255", "negative", "strings", "tensor", "path", "None"])
def test_what_is_not_an_image_raises_one_image_error(bad):
    with pytest.raises(ImageError) as error:
        preprocess(bad)
    assert "\n" not in str(error.value)


def test_image_error_is_a_value_error():
    assert issubclass(ImageError, ValueError)


@pytest.mark.parametrize("empty", [
    np.zeros((0, 0), np.float32),
    np.zeros((0, 5, 3), np.uint8),
    Image.new("L", (0, 0)),
    Image.new("RGBA", (7, 0)),
], ids=["0x0 float array", "0x5 RGB array", "0x0 image", "7x0 image"])
def test_an_empty_image_is_no_digit(empty):
    assert preprocess(empty) is None


@pytest.mark.parametrize("one_pixel", [np.ones((1, 1), np.float32), np.zeros((1, 1, 4), np.uint8), Image.new("P", (1, 1))])
def test_a_one_pixel_image_is_no_digit(one_pixel):
    assert preprocess(one_pixel) is None


@pytest.mark.parametrize("mode", ["1", "P", "I;16"])
def test_a_wide_image_in_a_mode_pil_cannot_shrink_is_read(mode):
    assert preprocess(Image.new("1", (2049, 10), 1).convert(mode)) is None  # uniform: no digit, and no error


def test_a_big_one_bit_drawing_gives_what_its_grey_copy_gives():
    drawing = render(4, size=2100, pen=100)  # over MAX_SIDE: shrunk first, which mode "1" cannot be
    assert torch.allclose(preprocess(drawing.convert("1")), preprocess(drawing), atol=0.02)


def in_mode(grey: Image.Image, mode: str) -> Image.Image:
    """A grey drawing in a mode PIL cannot convert an "L" image to directly."""
    if mode in ("La", "RGBa"):  # premultiplied alpha; opaque, so the same bytes as LA and RGBA
        return Image.frombytes(mode, grey.size, grey.convert(mode.upper()).tobytes())
    if mode == "LAB":
        return Image.merge("LAB", [grey, Image.new("L", grey.size, 128), Image.new("L", grey.size, 128)])
    if mode == "PA":
        return Image.merge("PA", [grey.convert("P"), Image.new("L", grey.size, 255)])
    return grey.convert("RGB").convert(mode) if mode in ("CMYK", "YCbCr", "HSV") else grey.convert(mode)


@pytest.mark.parametrize("mode", ["La", "LAB", "RGBa", "PA", "CMYK", "YCbCr", "HSV", "F", "I;16"])
def test_unusual_pil_modes_give_what_grey_gives(mode):
    assert torch.allclose(preprocess(in_mode(render(3), mode)), preprocess(render(3)), atol=0.02)


def bar(value: float) -> np.ndarray:
    array = np.zeros((280, 280), np.float64)
    array[40:240, 130:150] = value
    return array


@pytest.mark.parametrize("value", [np.inf, 1e300])
def test_infinite_and_huge_positive_floats_are_full_ink(value):
    x = preprocess(bar(value))
    assert torch.isfinite(x).all() and torch.equal(x, preprocess(bar(1.0)))


@pytest.mark.parametrize("value", [-np.inf, np.nan, -1e300])
def test_negative_infinite_and_nan_floats_are_no_ink(value):
    assert preprocess(bar(value)) is None  # a blank image


def test_an_image_over_the_pixel_limit_is_refused_before_decoding():
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    with pytest.raises(ImageError, match="megapixels"):
        preprocess(np.broadcast_to(np.uint8(0), (side, side)))  # a view: no memory


@pytest.mark.parametrize("width", [1, 3, 10])
def test_stroke_width_of_a_straight_stroke_is_its_width(width):
    ink = torch.zeros(200, 200)
    ink[50 : 50 + width, 20:180] = 1
    assert stroke_width(ink) == pytest.approx(width, rel=0.1)



def encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels and holds none: a decompression bomb's header, in 57 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def test_read_image_reads_bytes_and_paths(tmp_path):
    png = encoded(render(2))
    (tmp_path / "two.png").write_bytes(png)
    for source in (png, tmp_path / "two.png", str(tmp_path / "two.png")):
        assert torch.equal(preprocess(read_image(source)), preprocess(render(2)))


def test_read_image_refuses_a_bomb_from_its_header():
    with pytest.raises(ImageError, match=r"13000x13000 pixels; send one of at most 50 megapixels"):
        read_image(png_header(13000, 13000))


def test_read_image_refuses_too_many_bytes_before_reading_them():
    with pytest.raises(ImageError, match=r"at most 25 MB"):
        read_image(bytes(MAX_IMAGE_BYTES + 1))


@pytest.mark.parametrize("data", [b"", b"hello", encoded(render(1))[:300], png_header(100, 100)],
                         ids=["empty", "text", "truncated", "no pixel data"])
def test_read_image_refuses_what_is_no_image_in_one_line(data):
    with pytest.raises(ImageError, match="not a readable image") as error:
        read_image(data)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("source", [None, 3, np.zeros((28, 28), np.uint8)], ids=["None", "a number", "an array"])
def test_read_image_of_neither_bytes_nor_a_path_raises_one_image_error(source):
    with pytest.raises(ImageError, match="needs an image file's bytes or path"):
        read_image(source)


def test_read_image_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(ImageError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_read_image_takes_an_animations_first_frame():
    frames = [render(7).convert("P"), render(1).convert("P")]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert torch.equal(preprocess(read_image(gif)), preprocess(frames[0]))


@pytest.mark.parametrize("format", ["JPEG", "PNG"])
def test_read_image_shrinks_a_big_photo_to_the_working_size(format):
    photo = render(5, size=4500, pen=200).convert("RGB")
    image = read_image(encoded(photo, format))
    assert MAX_SIDE // 2 < max(image.size) <= MAX_SIDE and image.mode == "RGB"
    assert (preprocess(image) - preprocess(photo)).abs().mean() < 0.02
