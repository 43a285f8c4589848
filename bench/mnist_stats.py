"""Measures the MNIST constants that capsnet.preprocess aims for, on the test set.

    python -m bench.mnist_stats [--data-dir DIR]

Prints the mean centre of mass (row, column) of the digits and the percentiles
of their stroke width over their longer side, measured the way preprocess
measures a drawing. preprocessing.py's MNIST_CENTRE and STROKE_RANGE come from here.
"""

import argparse

import torch

from bench.common import add_model_and_data_flags, test_set
from capsnet.preprocessing import crop_to_ink, stroke_width, to_work_size

PERCENTILES = (5, 10, 25, 50, 75, 90, 95)


def centre_of_mass(images: torch.Tensor) -> tuple[float, float]:
    """Mean (row, column) centre of mass of images (N, 28, 28), in pixel indices."""
    index = torch.arange(images.shape[-1], dtype=torch.float32)
    mass = images.sum(dim=(1, 2))
    rows = (images.sum(dim=2) * index).sum(dim=1) / mass
    cols = (images.sum(dim=1) * index).sum(dim=1) / mass
    return float(rows.mean()), float(cols.mean())


def relative_stroke_width(image: torch.Tensor) -> float:
    ink = to_work_size(crop_to_ink(image))
    return stroke_width(ink) / max(ink.shape)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_and_data_flags(p, model=False)
    p.add_argument("--limit", type=int, default=2000, help="test images to measure stroke width on (default: 2000)")
    args = p.parse_args()
    images, _ = test_set(args)
    images = images[:, 0]
    row, col = centre_of_mass(images)
    print(f"centre of mass: row {row:.2f}, column {col:.2f} (pixel indices, 0-27)")
    widths = torch.tensor([relative_stroke_width(image) for image in images[: args.limit]])
    quantiles = torch.quantile(widths, torch.tensor(PERCENTILES) / 100)
    print("stroke width / longer side, percentiles: "
          + ", ".join(f"p{p} {q:.3f}" for p, q in zip(PERCENTILES, quantiles.tolist())))


if __name__ == "__main__":
    main()
