"""The PrimaryCapsules speed trick computes what nn.Conv2d computes, values and gradients."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from capsnet.fast_conv import PATCH_CHUNK, Conv2dAsMatmul, patches_conv2d, patches_input_grad

# more images than one chunk of patches, with a partial last chunk; few channels to stay fast
BATCH, IN, OUT, SIZE, KERNEL = PATCH_CHUNK + 3, 6, 10, 20, 9


def conv_pair(stride: int, channels_last: bool = True) -> tuple[Conv2dAsMatmul, nn.Conv2d]:
    torch.manual_seed(stride)
    fast = Conv2dAsMatmul(IN, OUT, KERNEL, stride)
    plain = nn.Conv2d(IN, OUT, KERNEL, stride)
    plain.load_state_dict(fast.state_dict())
    if channels_last:
        fast, plain = fast.to(memory_format=torch.channels_last), plain.to(memory_format=torch.channels_last)
    return fast, plain


def output_and_grads(conv: nn.Conv2d, x: torch.Tensor, grad_out_seed: int = 0):
    x = x.clone().requires_grad_()
    out = conv(x)
    grad_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(grad_out_seed)).to(out.dtype)
    out.backward(grad_out)
    grads = (x.grad, conv.weight.grad, conv.bias.grad)
    conv.zero_grad(set_to_none=True)
    return out, grads


def assert_close_at_scale(actual: torch.Tensor, expected: torch.Tensor, tolerance: float) -> None:
    """Equal up to tolerance times the largest value: sums of thousands of products differ in their last bits."""
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance * expected.abs().max().item())


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("channels_last", [True, False])
def test_values_and_gradients_equal_nn_conv2d(stride, channels_last):
    fast, plain = conv_pair(stride, channels_last)
    x = torch.rand(BATCH, IN, SIZE, SIZE)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    out_fast, grads_fast = output_and_grads(fast, x)
    out_plain, grads_plain = output_and_grads(plain, x)
    torch.testing.assert_close(out_fast, out_plain)
    for fast_grad, plain_grad in zip(grads_fast, grads_plain):
        assert_close_at_scale(fast_grad, plain_grad, 1e-5)


def test_weight_gradient_keeps_the_weight_memory_layout():
    fast, _ = conv_pair(stride=2)
    _, (_, grad_weight, _) = output_and_grads(fast, torch.rand(2, IN, SIZE, SIZE).to(memory_format=torch.channels_last))
    assert grad_weight.stride() == fast.weight.stride()


def test_under_bf16_autocast_it_matches_autocast_nn_conv2d():
    fast, plain = conv_pair(stride=2)
    x = torch.rand(BATCH, IN, SIZE, SIZE).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_fast, grads_fast = output_and_grads(fast, x)
        out_plain, grads_plain = output_and_grads(plain, x)
    assert out_fast.dtype == torch.bfloat16
    torch.testing.assert_close(out_fast, out_plain)
    for fast_grad, plain_grad in zip(grads_fast, grads_plain):
        assert fast_grad.dtype == plain_grad.dtype  # fp32 gradients for the fp32 parameters
        assert_close_at_scale(fast_grad, plain_grad, 2e-2)  # bf16 keeps 8 bits of mantissa


def test_without_gradients_it_is_the_plain_convolution():
    fast, plain = conv_pair(stride=2)
    x = torch.rand(3, IN, SIZE, SIZE)
    with torch.inference_mode():
        assert torch.equal(fast(x), plain(x))


@pytest.mark.parametrize("stride", [1, 2])
def test_convolution_as_a_matmul_over_patches_equals_f_conv2d(stride):
    torch.manual_seed(stride)
    x, weight, bias = torch.rand(BATCH, IN, SIZE, SIZE), torch.randn(OUT, IN, KERNEL, KERNEL), torch.randn(OUT)
    assert_close_at_scale(patches_conv2d(x, weight, bias, stride), F.conv2d(x, weight, bias, stride), 1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_input_gradient_as_a_matmul_over_patches_equals_conv2d_input(stride):
    torch.manual_seed(stride)
    x = torch.rand(BATCH, IN, SIZE, SIZE)
    weight = torch.randn(OUT, IN, KERNEL, KERNEL)
    grad_out = torch.randn(F.conv2d(x, weight, stride=stride).shape)
    expected = torch.nn.grad.conv2d_input(x.shape, weight, grad_out, stride)
    assert_close_at_scale(patches_input_grad(grad_out, weight, x.shape[2:], stride), expected, 1e-5)
