"""MultiMNIST (Sabour et al. 2017, section 6): two overlapping digits of different classes, made on the fly.

The paper shifts each digit by up to 4 px in a 36x36 frame and adds them. We do
the same, then frame the pair as `preprocess` frames a drawing (the ink's longer
side fitted to 20 px, the centre of mass at the centre of a 28x28 field), so the
network keeps its 28x28 input and a pair drawn on the page looks like the pairs
it was trained on. Each digit gets the same framing: it is that digit's own
reconstruction target.
"""

import torch
import torch.nn.functional as F

from .data import random_shift
from .preprocessing import DIGIT_BOX, MNIST_CENTRE, MNIST_SIZE

PAIR_FRAME = 36  # the paper's canvas for two digits
PAIR_SHIFT = 4  # each digit moves by its own shift of up to this many px in x and y
TEST_PAIR_SEED = 2017  # every model is compared on the same test pairs
VALIDATION_PAIR_SEED = 2018


def partners(first: torch.Tensor, pool: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For each label in first (B,), the index of a random image in pool (N labels) of another class -> (B,)."""
    chosen = torch.randint(len(pool), first.shape, generator=generator)
    while (same := pool[chosen] == first).any():
        chosen[same] = torch.randint(len(pool), (int(same.sum()),), generator=generator)
    return chosen


def frame_like_preprocess(ink: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """ink (B, 1, H, W) fitted as `preprocess` fits a drawing -> (B, 1, 28, 28); others (B, K, H, W) get the same
    warp, so each part of the ink lands where it lands in the whole.

    Longer side of the ink's bounding box to DIGIT_BOX px, centre of mass to MNIST_CENTRE, bilinear.
    """
    batch, _, height, width = ink.shape
    rows, cols = torch.arange(height, dtype=ink.dtype), torch.arange(width, dtype=ink.dtype)
    mass = ink.sum((1, 2, 3)).clamp_min(1e-6)  # (B,)
    centre_y = (ink.sum((1, 3)) @ rows) / mass  # (B,) in pixel indices
    centre_x = (ink.sum((1, 2)) @ cols) / mass
    inked_rows, inked_cols = ink.amax((1, 3)) > 0, ink.amax((1, 2)) > 0  # (B, H), (B, W)
    extent = torch.maximum(_span(inked_rows), _span(inked_cols)).clamp_min(1)  # (B,) longer side of the box
    scale = DIGIT_BOX / extent  # (B,) source pixels -> field pixels
    # Field pixel p shows source pixel centre + (p - MNIST_CENTRE) / scale, in grid_sample's [-1, 1] units.
    field = torch.arange(MNIST_SIZE, dtype=ink.dtype) - MNIST_CENTRE  # (28,)
    src_y = centre_y[:, None] + field[None, :] / scale[:, None]  # (B, 28)
    src_x = centre_x[:, None] + field[None, :] / scale[:, None]
    grid = torch.stack(torch.broadcast_tensors(
        ((2 * src_x + 1) / width - 1)[:, None, :], ((2 * src_y + 1) / height - 1)[:, :, None]), dim=-1)  # (B, 28, 28, 2)
    framed = F.grid_sample(torch.cat([ink, *others], 1), grid, align_corners=False)  # (B, 1 + K, 28, 28)
    peak = framed[:, :1].amax((2, 3), keepdim=True).clamp_min(1e-6)  # the strongest ink back to 1, as preprocess
    framed = (framed / peak).clamp(0, 1)
    return framed[:, :1], *framed[:, 1:].split([o.shape[1] for o in others], dim=1)


def _span(inked: torch.Tensor) -> torch.Tensor:
    """(B, N) bool -> (B,) number of positions from the first True to the last."""
    positions = torch.arange(inked.shape[1])
    first = torch.where(inked, positions, inked.shape[1]).amin(1)
    last = torch.where(inked, positions, -1).amax(1)
    return (last - first + 1).clamp_min(0).to(torch.float32)


def make_pairs(
    images: torch.Tensor,
    labels: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    generator: torch.Generator,
    alone: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """images[first] over images[second], each shifted, added and clipped to [0, 1], framed for the network.

    Returns the pairs (B, 1, 28, 28), their labels (B, 2) and each digit alone,
    framed as in its pair (B, 2, 1, 28, 28): the reconstruction targets.
    Where alone (B,) is True, images[first] comes without a partner, framed the
    same way: its label and its target stand twice, so the margin loss wants
    one long capsule and the decoder draws that digit from it.
    """
    digits = torch.stack([images[first], images[second]], dim=1)  # (B, 2, 1, 28, 28)
    if alone is not None:
        digits[:, 1] *= ~alone[:, None, None, None]
        second = torch.where(alone, first, second)
    batch = digits.shape[0]
    margin = (PAIR_FRAME - digits.shape[-1]) // 2
    placed = F.pad(digits.flatten(0, 1), (margin,) * 4)  # (2B, 1, 36, 36)
    placed = random_shift(placed, PAIR_SHIFT, generator).view(batch, 2, PAIR_FRAME, PAIR_FRAME)
    pair = placed.sum(1, keepdim=True).clamp(max=1)  # (B, 1, 36, 36)
    pair, parts = frame_like_preprocess(pair, placed)  # (B, 1, 28, 28), (B, 2, 28, 28)
    if alone is not None:
        parts[:, 1] = torch.where(alone[:, None, None], parts[:, 0], parts[:, 1])
    return pair, torch.stack([labels[first], labels[second]], 1), parts.unsqueeze(2)


def fixed_pairs(images: torch.Tensor, labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One pair per image, each image first once, with a partner and shifts fixed by seed (validation, test)."""
    generator = torch.Generator().manual_seed(seed)
    return make_pairs(images, labels, torch.arange(len(labels)), partners(labels, labels, generator), generator)


def recognised(lengths: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Whether the K longest capsules are exactly the K labelled digits -> (B,) bool.

    labels (B,) for one digit (the longest capsule is right) or (B, 2): the paper's
    MultiMNIST measure (both digits among the two longest capsules); a row that
    names one digit twice (a single digit among pairs) needs it to be the longest.
    """
    labels = labels.view(len(labels), -1)  # (B, K), K = 1 or 2
    longest = lengths.topk(labels.shape[1], dim=1).indices  # (B, K)
    both = (longest.sort(dim=1).values == labels.sort(dim=1).values).all(dim=1)
    return torch.where(labels[:, 0] == labels[:, -1], longest[:, 0] == labels[:, 0], both)
