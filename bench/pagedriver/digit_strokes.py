"""Digits as a person draws them: pen strokes through a few points, for tests and benchmarks.

Each digit is a list of strokes; a stroke is a list of (x, y) points in a unit
box (y down). smooth() rounds the corners the way a hand does. The same paths
are drawn with PIL (render) and with the mouse in the browser tests.
"""

from PIL import Image, ImageChops, ImageDraw

DIGITS = {
    0: [[(0.5, 0.0), (0.15, 0.2), (0.1, 0.6), (0.35, 1.0), (0.7, 0.95), (0.9, 0.55), (0.8, 0.12), (0.5, 0.0)]],
    1: [[(0.6, 0.0), (0.4, 1.0)]],
    2: [[(0.15, 0.25), (0.35, 0.02), (0.7, 0.05), (0.8, 0.3), (0.15, 0.95), (0.9, 0.95)]],
    3: [[(0.15, 0.1), (0.55, 0.0), (0.8, 0.2), (0.45, 0.48), (0.85, 0.7), (0.55, 1.0), (0.1, 0.88)]],
    4: [[(0.55, 0.0), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.3), (0.65, 1.0)]],
    5: [[(0.85, 0.02), (0.25, 0.02), (0.2, 0.45), (0.7, 0.45), (0.85, 0.78), (0.5, 1.0), (0.15, 0.88)]],
    6: [[(0.7, 0.0), (0.25, 0.35), (0.15, 0.8), (0.45, 1.0), (0.8, 0.8), (0.65, 0.5), (0.2, 0.65)]],
    7: [[(0.1, 0.02), (0.9, 0.02), (0.4, 1.0)]],
    8: [[(0.8, 0.15), (0.5, 0.0), (0.2, 0.18), (0.5, 0.5), (0.82, 0.8), (0.5, 1.0), (0.18, 0.8), (0.5, 0.5), (0.8, 0.18)]],
    9: [[(0.8, 0.3), (0.45, 0.5), (0.2, 0.3), (0.45, 0.0), (0.8, 0.2), (0.7, 1.0)]],
}


# Two digits over each other, as two-digit mode reads them: side by side, overlapping by 40% of their width.
# (left, top, width, height) of each as fractions of the canvas.
PAIR_BOXES = ((0.18, 0.15, 0.4, 0.7), (0.42, 0.15, 0.4, 0.7))


def smooth(points: list[tuple[float, float]], rounds: int = 3) -> list[tuple[float, float]]:
    """Chaikin's corner cutting: each round replaces every corner by two points a quarter along its edges."""
    for _ in range(rounds):
        cut = [points[0]]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            cut += [(0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1), (0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1)]
        points = cut + [points[-1]]
    return points


def strokes(digit: int, box: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
    """The digit's smoothed strokes placed in box = (left, top, width, height), in pixels."""
    left, top, width, height = box
    return [[(left + x * width, top + y * height) for x, y in smooth(stroke)] for stroke in DIGITS[digit]]


def render(digit: int, size: int = 280, box: tuple | None = None, pen: int = 18,
           ink: int = 0, paper: int = 255, mode: str = "L") -> Image.Image:
    """The digit drawn with a round pen of width pen px on a size x size canvas.

    box defaults to a centred digit 70% of the canvas high and 45% wide. With
    mode "RGBA" the paper is transparent and the ink opaque grey level ink.
    """
    box = box or (0.275 * size, 0.15 * size, 0.45 * size, 0.7 * size)
    if mode == "RGBA":
        image, colour = Image.new("RGBA", (size, size), (0, 0, 0, 0)), (ink, ink, ink, 255)
    else:
        image, colour = Image.new("L", (size, size), paper), ink
    draw = ImageDraw.Draw(image)
    for stroke in strokes(digit, box):
        draw.line(stroke, fill=colour, width=pen, joint="curve")
        for x, y in (stroke[0], stroke[-1]):  # round caps
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=colour)
    return image


def render_pair(first: int, second: int, size: int = 280, pen: int = 18) -> Image.Image:
    """Two digits drawn over each other in PAIR_BOXES, dark ink on white, as on the page's canvas."""
    drawn = [render(digit, size, box=tuple(f * size for f in box), pen=pen)
             for digit, box in zip((first, second), PAIR_BOXES)]
    return ImageChops.darker(*drawn)
