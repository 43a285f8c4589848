"""Pictures as PNGs for the page (demo/compute/pictures.py)."""

import io

import numpy as np
import pytest
from PIL import Image

from demo.compute.pictures import PNG_COMPRESSION, packed_numbers, png_bytes

from .test_explainer import unpacked


@pytest.mark.parametrize("shape", [(6, 6, 3), (28, 28), (463, 318), (1, 1), (41, 65, 3)])
def test_png_bytes_hold_the_same_pixels_as_pils_png(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    pils = io.BytesIO()
    Image.fromarray(pixels).save(pils, format="PNG", compress_level=PNG_COMPRESSION)
    ours = Image.open(io.BytesIO(png_bytes(pixels)))
    assert ours.mode == Image.open(pils).mode and np.array_equal(np.asarray(ours), np.asarray(Image.open(pils)))


def test_packed_numbers_are_the_float32_values_in_their_shape():
    values = np.random.default_rng(0).normal(0, 1e-3, (3, 32, 6, 6))
    packed = packed_numbers(values)
    assert packed["shape"] == [3, 32, 6, 6]
    assert np.array_equal(unpacked(packed), values.astype(np.float32))
