"""The server's memory policy: big images one at a time, and glibc told to hand freed memory back.

A long-running server keeps whatever glibc keeps, so the demo, not capsnet, decides this.
The figures behind each choice are in docs/limits.md ("Memory").
"""

import contextlib
import io
import threading
import warnings

import numpy as np
from PIL import Image

import capsnet
from capsnet.memory import glibc

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # mallopt parameters, glibc's malloc.h
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest dynamic threshold, kept fixed; above oneDNN's 21 MB of PrimaryCaps weights
# Decoding and shrinking an image over 1 MP costs up to hundreds of MB: such images take turns,
# so any number arriving at once cost one big image's memory; canvas drawings (0.08 MP) never wait.
BIG_IMAGE_PIXELS = 2**20
BIG_IMAGE_LOCK = threading.Lock()


def return_freed_memory() -> None:
    """Make glibc hand big freed blocks back to the OS at once, with two heaps for all threads; call before
    threads start. By default its mmap threshold grows with the largest block freed, and each thread gets a heap."""
    libc = glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 2)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim_freed_memory() -> None:
    """Hand the heap's free memory back to the OS now (glibc's malloc_trim); no-op elsewhere."""
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.contextmanager
def big_image_guard(pixels: int):
    """Held while an image of this many pixels is worked on: the lock for big ones, then a trim; nothing for small."""
    if pixels <= BIG_IMAGE_PIXELS:
        yield
        return
    with BIG_IMAGE_LOCK:
        try:
            yield
        finally:
            trim_freed_memory()


def read_image(source) -> Image.Image:
    """capsnet.read_image, a big image decoded under big_image_guard (its size read from the header first)."""
    with big_image_guard(_header_pixels(source)):
        return capsnet.read_image(source)


def preprocess(image):
    """capsnet.preprocess, a big image worked on under big_image_guard."""
    with big_image_guard(_pixels(image)):
        return capsnet.preprocess(image)


def _header_pixels(source) -> int:
    """The pixels an image file's header claims; 0 when it has none (read_image then refuses it, decoding nothing)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
                return _pixels(image)
    except Exception:  # any file PIL cannot open: read_image says what is wrong with it
        return 0


def _pixels(image) -> int:
    if isinstance(image, Image.Image):
        return image.size[0] * image.size[1]
    if isinstance(image, np.ndarray) and image.ndim >= 2:
        return image.shape[0] * image.shape[1]
    return 0
