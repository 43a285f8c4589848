"""Fixtures for tests/js/frame.test.mjs: canvases' RGBA pixels and what capsnet.preprocess makes of them, so that
`node --test` checks demo/static/modules/frame.js, the page's port of the framing, against Python without a browser.

    python3 -m tests.js.fixtures FOLDER     # writes FOLDER/frame.json, with the other fixtures; tests/run.sh does this

frame.json holds the framing's constants (capsnet.preprocessing.framing_constants(), as the manifest hands them to
the page) and the cases: pen scribbles in the paper, ink and pen widths a page meets, the demo's example digits drawn
as canvases, and edge cases. Each case's pixels are deflated (zlib) and base64: a large canvas is mostly paper.
Only capsnet, numpy and PIL are used here.
"""

import base64
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from capsnet import preprocess
from capsnet.preprocessing import framing_constants

EXAMPLES = Path(__file__).resolve().parents[2] / "demo" / "examples"  # MNIST test digits, 28x28, light on dark
EXAMPLE_CANVAS = 140  # px a side: the examples drawn five times larger, dark on white, as a canvas shows them
SCRIBBLES = 50
SUPERSAMPLE = 4  # scribbles are drawn this much larger and shrunk: grey edges, as a canvas's anti-aliasing
CANVAS_SIZES = ((280, 280), (280, 280), (140, 140), (200, 120), (64, 64))  # (width, height)
WHITE, BLACK, CLEAR = (255, 255, 255, 255), (0, 0, 0, 255), (0, 0, 0, 0)
# (ink, paper) as RGBA: dark on white as the demo's canvas, opaque ink on transparent paper, light on dark, a blue pen
# on cream paper (colours go through PIL's luma), and light ink on transparent paper (the paper is then dark).
STYLES = {"dark on white": (BLACK, WHITE), "grey on transparent": ((40, 40, 40, 255), CLEAR),
          "light on dark": (WHITE, BLACK), "blue on cream": ((30, 60, 200, 255), (250, 240, 220, 255)),
          "light on transparent": ((230, 230, 230, 255), CLEAR)}


def canvas(width: int, height: int, paper=WHITE) -> np.ndarray:
    """(height, width, 4) uint8 pixels of one colour."""
    return np.array(Image.new("RGBA", (width, height), paper))


def pen_lines(size: tuple[int, int], strokes: list[list[tuple[float, float]]], pen: float, ink, paper,
              supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Strokes (points in px) drawn with a round pen of width pen px on a canvas of size (width, height): drawn
    supersample times larger and box-shrunk, so that edges are grey. (height, width, 4) uint8."""
    width, height = size
    big = Image.new("RGBA", (width * supersample, height * supersample), paper)
    draw = ImageDraw.Draw(big)
    radius = pen * supersample / 2
    for stroke in strokes:
        points = [(x * supersample, y * supersample) for x, y in stroke]
        draw.line(points, fill=ink, width=max(1, round(pen * supersample)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)
    return np.array(big.resize(size, Image.Resampling.BOX))


def random_strokes(rng: np.random.Generator, size: tuple[int, int]) -> list[list[tuple[float, float]]]:
    """One to three strokes through 2-6 points in a box of random size and place on the canvas."""
    width, height = size
    box_w, box_h = width * rng.uniform(0.2, 0.9), height * rng.uniform(0.3, 0.9)
    left, top = rng.uniform(0, width - box_w), rng.uniform(0, height - box_h)
    return [[(left + rng.uniform() * box_w, top + rng.uniform() * box_h) for _ in range(rng.integers(2, 7))]
            for _ in range(rng.integers(1, 4))]


def scribbles(count: int = SCRIBBLES) -> dict[str, np.ndarray]:
    """Pen scribbles in each style in turn, pens 1-40 px (log-uniform) on the page's canvas sizes."""
    rng = np.random.default_rng(28)
    cases = {}
    for n in range(count):
        style = list(STYLES)[n % len(STYLES)]
        size = CANVAS_SIZES[rng.integers(len(CANVAS_SIZES))]
        pen = float(np.exp(rng.uniform(0, np.log(40))) * min(size) / 280)
        cases[f"scribble {n}: {style}, pen {pen:.1f} px, {size[0]}x{size[1]}"] = pen_lines(
            size, random_strokes(rng, size), pen, *STYLES[style])
    return cases


def examples() -> dict[str, np.ndarray]:
    """The demo's example digits as a canvas shows them: enlarged (bilinear), dark on white, opaque."""
    cases = {}
    for path in sorted(EXAMPLES.glob("*.png")):
        digit = ImageOps.invert(Image.open(path).convert("L")).resize((EXAMPLE_CANVAS,) * 2, Image.Resampling.BILINEAR)
        cases[f"example {path.name} on a {EXAMPLE_CANVAS} px canvas"] = np.array(digit.convert("RGBA"))
    return cases


def edge_cases() -> dict[str, np.ndarray]:
    """Where preprocess sees no digit, and drawings at the limits of what it frames."""
    near_blank = pen_lines((280, 280), [[(100, 60), (180, 220)]], 18, (250, 250, 250, 255), WHITE)
    noisy = pen_lines((280, 280), [[(120, 50), (90, 230)], [(90, 140), (190, 130)]], 14, BLACK, WHITE)
    grain = np.random.default_rng(0).integers(-12, 13, noisy.shape[:2])[..., None]  # paper grain, as a photo's
    noisy[..., :3] = np.clip(noisy[..., :3].astype(int) + grain, 0, 255)
    return {
        "an empty canvas (0x0)": canvas(0, 0),
        "a blank canvas": canvas(280, 280),
        "a fully transparent canvas": canvas(280, 280, CLEAR),
        "uniform grey": canvas(280, 280, (128, 128, 128, 255)),
        "a near-blank stroke (5/255 from the paper)": near_blank,
        "a lone dot": pen_lines((280, 280), [[(140, 140), (141, 141)]], 20, BLACK, WHITE),
        "light on dark": pen_lines((280, 280), [[(60, 60), (220, 60), (120, 230)]], 16, WHITE, BLACK),
        "strokes on grainy paper": noisy,
        "a huge thin line (1 px, 2000x1500 canvas)": pen_lines((2000, 1500), [[(40, 1400), (1950, 60)]], 1, BLACK,
                                                               WHITE, supersample=1),
        "a 1 px horizontal hairline": pen_lines((280, 280), [[(40, 140), (240, 140)]], 1, BLACK, WHITE, supersample=1),
    }


def case(name: str, rgba: np.ndarray) -> dict:
    """A canvas's pixels and preprocess's 28x28 (row-major, 784 values) for them, or None when it sees no digit."""
    expected = preprocess(rgba)
    height, width = rgba.shape[:2]
    return {"name": name, "width": width, "height": height,
            "rgba": base64.b64encode(zlib.compress(rgba.tobytes(), 9)).decode("ascii"),
            "expected": None if expected is None else [round(float(v), 6) for v in expected.flatten()]}


def fixtures() -> dict:
    cases = scribbles() | examples() | edge_cases()
    return {"constants": framing_constants(), "cases": [case(name, rgba) for name, rgba in cases.items()]}
