"""A speed trick for the PrimaryCapsules convolution: its weight gradient as one matrix product.

The plain layer is nn.Conv2d, and this computes the same thing. oneDNN's
weight-gradient kernel for a 256 -> 256, 9x9, stride-2 convolution on a 20x20
input runs far below the machine's matrix-product speed. Measured on a 2-core
AMD EPYC (fp32, batch 128), it took 950 ms of a 2.5 s training step. The
same gradient written as a product of the output gradient with the input's
patches (im2col) takes 540 ms. The forward pass and the input gradient stay
oneDNN's: a matmul is no faster for them.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

# Images whose patches are gathered at once: 48 MB of fp32 patches, not 382 MB for a batch of 128.
PATCH_CHUNK = 16


class Conv2dMatmulWeightGrad(nn.Conv2d):
    """nn.Conv2d (no padding, dilation or groups) whose weight gradient on the CPU is patches_weight_grad.

    Elsewhere, or with no gradient to compute, it is the plain nn.Conv2d: the gain was measured on CPUs only.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.is_grad_enabled():
            return super().forward(x)
        weight, bias = self.weight, self.bias
        if torch.is_autocast_enabled("cpu"):  # cast as autocast would for F.conv2d, then keep it out of the Function
            dtype = torch.get_autocast_dtype("cpu")
            x, weight, bias = x.to(dtype), weight.to(dtype), bias.to(dtype)
        with torch.autocast("cpu", enabled=False):
            return _Conv2dMatmulWeightGrad.apply(x, weight, bias, self.stride[0])


def patches_weight_grad(x: torch.Tensor, grad_out: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """dL/dW of a convolution: sum over images and positions of grad_out times the input patch there.

    x (B, C, H, W), grad_out (B, O, h, w) -> (O, C, k, k), as a sum of one matmul per chunk of images.
    """
    x = x.permute(0, 2, 3, 1)  # (B, H, W, C): in channels_last memory this is a view
    grad_out = grad_out.permute(0, 2, 3, 1)  # (B, h, w, O)
    out_channels, in_channels = grad_out.shape[-1], x.shape[-1]
    # summed in fp32 over the chunks: under bf16 autocast each chunk's product is bf16
    grad = x.new_zeros(out_channels, kernel_size * kernel_size * in_channels, dtype=torch.float32)
    for start in range(0, x.shape[0], PATCH_CHUNK):
        window = x[start : start + PATCH_CHUNK].unfold(1, kernel_size, stride).unfold(2, kernel_size, stride)
        patches = window.permute(0, 1, 2, 4, 5, 3).flatten(3).flatten(0, 2)  # (b*h*w, k*k*C), a copy
        grad += grad_out[start : start + PATCH_CHUNK].flatten(0, 2).t() @ patches
    # columns are (kh, kw, C): the weight's channels_last memory order, which autograd then keeps
    return grad.to(x.dtype).view(out_channels, kernel_size, kernel_size, in_channels).permute(0, 3, 1, 2)


class _Conv2dMatmulWeightGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride):
        ctx.save_for_backward(x, weight)
        ctx.stride = stride
        return F.conv2d(x, weight, bias, stride)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias, _ = ctx.needs_input_grad
        grad_x = torch.nn.grad.conv2d_input(x.shape, weight, grad_out, ctx.stride) if needs_x else None
        grad_weight = patches_weight_grad(x, grad_out, weight.shape[-1], ctx.stride) if needs_weight else None
        grad_bias = grad_out.sum((0, 2, 3)) if needs_bias else None
        return grad_x, grad_weight, grad_bias, None
