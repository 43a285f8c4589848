"""capsnet.preprocess: any drawing in, an MNIST-like 28x28 digit out, or None when nothing is drawn."""

import numpy as np
import pytest
import torch
from demo.digit_strokes import render
from PIL import Image

from capsnet import preprocess
from capsnet.preprocessing import DIGIT_BOX, MNIST_CENTRE, STROKE_RANGE, crop_to_ink, stroke_width, to_work_size

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
    np.full((28, 28), 1000, dtype=np.int32),
    "digit.png",
])
def test_what_is_not_an_image_raises_one_type_error(bad):
    with pytest.raises(TypeError) as error:
        preprocess(bad)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("width", [1, 3, 10])
def test_stroke_width_of_a_straight_stroke_is_its_width(width):
    ink = torch.zeros(200, 200)
    ink[50 : 50 + width, 20:180] = 1
    assert stroke_width(ink) == pytest.approx(width, rel=0.1)

