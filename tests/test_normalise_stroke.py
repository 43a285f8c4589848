"""_normalise_stroke leaves a stroke whose width is already MNIST's as it is (capsnet/preprocessing.py).

A rounding error in the radius used to pad such a drawing with a 1 px fringe of 1e-16 ink half the time, which
changed the framed digit by up to 0.15 and made the page's port of preprocess (demo/static/modules/frame.js) differ from it.
"""

from bench.pagedriver.digit_strokes import render
from capsnet.preprocessing import (STROKE_RANGE, _ink, _normalise_stroke, _to_gray, crop_to_ink, stroke_width,
                                  to_work_size)


def test_a_stroke_already_as_wide_as_mnists_is_left_as_it_is():
    in_range = 0
    for digit in range(10):
        for pen in range(14, 40, 5):
            ink = to_work_size(crop_to_ink(_ink(_to_gray(render(digit, pen=pen)))))
            width = stroke_width(ink)
            if STROKE_RANGE[0] < width / max(ink.shape) < STROKE_RANGE[1]:
                in_range += 1
                assert _normalise_stroke(ink, width) is ink, (digit, pen)
    assert in_range >= 25  # the pens cover the range
