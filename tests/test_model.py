import pytest
import torch

from capsnet import CapsNet, CapsNetConfig, CapsNetTrace, capsule_loss


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


@pytest.mark.parametrize("iterations", [1, 3, 8])
def test_trace_shapes(model, iterations):
    trace = model.trace(torch.rand(2, 1, 28, 28), iterations=iterations)
    assert isinstance(trace, CapsNetTrace)
    assert trace.primary.shape == (2, 1152, 8)
    assert trace.predictions.shape == (2, 1152, 10, 16)
    assert trace.coupling.shape == (iterations, 2, 1152, 10)
    assert trace.poses.shape == (iterations, 2, 10, 16)
    assert trace.lengths.shape == (iterations, 2, 10)


def test_trace_last_iteration_equals_the_forward_pass(model):
    x = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        out, trace = model(x), model.trace(x)
    assert trace.coupling.shape[0] == model.config.routing_iterations
    assert torch.equal(trace.poses[-1], out.poses)
    assert torch.equal(trace.lengths[-1], out.lengths)
    assert torch.equal(trace.coupling[-1], out.coupling)


def test_route_from_the_forward_pass_primary_capsules_equals_trace(model):
    x = torch.rand(2, 1, 28, 28)
    with torch.inference_mode():
        out, trace, routed = model(x), model.trace(x, iterations=4), model.route(model(x).primary, iterations=4)
    assert torch.equal(out.primary, trace.primary)
    assert torch.equal(routed.coupling, trace.coupling)
    assert torch.equal(routed.poses, trace.poses)


def test_trace_coupling_sums_to_one_over_the_ten_digits_in_every_iteration(model):
    trace = model.trace(torch.rand(2, 1, 28, 28), iterations=4)
    assert torch.allclose(trace.coupling.sum(dim=3), torch.ones(4, 2, 1152), atol=1e-6)


def test_trace_first_iteration_couples_uniformly(model):
    trace = model.trace(torch.rand(2, 1, 28, 28), iterations=1)
    assert torch.equal(trace.coupling, torch.full_like(trace.coupling, 0.1))


def test_trace_iterations_change_routing_on_the_same_weights(model):
    x = torch.rand(1, 1, 28, 28)
    two, five = model.trace(x, iterations=2), model.trace(x, iterations=5)
    assert torch.equal(five.coupling[:2], two.coupling)  # same first two iterations
    assert not torch.equal(five.coupling[4], five.coupling[1])


def test_trace_primary_capsules_feed_the_predictions(model):
    trace = model.trace(torch.rand(1, 1, 28, 28))
    expected = torch.einsum("jdk,k->jd", model.digit_capsules.W[5], trace.primary[0, 5])  # W_5j u_5
    assert torch.allclose(trace.predictions[0, 5], expected, atol=1e-6)


@pytest.mark.parametrize("iterations", [0, -1, 2.0, True, "3"])
def test_trace_refuses_iterations_that_are_not_a_whole_number_from_1(model, iterations):
    with pytest.raises(ValueError, match="whole number of at least 1") as error:
        model.trace(torch.rand(1, 1, 28, 28), iterations=iterations)
    assert "\n" not in str(error.value)


def test_only_convolution_weights_are_channels_last():
    model = CapsNet()
    for conv in (model.conv1, model.primary_capsules.conv):
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert model.digit_capsules.W.is_contiguous()  # so that its (1152, 8, 160) matrices are a view, not a copy
