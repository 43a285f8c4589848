import pytest
import torch

from capsnet import CapsNet, CapsNetConfig, capsule_loss


@pytest.mark.parametrize("batch", [1, 7])
def test_output_shapes(model, batch):
    out = model(torch.rand(batch, 1, 28, 28))
    assert out.lengths.shape == (batch, 10)
    assert out.poses.shape == (batch, 10, 16)
    assert out.reconstruction.shape == (batch, 1, 28, 28)
    assert out.coupling.shape == (batch, 1152, 10)


def test_parameter_count_matches_the_paper():
    model = CapsNet()
    total = sum(p.numel() for p in model.parameters())
    decoder = sum(p.numel() for p in model.decoder.parameters())
    # conv1 20,992 + PrimaryCaps 5,308,672 + W 1,474,560; decoder 1,411,344
    assert total - decoder == 6_804_224
    assert total == 8_215_568


def test_primary_capsules_group_eight_channels_of_one_position():
    model = CapsNet()
    h = torch.zeros(1, 256, 20, 20)
    conv = model.primary_capsules.conv
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.bias[8:16] = 1.0  # capsule type 1, all 8 dims, at every grid position
    u = model.primary_capsules(h)  # (1, 1152, 8)
    lengths = u.norm(dim=-1).view(32, 6, 6)
    assert (lengths[1] > 0.5).all()
    assert (lengths[torch.arange(32) != 1] == 0).all()


def test_lengths_are_between_zero_and_one(model):
    lengths = model(torch.rand(5, 1, 28, 28)).lengths
    assert ((lengths > 0) & (lengths < 1)).all()


def test_reconstruction_uses_the_given_labels(model):
    x = torch.rand(3, 1, 28, 28)
    labels = torch.tensor([4, 4, 4])
    out = model(x, labels)
    expected = model.decode(out.poses[torch.arange(3), labels], labels)
    assert torch.allclose(out.reconstruction, expected)


def test_reconstruction_uses_the_longest_capsule_without_labels(model):
    out = model(torch.rand(3, 1, 28, 28))
    winner = out.lengths.argmax(dim=1)
    expected = model.decode(out.poses[torch.arange(3), winner], winner)
    assert torch.allclose(out.reconstruction, expected)


def test_decode_depends_only_on_the_chosen_capsule(model):
    pose = torch.randn(2, 16) * 0.3
    digit = torch.tensor([2, 7])
    image = model.decode(pose, digit)
    assert image.shape == (2, 1, 28, 28)
    assert not torch.allclose(image[0], model.decode(pose[:1], torch.tensor([3]))[0])


def test_zero_input_gives_finite_outputs_and_gradients(model):
    x = torch.zeros(1, 1, 28, 28)
    out = model(x, torch.tensor([0]))
    capsule_loss(out.lengths, torch.tensor([0]), out.reconstruction, x).backward()
    assert torch.isfinite(out.lengths).all() and torch.isfinite(out.poses).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_gradients_reach_every_parameter(model):
    x, y = torch.rand(2, 1, 28, 28), torch.tensor([1, 8])
    out = model(x, y)
    capsule_loss(out.lengths, y, out.reconstruction, x).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_bf16_autocast_stays_close_to_fp32(model):
    x = torch.rand(4, 1, 28, 28)
    with torch.inference_mode():
        fp32 = model(x).lengths
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(x).lengths
    assert bf16.dtype == torch.float32
    assert (bf16 - fp32).abs().max() < 0.01


def test_routing_iterations_are_configurable():
    model = CapsNet(CapsNetConfig(routing_iterations=1))
    assert model.digit_capsules.iterations == 1
    assert torch.isfinite(model(torch.rand(2, 1, 28, 28)).lengths).all()
