"""Fixtures for tests/js/figure4.test.mjs, sweep.test.mjs and dimensions.test.mjs: the views' numbers as the server
sends them for a drawn 7 with the shipped models, so that `node --test` checks demo/static/modules/views' renderers on what Python
makes (and figure4.js's tiling against capsnet.figures.tile) without a browser.

    python3 -m tests.js.fixtures FOLDER     # writes FOLDER/figure4.json, sweep.json and dimensions.json, with the rest

Every pose dimension of the 7 is named, and the first name holds markup, which the page must show as text.
"""

from functools import cache

import torch

from bench.pagedriver.digit_strokes import render
from capsnet import DEFAULT_CHECKPOINT, figures, load_model
from demo.compute import explainer, turn_and_stretch
from demo.compute.pictures import gray, packed
from demo.compute.readers import Result, one_digit

DIGIT = 7
MARKUP = 'dim 0 - <b>slant</b> & "size"'


@cache
def seven() -> tuple[object, Result, list[list[str]]]:
    """The shipped model, the Result of a drawn 7 (as the tab keeps it) and its capsules' names, one with markup."""
    model = load_model()
    names = turn_and_stretch.capsule_names(DEFAULT_CHECKPOINT, model.config.digit_dim, model.config.num_classes)
    names[DIGIT][0] = MARKUP
    return model, one_digit("one", model, names).image(render(DIGIT)).result, names


def figure4() -> dict:
    """#figure4's numbers for the 7, and the grid as capsnet.figures.tile makes it (white lines between the tiles)."""
    model, result, names = seven()
    with torch.inference_mode():
        grid = figures.perturbation_grid(model, result.poses[DIGIT], DIGIT)  # (16, 11, 28, 28)
    value = explainer.explain(model, result, DIGIT, names=names).figure4
    return {"value": value, "tiled": packed(gray(figures.tile(grid.numpy(), fill=1.0))), "markup": MARKUP}


def sweep() -> dict:
    """#sweep's numbers for the 7, with the CNN baseline and without it."""
    model, result, names = seven()
    return {"with_cnn": turn_and_stretch.sweep_view(model, turn_and_stretch.load_baseline(), result, DIGIT, names),
            "without_cnn": turn_and_stretch.sweep_view(model, None, result, DIGIT, names), "markup": MARKUP}


def dimensions() -> dict:
    """#pose-dimensions' numbers for the shipped model (its pose-dimensions.json)."""
    return {"value": turn_and_stretch.dimensions(turn_and_stretch.dimension_labels(DEFAULT_CHECKPOINT, load_model().config.digit_dim))}
