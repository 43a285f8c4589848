import numpy as np
import pytest
import torch

from capsnet import capsule_loss, margin_loss, preprocess, reconstruction_loss
from capsnet.data import load_mnist
from capsnet.multimnist import fixed_pairs, frame_like_preprocess, make_pairs, partners, recognised


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    return images[:300], labels[:300]


def test_partners_are_of_another_class_and_come_from_the_pool():
    pool = torch.tensor([0, 0, 1, 2, 2, 2])
    first = torch.tensor([0, 2, 1, 0, 2])
    chosen = partners(first, pool, torch.Generator().manual_seed(0))
    assert chosen.min() >= 0 and chosen.max() < len(pool)
    assert (pool[chosen] != first).all()


def test_pairs_hold_two_different_digits_in_0_1(test_digits):
    pairs, labels, parts = fixed_pairs(*test_digits, seed=1)
    assert pairs.shape == (300, 1, 28, 28) and labels.shape == (300, 2) and parts.shape == (300, 2, 1, 28, 28)
    assert (labels[:, 0] != labels[:, 1]).all()
    assert (labels[:, 0] == test_digits[1]).all()  # each image is the first digit of its own pair
    assert pairs.min() >= 0 and pairs.max() <= 1 and parts.min() >= 0 and parts.max() <= 1


def test_pairs_are_fixed_by_their_seed(test_digits):
    first, again, other = (fixed_pairs(*test_digits, seed=s)[0] for s in (1, 1, 2))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_each_digit_alone_is_framed_as_in_its_pair(test_digits):
    pairs, _, parts = fixed_pairs(*test_digits, seed=1)
    assert (parts.sum(1).clamp(max=1) - pairs).abs().mean() < 0.02


def test_a_pair_framed_by_preprocess_looks_like_the_pairs_the_model_trains_on(test_digits):
    pairs, _, _ = fixed_pairs(*test_digits, seed=1)
    drawn = [preprocess((pair[0].numpy() * 255).round().astype(np.uint8)) for pair in pairs[:30]]
    difference = torch.stack([(x[0] - pair).abs().mean() for x, pair in zip(drawn, pairs)])
    assert difference.mean() < 0.06  # per pixel, on a 0-1 scale: the same framing up to resampling


def test_framing_fits_the_ink_into_20_px_with_its_centre_of_mass_at_the_centre():
    ink = torch.zeros(1, 1, 36, 36)
    ink[0, 0, 2:12, 5:35] = 1  # a 10x30 bar, off centre
    (framed,) = frame_like_preprocess(ink)
    rows, cols = torch.nonzero(framed[0, 0] > 0.5, as_tuple=True)
    assert cols.max() - cols.min() + 1 == pytest.approx(20, abs=1)
    centre = (framed[0, 0].sum(1) @ torch.arange(28.0)) / framed.sum()
    assert centre == pytest.approx(14, abs=0.5)


def test_recognised_needs_both_digits_among_the_two_longest_capsules():
    lengths = torch.tensor([[0.9, 0.8, 0.1] + [0.0] * 7, [0.9, 0.1, 0.8] + [0.0] * 7])
    assert recognised(lengths, torch.tensor([[1, 0], [1, 0]])).tolist() == [True, False]
    assert recognised(lengths, torch.tensor([0, 2])).tolist() == [True, False]  # one digit: the longest


def test_margin_loss_makes_both_digits_of_a_pair_targets():
    lengths = torch.full((1, 10), 0.1)
    lengths[0, [3, 7]] = 0.9
    assert margin_loss(lengths, torch.tensor([[3, 7]])) == 0
    assert margin_loss(lengths, torch.tensor([3])) > 0  # with one target, capsule 7 is too long


def test_each_reconstruction_of_a_pair_is_its_own_capsule_decoded_alone(model, test_digits):
    pairs, labels, _ = fixed_pairs(*test_digits, seed=1)
    with torch.inference_mode():
        both = model(pairs[:4], labels[:4]).reconstruction  # (4, 2, 1, 28, 28)
        for k in range(2):
            torch.testing.assert_close(both[:, k], model(pairs[:4], labels[:4, k]).reconstruction)


def test_pair_reconstruction_loss_sums_each_drawing_against_its_own_digit(test_digits):
    _, _, parts = fixed_pairs(test_digits[0][:8], test_digits[1][:8], seed=1)
    drawings = torch.rand_like(parts)
    per_digit = [reconstruction_loss(drawings[:, k], parts[:, k]) for k in range(2)]
    torch.testing.assert_close(reconstruction_loss(drawings, parts), per_digit[0] + per_digit[1])
    assert reconstruction_loss(parts, parts) == 0 < reconstruction_loss(parts.flip(1), parts)


def test_pair_loss_has_finite_gradients(model, test_digits):
    pairs, labels, parts = fixed_pairs(test_digits[0][:8], test_digits[1][:8], seed=1)
    out = model(pairs, labels)
    capsule_loss(out.lengths, labels, out.reconstruction, parts).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_a_single_digit_among_pairs_is_framed_alone_and_named_twice(test_digits):
    images, labels = test_digits
    index = torch.arange(6)
    alone = torch.tensor([True, False] * 3)
    generator = torch.Generator().manual_seed(0)
    x, y, parts = make_pairs(images, labels, index, partners(labels[index], labels, generator), generator, alone)
    assert (y[alone, 0] == labels[index][alone]).all() and (y[alone, 0] == y[alone, 1]).all()
    assert (y[~alone, 0] != y[~alone, 1]).all()
    torch.testing.assert_close(parts[alone, 0], parts[alone, 1])  # its own drawing is both targets
    torch.testing.assert_close(x[alone], parts[alone, 0])  # nothing but that digit in the input
    assert margin_loss(torch.tensor([[0.1] * 7 + [0.9] + [0.1] * 2]), torch.tensor([[7, 7]])) == 0


def test_recognised_wants_a_single_digit_named_twice_to_be_the_longest_capsule():
    lengths = torch.tensor([[0.9, 0.8, 0.1] + [0.0] * 7])
    assert recognised(lengths, torch.tensor([[0, 0]])).tolist() == [True]
    assert recognised(lengths, torch.tensor([[1, 1]])).tolist() == [False]
