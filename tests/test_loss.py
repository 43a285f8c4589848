import torch

from capsnet import capsule_loss, margin_loss, reconstruction_loss


def test_margin_loss_matches_hand_computation():
    lengths = torch.tensor([[0.95, 0.05, 0.30, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                            [0.20, 0.80, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.12]])
    labels = torch.tensor([0, 1])
    # image 0: present 0.95 >= 0.9 -> 0; absent 0.30 -> 0.5 * 0.2^2 = 0.02
    # image 1: present 0.80 -> 0.1^2 = 0.01; absent 0.20 -> 0.5 * 0.1^2 = 0.005; 0.12 -> 0.5 * 0.02^2 = 0.0002
    expected = (0.02 + 0.01 + 0.005 + 0.0002) / 2
    assert torch.isclose(margin_loss(lengths, labels), torch.tensor(expected), atol=1e-7)


def test_margin_loss_is_zero_for_perfect_lengths():
    lengths = torch.full((3, 10), 0.1)
    labels = torch.tensor([2, 5, 9])
    lengths[torch.arange(3), labels] = 0.9
    assert margin_loss(lengths, labels) == 0


def test_reconstruction_loss_sums_squared_errors_over_pixels():
    images = torch.zeros(2, 1, 28, 28)
    reconstruction = torch.full((2, 1, 28, 28), 0.5)
    assert torch.isclose(reconstruction_loss(reconstruction, images), torch.tensor(784 * 0.25))


def test_capsule_loss_weights_reconstruction_by_0_0005():
    lengths = torch.full((1, 10), 0.1)
    lengths[0, 4] = 0.9
    images, reconstruction = torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28)
    loss = capsule_loss(lengths, torch.tensor([4]), reconstruction, images)
    assert torch.isclose(loss, torch.tensor(0.0005 * 784))
