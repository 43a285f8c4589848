"""The demo's memory policy: big images are read and preprocessed one at a time, then the heap is trimmed."""

import io

import pytest

from bench.pagedriver.digit_strokes import render
from capsnet import ImageError, preprocessing
from demo.server import memory
from tests.test_preprocessing import png_header

CANVAS, BIG = 280, 1100  # the page's canvas (0.08 MP) and a 1.2 MP drawing


def png(size: int) -> bytes:
    buffer = io.BytesIO()
    render(3, size=size).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def lock_held_in(monkeypatch):
    """Records whether the big-image lock is held each time capsnet's function of this name runs."""
    held = []

    def watch(name: str) -> list[bool]:
        original = getattr(preprocessing, name)
        monkeypatch.setattr(preprocessing, name, lambda *a: held.append(memory.BIG_IMAGE_LOCK.locked()) or original(*a))
        return held

    return watch


@pytest.fixture
def trims(monkeypatch) -> list[None]:
    done = []
    monkeypatch.setattr(memory, "trim_freed_memory", lambda: done.append(None))
    return done


def test_big_images_are_preprocessed_one_at_a_time_and_a_canvas_drawing_never_waits(lock_held_in):
    held = lock_held_in("_to_gray")
    memory.preprocess(render(3, size=CANVAS))
    memory.preprocess(render(3, size=BIG))
    assert held == [False, True]


def test_big_image_files_are_decoded_one_at_a_time_and_a_canvas_drawing_never_waits(lock_held_in):
    held = lock_held_in("_decoded")
    memory.read_image(png(CANVAS))
    memory.read_image(png(BIG))
    assert held == [False, True]


def test_the_heap_is_trimmed_after_each_big_image_only(trims):
    memory.preprocess(memory.read_image(png(CANVAS)))
    assert trims == []
    memory.preprocess(memory.read_image(png(BIG)))
    assert len(trims) == 2  # after decoding, and after preprocessing the shrunk image (still over 1 MP)


def test_guarded_functions_give_what_capsnets_give():
    data = png(CANVAS)
    assert memory.preprocess(memory.read_image(data)).equal(preprocessing.preprocess(preprocessing.read_image(data)))


@pytest.mark.parametrize("data, error", [(b"no image", "not a readable image"),
                                         (png_header(13000, 13000), "13000x13000 pixels")])
def test_a_file_without_a_usable_header_is_refused_with_read_images_message(data, error):
    with pytest.raises(ImageError, match=error):
        memory.read_image(data)
