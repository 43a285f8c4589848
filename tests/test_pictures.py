"""Pictures as PNGs for the page (demo/compute/pictures.py)."""

import io

import numpy as np
import pytest
from PIL import Image

from demo.compute.pictures import PNG_COMPRESSION, png_bytes


@pytest.mark.parametrize("shape", [(6, 6, 3), (28, 28), (463, 318), (1, 1), (41, 65, 3)])
def test_png_bytes_hold_the_same_pixels_as_pils_png(shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    pils = io.BytesIO()
    Image.fromarray(pixels).save(pils, format="PNG", compress_level=PNG_COMPRESSION)
    ours = Image.open(io.BytesIO(png_bytes(pixels)))
    assert ours.mode == Image.open(pils).mode and np.array_equal(np.asarray(ours), np.asarray(Image.open(pils)))
