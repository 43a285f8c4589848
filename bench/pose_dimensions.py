"""What each of the 16 pose dimensions of the true digit's capsule tracks, measured on MNIST test digits.

    python -m bench.pose_dimensions             # 1,000 test digits, about 20,000 forward passes
    python -m bench.pose_dimensions --limit 100 # a quick look

Each digit is turned, scaled, sheared and thinned or thickened by small known amounts
(capsnet/pose_study.py: CHANGES); Pearson's r between each amount and each pose value, within
digits, is printed as a 16 x 4 table and drawn as a heat map (docs/pose-dimensions.png). A short
label per dimension where |r| is strong goes to the model folder's pose-dimensions.json for the page's sliders.
The shipped checkpoint's result is in docs/pose-dimensions.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from matplotlib.figure import Figure

from bench.common import add_model_and_data_flags, model_from, test_set
from capsnet.atomic import atomic_write
from capsnet.figures import save_figure
from capsnet.checkpoints import POSE_LABELS, model_folder
from capsnet.pose_study import CHANGES, STRONG, changed_poses, dimension_labels, pose_correlations

DOCS = Path(__file__).resolve().parent.parent / "docs"


def table(correlations: dict, labels: list[dict]) -> str:
    """The correlations as a Markdown table, one row per dimension, with its label where strong."""
    lines = ["| dim | " + " | ".join(correlations) + " | tracks most |",
             "| --- |" + " --- |" * (len(correlations) + 1)]
    for entry in labels:
        values = " | ".join(f"{float(r[entry['dim']]):+.2f}" for r in correlations.values())
        tracks = f"{entry['label']} ({entry['tracks']}, r = {entry['r']:+.2f})" if entry["label"] else ""
        lines.append(f"| {entry['dim']} | {values} | {tracks} |")
    return "\n".join(lines)


def plot(correlations: dict, path: Path) -> None:
    grid = torch.stack(list(correlations.values()), dim=1).numpy()  # (16, 4)
    fig = Figure(figsize=(4.2, 6.4), layout="tight")
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), list(correlations))
    ax.set_yticks(range(grid.shape[0]), [f"dim {d}" for d in range(grid.shape[0])])
    for row in range(grid.shape[0]):
        for col in range(grid.shape[1]):
            r = grid[row, col]
            ax.text(col, row, f"{r:+.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(r) >= STRONG else "black")
    ax.set_title("Pose dimension vs. change\n(Pearson r within digits)", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    save_figure(fig, path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_and_data_flags(p)
    p.add_argument("--limit", type=int, default=1000, help="test digits to measure on (default: 1000)")
    p.add_argument("--figure", type=Path, default=None,
                   help="heat map (default: docs/pose-dimensions.png for the shipped model, else pose-dimensions.png "
                        "in the --checkpoint folder)")
    p.add_argument("--labels", type=Path, default=None, help="labels JSON (default: pose-dimensions.json in the model folder)")
    args = p.parse_args()
    if args.limit < 1:
        p.exit(2, f"error: argument --limit: {args.limit} is not allowed; give a whole number >= 1\n")
    model = model_from(args)
    images, labels = test_set(args)
    images, labels = images[: args.limit], labels[: args.limit]
    start = time.perf_counter()
    poses = changed_poses(model, images, labels)
    seconds = time.perf_counter() - start
    correlations = pose_correlations(poses)
    dims = dimension_labels(correlations)
    # Each digit has its own capsule, whose dimensions may mean other things: measured one digit at a time too.
    by_digit = {str(digit): dimension_labels(pose_correlations({k: v[labels == digit] for k, v in poses.items()}))
                for digit in range(10)}
    print(f"{len(images)} test digits, changes {', '.join(f'{k} {v[0]:g}..{v[-1]:g}' for k, v in CHANGES.items())}; "
          f"{seconds:.0f} s, {torch.get_num_threads()} threads")
    print(table(correlations, dims))
    print(f"\nper digit's own capsule, the dimensions with |r| >= {STRONG}:")
    for digit, entries in by_digit.items():
        print(f"{digit}: " + ", ".join(f"dim {e['dim']} {e['label']} ({e['r']:+.2f})" for e in entries if e["label"]))
    folder = model_folder(args.checkpoint)
    # Only the shipped model's picture belongs in docs/; another model's must not replace it.
    figure = args.figure or (DOCS / "pose-dimensions.png" if args.checkpoint is None else folder / "pose-dimensions.png")
    plot(correlations, figure)
    out = args.labels or folder / POSE_LABELS
    command = " ".join(["python -m bench.pose_dimensions", *sys.argv[1:]])  # how to measure it again
    record = {"command": command, "test_digits": len(images), "strong": STRONG,
              "changes": {k: list(v) for k, v in CHANGES.items()},
              "dimensions": dims, "by_digit": by_digit,
              "correlations": {k: [round(float(r), 3) for r in v] for k, v in correlations.items()}}
    with atomic_write(out) as f:
        f.write((json.dumps(record, indent=2) + "\n").encode())
    print(f"wrote {figure} and {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
