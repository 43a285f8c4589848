"""The training objective: margin loss on capsule lengths plus a small reconstruction loss (Sabour et al. 2017, eq. 4 and §4.1)."""

import torch
import torch.nn.functional as F

M_PLUS = 0.9  # a present digit's capsule should be at least this long
M_MINUS = 0.1  # an absent digit's capsule should be at most this long
LAMBDA = 0.5  # down-weights absent digits so early training does not shrink every capsule
RECONSTRUCTION_WEIGHT = 0.0005  # so the reconstruction does not dominate the margin loss


def margin_loss(lengths: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 4 summed over the 10 digit capsules, averaged over the batch. lengths: (B, 10), labels: (B,) or
    (B, K) for K digits in each image (MultiMNIST: T_k = 1 for both)."""
    present = F.one_hot(labels.view(len(labels), -1), lengths.shape[1]).amax(1).to(lengths.dtype)  # T_k
    loss = present * F.relu(M_PLUS - lengths) ** 2 + LAMBDA * (1 - present) * F.relu(lengths - M_MINUS) ** 2
    return loss.sum(dim=1).mean()


def reconstruction_loss(reconstruction: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Sum of squared pixel errors per image, averaged over the batch; (B, K, 1, 28, 28): summed over the K digits."""
    return ((reconstruction.float() - images.float()) ** 2).flatten(1).sum(dim=1).mean()


def capsule_loss(
    lengths: torch.Tensor,
    labels: torch.Tensor,
    reconstruction: torch.Tensor,
    images: torch.Tensor,
    reconstruction_weight: float = RECONSTRUCTION_WEIGHT,
) -> torch.Tensor:
    return margin_loss(lengths, labels) + reconstruction_weight * reconstruction_loss(reconstruction, images)
