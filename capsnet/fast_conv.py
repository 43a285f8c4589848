"""A speed trick for the PrimaryCapsules convolution: parts of it as matrix products over the input's patches.

The plain layer is nn.Conv2d, and this computes the same thing. oneDNN's
weight-gradient kernel for a 256 -> 256, 9x9, stride-2 convolution on a 20x20
input runs far below the machine's matrix-product speed. Measured on a 2-core
AMD EPYC (fp32, batch 128), it took 950 ms of a 2.5 s training step. The
same gradient written as a product of the output gradient with the input's
patches (im2col) takes 540 ms. In bf16 on a CPU with AMX the forward pass
gains too: the patches times the weight took 121 ms, oneDNN's convolution
197 ms (2 cores of a Xeon). The input gradient stays oneDNN's: as a matmul
and a fold it was slower in both.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

# Images whose patches are gathered at once: 48 MB of fp32 patches, not 382 MB for a batch of 128.
PATCH_CHUNK = 16


class Conv2dAsMatmul(nn.Conv2d):
    """nn.Conv2d (no padding, dilation or groups) whose weight gradient on the CPU is patches_weight_grad,
    and whose forward pass there is patches_conv2d in bf16.

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
            return _Conv2dAsMatmul.apply(x, weight, bias, self.stride[0])


def patches(x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
    """im2col: x (b, H, W, C) -> every kxk patch a convolution sees, as rows (b*h*w, k*k*C) in (kh, kw, C) order."""
    window = x.unfold(1, kernel_size, stride).unfold(2, kernel_size, stride)  # (b, h, w, C, k, k), a view
    return window.permute(0, 1, 2, 4, 5, 3).flatten(3).flatten(0, 2)  # a copy


def patches_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int) -> torch.Tensor:
    """F.conv2d(x, weight, bias, stride) as one matmul per chunk of images: their patches times the weight.

    x (B, C, H, W) -> (B, O, h, w) in channels_last memory.
    """
    batch, _, height, width = x.shape
    out_channels, kernel_size = weight.shape[0], weight.shape[-1]
    x = x.permute(0, 2, 3, 1)  # (B, H, W, C)
    weight = weight.permute(0, 2, 3, 1).flatten(1)  # (O, k*k*C), the patches' column order
    rows = torch.cat([torch.addmm(bias, patches(x[start : start + PATCH_CHUNK], kernel_size, stride), weight.t())
                      for start in range(0, batch, PATCH_CHUNK)])  # (B*h*w, O)
    out_height, out_width = (height - kernel_size) // stride + 1, (width - kernel_size) // stride + 1
    return rows.view(batch, out_height, out_width, out_channels).permute(0, 3, 1, 2)


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
        chunk = slice(start, start + PATCH_CHUNK)
        grad += grad_out[chunk].flatten(0, 2).t() @ patches(x[chunk], kernel_size, stride)
    # columns are (kh, kw, C): the weight's channels_last memory order, which autograd then keeps
    return grad.to(x.dtype).view(out_channels, kernel_size, kernel_size, in_channels).permute(0, 3, 1, 2)


class _Conv2dAsMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride):
        ctx.save_for_backward(x, weight)
        ctx.stride = stride
        # only bf16 gains from the matmul (measured in the module docstring); fp32 stays oneDNN's
        if x.dtype == torch.bfloat16:
            return patches_conv2d(x, weight, bias, stride)
        return F.conv2d(x, weight, bias, stride)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias, _ = ctx.needs_input_grad
        grad_x = torch.nn.grad.conv2d_input(x.shape, weight, grad_out, ctx.stride) if needs_x else None
        grad_weight = patches_weight_grad(x, grad_out, weight.shape[-1], ctx.stride) if needs_weight else None
        grad_bias = grad_out.sum((0, 2, 3)) if needs_bias else None
        return grad_x, grad_weight, grad_bias, None
