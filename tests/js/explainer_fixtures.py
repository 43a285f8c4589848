"""Fixtures for tests/js/routing.test.mjs and primary.test.mjs: #routing's and #primary's numbers for a drawn 3, as
the server sends them (demo/compute/explainer.py), routed with 1, 3 (the model's) and 5 iterations; and the coupling mosaic
of the last of the 3 iterations, as sent, coloured by matplotlib and tiled by capsnet.figures.tile (null where the
tiles' gaps are), for the page's drawing of it to match.
"""

import numpy as np

from bench.pagedriver.digit_strokes import render
from capsnet import figures, load_model
from demo.compute import explainer
from demo.compute.readers import one_digit

from ..test_explainer import unpacked
from .colour_fixtures import matplotlib_rgb

DIGIT = 3
ITERATIONS = (1, 3, 5)
TILE_COLUMNS = 8  # the paper's 32 types as 4 rows of 8


def mosaic(coupling: np.ndarray, config) -> dict:
    """coupling (32, 6, 6) coloured by matplotlib on the coupling scale and tiled, 8 types to a row: RGB, 3 numbers a
    pixel row-major, null for a gap between the tiles."""
    values = np.array(coupling, np.float64).reshape(-1)  # (1152,)
    types, grid = coupling.shape[:2]
    # figures.tile places each capsule's number (float32, exact), so that the values keep their float64
    place = figures.tile(np.arange(values.size).reshape(types // TILE_COLUMNS, TILE_COLUMNS, grid, grid))
    gaps = np.isnan(place)
    picture = np.where(gaps, np.nan, values[np.nan_to_num(place).astype(int)])
    rgb = matplotlib_rgb(picture, figures.COUPLING_COLORS, *figures.coupling_range(config))
    return {"height": picture.shape[0], "width": picture.shape[1],
            "rgb": [None if gap else int(c) for gap, c in zip(np.repeat(gaps, 3), rgb.reshape(-1))]}


def fixtures() -> dict:
    model = load_model()
    result = one_digit("one", model, []).image(render(DIGIT)).result
    views = {r: explainer.explain(model, result, DIGIT, r) for r in ITERATIONS}
    routing = {str(r): view.routing for r, view in views.items()}
    last = unpacked(routing["3"]["coupling"])[-1]  # (32, 6, 6)
    return {"routing": routing, "primary": views[3].primary, "mosaic": mosaic(last, model.config)}
