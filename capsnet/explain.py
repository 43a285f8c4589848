"""The explainer views' numbers (demo/compute/explainer.py) as one module without weights, so that the server runs
it in torch and the page runs the same maths as an ONNX graph (capsnet.export.explain_onnx_bytes) on what its live
path gives it: routing re-run from the predictions u_hat_j|i with the iterations chosen, how much each primary
capsule agrees with a digit capsule, and the poses that Figure 4 and #all-capsules decode. The decoder is not in
it: the page decodes those poses with the decoder graph, whose weights it has already.
"""

import math

import torch

from . import figures
from .model import CapsNetConfig, CapsNetTrace, traced_routing

EXPLAIN_INPUTS = ("predictions", "poses", "digit")
EXPLAIN_OUTPUTS = ("coupling", "votes", "vote_top", "shares", "lengths", "last_coupling", "longest",  # #routing
                   "agreement", "agreement_means", "agreement_order", "agreement_limit",  # #primary
                   "decode_poses", "decode_digits")  # Figure 4, then #all-capsules
AGREEMENT_QUANTILE = 0.99  # the agreement colour scale ends at this quantile of |agreement|
ITERATIONS = range(1, 6)  # the routing iterations the views offer to re-run (the model is trained with 3)


class Explain(torch.nn.Module):
    """The explainer views' numbers for one digit capsule, routing re-run with iterations; no weights."""

    def __init__(self, config: CapsNetConfig, iterations: int):
        super().__init__()
        self.config = config
        self.iterations = iterations

    def forward(self, predictions: torch.Tensor, poses: torch.Tensor, digit: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """predictions u_hat_j|i (1, 1152, 10, 16), the prediction's own poses v_j (1, 10, 16) and the digit
        capsule shown (1,) int64 -> the tensors named by EXPLAIN_OUTPUTS, in that order."""
        trace = traced_routing(predictions, self.iterations, self.config)
        shown = digit[0]  # a 0-dim tensor indexes as a number does, and stays an input of the exported graph
        return *routing_numbers(trace, shown), *agreement_numbers(trace, shown), *poses_to_decode(poses[0], shown)


def routing_numbers(trace: CapsNetTrace, digit: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """#routing's numbers: the couplings c_ij to digit (r, 32, 6, 6), the vote maps (r, 28, 28) and the top of
    their one colour scale (1,), the vote shares (r,), the lengths (r, 10), what the caption says routing did: the
    last iteration's c_ij to digit as min, max, mean (3,), and the longest capsule at the first and last iteration
    (2,)."""
    votes = figures.vote_maps(trace, digit)  # (r, 28, 28)
    lengths = trace.lengths[:, 0]  # (r, 10)
    last = trace.coupling[-1, 0, :, digit]  # (1152,)
    return (figures.coupling_mosaic(trace, digit), votes, or_one(votes.max()), figures.vote_shares(trace, digit),
            lengths, torch.stack([last.min(), last.max(), last.mean()]),
            torch.stack([lengths[0].argmax(), lengths[-1].argmax()]))


def agreement_numbers(trace: CapsNetTrace, digit: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """#primary's numbers: the agreement maps with digit (32, 6, 6), their mean per type (32,), the types most
    agreeing first (32,), and the end of their colour scale, the AGREEMENT_QUANTILE of |agreement| (1,): a few
    capsules at the border agree ten times more than the rest, and all else would look white."""
    maps = figures.agreement_maps(trace, digit)  # (32, 6, 6)
    return (maps, maps.mean((1, 2)), figures.types_by_agreement(trace, digit),
            or_one(quantile(maps.abs(), AGREEMENT_QUANTILE)))


def poses_to_decode(poses: torch.Tensor, digit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """poses (10, 16) -> what Figure 4 and #all-capsules draw, as poses (186, 16) and the capsules they are placed
    in (186,): capsule digit's perturbed_poses (176), then each capsule's own pose (10)."""
    perturbed = figures.perturbed_poses(poses[digit])  # (176, 16)
    digits = torch.cat([digit.expand(perturbed.shape[0]), torch.arange(poses.shape[0])])  # (186,)
    return torch.cat([perturbed, poses]), digits


def quantile(values: torch.Tensor, q: float) -> torch.Tensor:
    """The q quantile of all values, as np.quantile's default (linear interpolation between the two nearest of
    the sorted values) -> (). A sort and two picks: torch.quantile does not export to ONNX."""
    ordered = values.reshape(-1).sort().values
    count = values.numel()
    position = q * (count - 1)
    below = math.floor(position)
    low, high, t = ordered[below], ordered[min(below + 1, count - 1)], position - below
    # from the nearer neighbour, as numpy does: exact at both ends (q = 1 is the largest value)
    return high - (high - low) * (1 - t) if t >= 0.5 else low + (high - low) * t


def or_one(top: torch.Tensor) -> torch.Tensor:
    """The end of a colour scale, top (0-dim), as (1,); 1 where top is 0 (nothing to show), so the scale has a width."""
    return torch.where(top == 0, torch.ones_like(top), top).reshape(1)
