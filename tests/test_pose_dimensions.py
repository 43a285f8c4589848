from types import SimpleNamespace

import pytest
import torch

from capsnet.pose_study import (CHANGES, STRONG, changed_poses, dimension_labels, pose_correlations, thicken,
                                within_digit_correlation)


def test_correlation_recovers_a_known_linear_dependence_despite_digits_differing():
    torch.manual_seed(0)
    amounts = torch.linspace(-1, 1, 5)
    poses = torch.randn(300, 5, 16) * 0.1  # noise
    poses += 10 * torch.randn(300, 1, 16)  # each digit its own offset, far larger than the change
    poses[:, :, 3] += 0.5 * amounts  # dimension 3 follows the change
    poses[:, :, 7] -= 0.05 * amounts  # dimension 7 against it, weakly next to its noise
    r = within_digit_correlation(amounts, poses)
    assert r[3] > 0.95
    assert -0.5 < r[7] < -0.2
    assert r[[d for d in range(16) if d not in (3, 7)]].abs().max() < 0.1


def test_correlation_of_a_dimension_that_never_moves_is_zero_not_nan():
    assert within_digit_correlation(torch.linspace(-1, 1, 5), torch.ones(10, 5, 16)).eq(0).all()


def test_thickening_adds_ink_and_thinning_takes_it_away():
    x = torch.zeros(1, 1, 28, 28)
    x[..., 10:18, 12:16] = 1
    assert thicken(x, 1).sum() > thicken(x, 0.5).sum() > x.sum() > thicken(x, -0.5).sum() > thicken(x, -1).sum()
    assert torch.equal(thicken(x, 0), x)


class InkModel(torch.nn.Module):
    """A stand-in whose digit capsules' first pose value is the amount of ink, the rest noise."""

    def forward(self, x):
        poses = torch.randn(len(x), 10, 16) * 0.01
        poses[:, :, 0] = x.flatten(1).sum(1, keepdim=True)
        return SimpleNamespace(poses=poses)


def test_pose_correlations_finds_the_dimension_that_follows_the_ink():
    torch.manual_seed(0)
    images = torch.zeros(40, 1, 28, 28)
    images[..., 9:19, 11:17] = torch.rand(40, 1, 10, 6)
    correlations = pose_correlations(changed_poses(InkModel(), images, torch.randint(0, 10, (40,)), batch_size=16))
    assert list(correlations) == list(CHANGES) and all(r.shape == (16,) for r in correlations.values())
    assert correlations["stroke"][0] > 0.9 and correlations["scale"][0] > 0.9  # both add ink
    assert correlations["stroke"][1:].abs().max() < 0.3


def test_labels_name_only_strong_dimensions():
    correlations = {name: torch.zeros(16) for name in CHANGES}
    correlations["shear"][4] = -0.8
    correlations["stroke"][9] = STRONG - 0.01
    labels = dimension_labels(correlations)
    assert labels[4] == {"dim": 4, "tracks": "shear", "r": pytest.approx(-0.8), "label": "slant"}
    assert labels[9]["tracks"] == "stroke" and labels[9]["label"] is None
    assert sum(entry["label"] is not None for entry in labels) == 1
