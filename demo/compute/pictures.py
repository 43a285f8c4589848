"""Pictures as PNG data URLs, for the page's <img> elements, and the packed arrays the page's views take."""

import base64
import struct
import zlib

import numpy as np
from matplotlib.colors import Colormap

from capsnet import CapsNetConfig

# zlib level 1: the views' PNGs are made twice as fast as at PIL's default (6) and are about a tenth larger
# (docs/speed.md, "A stroke's cost to the server"); PNG stays lossless at any level.
PNG_COMPRESSION = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_GREY, PNG_RGB = 0, 2  # the PNG colour types of 8-bit grey and RGB pixels
COLOUR_STEPS = 256  # the colours of a matplotlib colour map (its N)


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


def packed(pixels: np.ndarray) -> dict:
    """uint8 values of any shape as the page's views take them (demo/static/modules/pixels.js unpacks them): the shape, and the
    bytes row-major, deflated (zlib level PNG_COMPRESSION, as the PNGs) and in base64."""
    data = np.ascontiguousarray(pixels, np.uint8)
    return {"shape": list(data.shape),
            "deflated": base64.b64encode(zlib.compress(data.tobytes(), PNG_COMPRESSION)).decode("ascii")}


def packed_numbers(values) -> dict:
    """Numbers of any shape as the page's views take them (pixels.js's numbers reads them): the shape, and the values
    row-major as little-endian float32 bytes in base64. A view's thousands of numbers travel as one string: the
    page's Gradio copies an output's value number by number at each step of every event it is an output of
    (docs/speed.md, "A turn let go")."""
    data = np.ascontiguousarray(values, "<f4")
    return {"shape": list(data.shape), "float32": base64.b64encode(data.tobytes()).decode("ascii")}


def colour_scale(colours: Colormap, low: float, centre: float, high: float) -> dict:
    """A two-slope colour scale for the page (pixels.js's colour): values low -> centre -> high, clipped, onto the
    colour map's COLOUR_STEPS colours, as matplotlib's TwoSlopeNorm and Colormap draw them; NaN in its "bad" colour."""
    lut = (np.asarray(colours(np.arange(COLOUR_STEPS)))[:, :3] * 255).round()  # (256, 3)
    bad = (np.asarray(colours(np.nan))[:3] * 255).round()
    return {"lut": packed(lut), "bad": [int(c) for c in bad], "low": float(low), "centre": float(centre),
            "high": float(high)}
