"""The paper's Figure 4 for real MNIST test digits: what each of the 16 pose dimensions draws.

    python -m scripts.figure4 --digits 3 5 --out docs/figure4.png
    python -m scripts.figure4 --digits 7 --nth 2 --checkpoint PATH --data-dir ../shared/mnist

For each digit takes its nth test image (counting from 0), runs the model and
moves every dimension of that digit's capsule by -0.25 to +0.25 in steps of
0.05 (capsnet.figures.figure4); the grids go side by side into one PNG.
"""

import argparse
import io
import sys
from pathlib import Path

import torch
from PIL import Image

from bench.common import add_model_and_data_flags, model_from, test_set
from capsnet.figures import figure4, figure_png


def test_image(images: torch.Tensor, labels: torch.Tensor, digit: int, nth: int) -> torch.Tensor:
    """The nth MNIST test image of digit -> (1, 1, 28, 28)."""
    indices = (labels == digit).nonzero().flatten()
    if nth >= len(indices):
        sys.exit(f"error: the test set has {len(indices)} images of {digit}; pick --nth below that")
    return images[indices[nth]].unsqueeze(0)


def side_by_side(pngs: list[bytes]) -> Image.Image:
    """The grids next to each other, in gray: Figure 4 has no colour, and gray PNGs are a third the size."""
    pictures = [Image.open(io.BytesIO(png)).convert("L") for png in pngs]
    canvas = Image.new("L", (sum(p.width for p in pictures), max(p.height for p in pictures)), 255)
    left = 0
    for picture in pictures:
        canvas.paste(picture, (left, 0))
        left += picture.width
    return canvas


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digits", type=int, nargs="+", default=[3, 5], choices=range(10), metavar="DIGIT",
                   help="digits to show, one grid each (default: 3 5)")
    p.add_argument("--nth", type=int, default=0, help="which test image of each digit, from 0 (default: 0)")
    p.add_argument("--out", type=Path, default=Path("figure4.png"), help="PNG to write (default: figure4.png)")
    add_model_and_data_flags(p)
    args = p.parse_args()
    model = model_from(args)
    images, labels = test_set(args)
    pngs = []
    for digit in args.digits:
        x = test_image(images, labels, digit, args.nth)
        with torch.inference_mode():
            out = model(x)
        predicted = int(out.lengths.argmax())
        print(f"digit {digit}: test image {args.nth}, predicted {predicted}, length {out.lengths[0, digit]:.3f}")
        pngs.append(figure_png(figure4(model, out.poses[0, digit], digit)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    side_by_side(pngs).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
