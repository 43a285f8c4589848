"""Where the 16 pose values of the winning digit capsule lie on the MNIST test set: the sliders' range.

    python -m bench.pose_ranges [--limit 2000] [--checkpoint PATH] [--data-dir DIR]

Prints percentiles of each dimension of the longest capsule's pose, and the
symmetric range that covers the 0.1st to 99.9th percentiles of every dimension
plus the paper's largest perturbation (0.25), rounded up to 0.1. demo/compute/inputs.py's
POSE_RANGE comes from here.
"""

import argparse
import math

import torch

from bench.common import add_model_and_data_flags, model_from, test_set

PERCENTILES = (0.1, 1, 50, 99, 99.9)
PAPER_PERTURBATION = 0.25  # Sabour et al. 2017, Fig. 4: each dimension moved by -0.25..0.25
BATCH = 100


def winning_poses(model, images: torch.Tensor) -> torch.Tensor:
    """(N, 16): the longest capsule's pose for each image."""
    poses = []
    with torch.inference_mode():
        for batch in images.split(BATCH):
            out = model(batch)
            poses.append(out.poses[torch.arange(len(batch)), out.lengths.argmax(dim=1)])
    return torch.cat(poses)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=2000, help="test images to use (default: 2000)")
    add_model_and_data_flags(p)
    args = p.parse_args()
    images, _ = test_set(args)
    poses = winning_poses(model_from(args), images[: args.limit])
    quantiles = torch.quantile(poses, torch.tensor(PERCENTILES) / 100, dim=0)  # (5, 16)
    print(f"winning capsule's pose over {len(poses)} MNIST test images")
    print("dim " + "".join(f"{f'p{q:g}':>8}" for q in PERCENTILES))
    for dim in range(poses.shape[1]):
        print(f"{dim:>3} " + "".join(f"{v:8.3f}" for v in quantiles[:, dim].tolist()))
    extreme = max(-quantiles[0].min().item(), quantiles[-1].max().item())
    bound = math.ceil((extreme + PAPER_PERTURBATION) * 10) / 10
    print(f"all dimensions within {quantiles[0].min():.3f} .. {quantiles[-1].max():.3f} (p0.1 .. p99.9); "
          f"with the paper's +-{PAPER_PERTURBATION} on top: slider range -{bound:.1f} .. {bound:.1f}")


if __name__ == "__main__":
    main()
