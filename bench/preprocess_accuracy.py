"""How well the model reads images through capsnet.preprocess: MNIST itself, and digits drawn with many pens.

    python -m bench.preprocess_accuracy [--mnist 1000] [--checkpoint PATH]

MNIST digits should lose nothing by the round trip. The drawn digits are
bench/pagedriver/digit_strokes.py's paths on canvases from 64 to 1000 px, with pens from
1 px to a fat marker, placed large, small or off-centre, dark on light, light
on dark and on a transparent background: the framings people's drawings come in.
"""

import argparse
from itertools import product

import torch

from bench.common import add_model_and_data_flags, model_from, test_set
from bench.pagedriver.digit_strokes import DIGITS, render
from capsnet import preprocess

PENS = {"1 px on 1000": (1000, 1), "4 px on 1000": (1000, 4), "3 px on 280": (280, 3), "18 px on 280": (280, 18),
        "45 px on 280": (280, 45), "4 px on 64": (64, 4)}
PLACES = {"large": (0.2, 0.05, 0.6, 0.9), "small": (0.4, 0.4, 0.15, 0.25), "corner": (0.02, 0.02, 0.3, 0.45)}
INKS = {"dark on light": {"ink": 0, "paper": 255}, "light on dark": {"ink": 255, "paper": 0},
        "transparent": {"ink": 0, "mode": "RGBA"}}


def predict(model, images: list) -> torch.Tensor:
    with torch.inference_mode():
        return model(torch.cat(images)).lengths.argmax(dim=1)


def mnist_accuracy(model, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    raw = float((predict(model, list(images.split(1))) == labels).float().mean())
    through = float((predict(model, [preprocess(image[0].numpy()) for image in images]) == labels).float().mean())
    return raw, through


def drawn_accuracy(model, pen: tuple[int, int], place: tuple, ink: dict) -> float:
    size, width = pen
    box = tuple(size * f for f in place)
    digits = list(DIGITS)
    images = [preprocess(render(digit, size=size, box=box, pen=width, **ink)) for digit in digits]
    return float((predict(model, images) == torch.tensor(digits)).float().mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", type=int, default=1000, help="MNIST test images (default: 1000)")
    add_model_and_data_flags(p)
    args = p.parse_args()
    model = model_from(args)
    images, labels = test_set(args)
    raw, through = mnist_accuracy(model, images[: args.mnist], labels[: args.mnist])
    print(f"MNIST test, first {args.mnist}: {raw:.1%} as they are, {through:.1%} through preprocess")
    results = {combo: drawn_accuracy(model, PENS[combo[0]], PLACES[combo[1]], INKS[combo[2]])
               for combo in product(PENS, PLACES, INKS)}
    for pen in PENS:
        row = [results[(pen, place, ink)] for place, ink in product(PLACES, INKS)]
        print(f"drawn digits, pen {pen:>13}: {sum(row) / len(row):.0%} of {len(row) * len(DIGITS)}")
    print(f"drawn digits, all: {sum(results.values()) / len(results):.1%} of {len(results) * len(DIGITS)}")


if __name__ == "__main__":
    main()
