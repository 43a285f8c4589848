"""What each dimension of a digit capsule's pose tracks, measured: change each digit a little in one known way
(turn, scale, shear, stroke width) and correlate the true capsule's 16 pose values with the amount.

The paper's Figure 4 names dimensions by eye (scale and thickness, localized part, stroke thickness, width
and translation); a trained model learns its own, so they are measured here (bench/pose_dimensions.py;
the result for the shipped checkpoint is in docs/pose-dimensions.md and checkpoints/capsnet-mnist/pose-dimensions.json).
"""

import torch
import torch.nn.functional as F

from .transforms import warp

# The amounts each digit is changed by: small enough that it stays the same digit (the true capsule
# stays longest in nearly every case, docs/robustness.md), wide enough to move the pose.
CHANGES = {
    "rotation": (-15.0, -7.5, 0.0, 7.5, 15.0),  # degrees, counter-clockwise
    "scale": (0.85, 0.925, 1.0, 1.075, 1.15),
    "shear": (-0.2, -0.1, 0.0, 0.1, 0.2),  # positive leans the top right
    "stroke": (-1.0, -0.5, 0.0, 0.5, 1.0),  # pixels of ink taken off (-) or added (+) at every edge
}
LABELS = {"rotation": "turn", "scale": "size", "shear": "slant", "stroke": "thickness"}  # for a slider
STRONG = 0.5  # |r| from which a dimension is said to track a change


def thicken(x: torch.Tensor, pixels: float) -> torch.Tensor:
    """Strokes of x (B, 1, 28, 28) grown (pixels > 0) or thinned (< 0) by up to one pixel at every edge:
    grey-level dilation or erosion over 3x3, a fraction of a pixel blending towards it."""
    if pixels == 0:
        return x
    moved = F.max_pool2d(x, 3, stride=1, padding=1) if pixels > 0 else -F.max_pool2d(-x, 3, stride=1, padding=1)
    return x + min(abs(pixels), 1.0) * (moved - x)


def changed(x: torch.Tensor, change: str, amount: float) -> torch.Tensor:
    """x (B, 1, 28, 28) changed by amount in one of CHANGES' ways."""
    if change == "stroke":
        return thicken(x, amount)
    return warp(x, **{"rotation": {"rotate": amount}, "scale": {"scale": amount}, "shear": {"shear": amount}}[change])


def within_digit_correlation(amounts: torch.Tensor, poses: torch.Tensor) -> torch.Tensor:
    """Pearson's r between the amount of a change (K,) and each pose dimension of N digits (N, K, D) -> (D,).

    Each digit's own mean is taken out first: r says how a dimension moves when one digit is changed,
    not how digits differ from each other (which would swamp it).
    """
    a = (amounts - amounts.mean()).to(poses.dtype)[None, :, None]  # (1, K, 1)
    p = poses - poses.mean(dim=1, keepdim=True)  # (N, K, D)
    covariance = (a * p).sum(dim=(0, 1))  # (D,)
    spread = ((a**2).sum() * len(poses)).sqrt() * (p**2).sum(dim=(0, 1)).sqrt()  # (D,)
    return covariance / spread.clamp_min(1e-12)


@torch.inference_mode()
def changed_poses(model, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> dict:
    """The true digit's capsule (16 values) for images (N, 1, 28, 28) with labels (N,) changed by each amount
    of each of CHANGES -> {change: (N, K, 16)}. model(x).poses: (B, 10, 16)."""
    poses = {}
    for change, amounts in CHANGES.items():
        batches = []
        for start in range(0, len(images), batch_size):
            x, y = images[start : start + batch_size], labels[start : start + batch_size]
            true_pose = [model(changed(x, change, a)).poses[torch.arange(len(y)), y] for a in amounts]  # K x (B, 16)
            batches.append(torch.stack(true_pose, dim=1).double())  # (B, K, 16)
        poses[change] = torch.cat(batches)
    return poses


def pose_correlations(poses: dict) -> dict:
    """r between each change's amount and each pose dimension, from changed_poses -> {change: (16,)}."""
    return {change: within_digit_correlation(torch.tensor(CHANGES[change], dtype=torch.float64), p).float()
            for change, p in poses.items()}


def dimension_labels(correlations: dict) -> list[dict]:
    """Per pose dimension, the change it tracks most: {"dim", "tracks", "r", "label"}; label is a short word
    for a slider (LABELS) where |r| >= STRONG, else None."""
    table = torch.stack(list(correlations.values()), dim=1)  # (16, changes)
    names = list(correlations)
    result = []
    for dim, row in enumerate(table):
        best = int(row.abs().argmax())
        r = round(float(row[best]), 3)
        result.append({"dim": dim, "tracks": names[best], "r": r,
                       "label": LABELS[names[best]] if abs(r) >= STRONG else None})
    return result
