"""capsnet.preprocess keeps its contract for any input: a (1, 1, 28, 28) tensor in [0, 1], None, or one ImageError.

Hypothesis generates arrays of every dtype and shape and images of every PIL
mode with random pixels; each test is bounded to a few seconds.
"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from capsnet import ImageError, preprocess

FUZZ = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
SIDES = st.integers(0, 40) | st.sampled_from([1, 2, 2049, 2050])
DTYPES = (hnp.boolean_dtypes() | hnp.integer_dtypes() | hnp.unsigned_integer_dtypes() | hnp.floating_dtypes()
          | hnp.complex_number_dtypes() | hnp.datetime64_dtypes() | hnp.timedelta64_dtypes()
          | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes() | st.just(np.dtype(object)))
PIL_MODES = sorted(Image.MODES)


def assert_keeps_its_contract(image) -> None:
    try:
        x = preprocess(image)
    except ImageError as error:
        assert str(error) and "\n" not in str(error)
        event("ImageError")
        return
    event("no digit" if x is None else "a digit")
    if x is not None:
        assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
        assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1


def small_shapes(draw) -> tuple:
    """Every rank from 0 to 4, channels 0-5, sides 0-40 and a few past the shrinking threshold."""
    rank = draw(st.integers(0, 4))
    shape = [draw(SIDES) for _ in range(min(rank, 2))] + [draw(st.integers(0, 5)) for _ in range(rank - 2)]
    if np.prod(shape, dtype=np.int64) > 300_000:  # a long thin strip at most, to stay fast
        shape[0] = min(shape[0], 3)
    return tuple(shape)


@st.composite
def arrays(draw):
    dtype = draw(DTYPES)
    elements = None
    if dtype.kind == "f":
        elements = st.floats(allow_nan=True, allow_infinity=True, width=min(dtype.itemsize * 8, 64))
    return draw(hnp.arrays(dtype, small_shapes(draw), elements=elements, fill=elements))


@st.composite
def pil_images(draw):
    mode = draw(st.sampled_from(PIL_MODES))
    size = (draw(SIDES), draw(SIDES))
    if size[0] * size[1] > 300_000:
        size = (size[0], min(size[1], 3))
    length = len(Image.new(mode, size).tobytes())
    pixels = draw(st.binary(min_size=length, max_size=length)) if length <= 4096 else np.random.default_rng(
        draw(st.integers(0, 2**32 - 1))).bytes(length)
    return Image.frombytes(mode, size, pixels)


@FUZZ
@given(arrays())
def test_any_array_gives_a_tensor_none_or_an_image_error(array):
    assert_keeps_its_contract(array)


@FUZZ
@given(pil_images())
def test_any_pil_image_gives_a_tensor_none_or_an_image_error(image):
    assert_keeps_its_contract(image)


@FUZZ
@given(st.none() | st.integers() | st.floats() | st.text() | st.binary() | st.lists(st.integers(0, 255)))
def test_anything_else_raises_one_image_error(value):
    with pytest.raises(ImageError):
        preprocess(value)
