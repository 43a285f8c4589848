"""Fixtures for tests/js/pixels.test.mjs: values coloured by matplotlib on the views' colour scales, so that
`node --test` checks demo/static/modules/pixels.js's colour (the page's port of TwoSlopeNorm and the colour map lookup) without a
browser. Each scale as the page gets it (demo/pictures.colour_scale), and the values' RGB as matplotlib makes them;
and numbers packed as the server sends a view's maps (pictures.packed_numbers), with the float32 values packed.
"""

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from capsnet import figures
from demo.compute.pictures import colour_scale, packed_numbers

# (colour map, low, centre, high) as the views use them: coupling around 1/10, agreement around 0, votes from 0
SCALES = {
    "coupling": (figures.COUPLING_COLORS, 0.0, 0.1, 0.5),
    "agreement": (figures.AGREEMENT_COLORS, -0.37, 0.0, 0.37),
    "votes": (figures.VOTE_COLORS, 0.0, 0.0021, 0.0042),
}


def matplotlib_rgb(values: np.ndarray, colours, low: float, centre: float, high: float) -> np.ndarray:
    """values (float64) clipped and coloured as matplotlib draws them: uint8 RGB (..., 3); NaN is the map's "bad"."""
    position = TwoSlopeNorm(centre, low, high)(np.clip(values, low, high))
    return (np.asarray(colours(np.where(np.isnan(values), np.nan, position)))[..., :3] * 255).round().astype(np.uint8)


def case(name: str, colours, low: float, centre: float, high: float, rng: np.random.Generator) -> dict:
    span = high - low
    values = np.concatenate([
        rng.uniform(low - 0.2 * span, high + 0.2 * span, 500),  # inside and beyond both ends
        np.linspace(low, high, 257),  # every step's edges
        [low, centre, high, np.nan],
    ])
    return {"name": name, "scale": colour_scale(colours, low, centre, high),
            "values": [None if np.isnan(v) else float(v) for v in values],
            "rgb": matplotlib_rgb(values, colours, low, centre, high).reshape(-1).tolist()}


def fixtures() -> dict:
    rng = np.random.default_rng(7)
    numbers = np.concatenate([rng.normal(0, 1e-3, 20), [0.1, -0.0, 1 / 3, 3e-8, -42.5, 1e30]]).reshape(2, 13)
    return {"cases": [case(name, *scale, rng) for name, scale in SCALES.items()],
            "numbers": {"packed": packed_numbers(numbers), "float32": numbers.astype(np.float32).tolist()}}
