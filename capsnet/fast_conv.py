"""A speed trick for the PrimaryCapsules convolution: parts of it as matrix products over the input's patches.

The plain layer is nn.Conv2d, and this computes the same thing. On a CPU oneDNN runs this 256 -> 256, 9x9,
stride-2 convolution well below matrix-product speed, its gradients most of all, and in bf16 its forward pass
too (figures: docs/speed.md, "The PrimaryCaps convolution as matmuls").
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

# Images whose patches are gathered at once: 48 MB of fp32 patches, not 382 MB for a batch of 128.
PATCH_CHUNK = 16


class Conv2dAsMatmul(nn.Conv2d):
    """nn.Conv2d (no padding, dilation or groups) whose gradients on the CPU are patches_input_grad and
    patches_weight_grad, and whose forward pass there is patches_conv2d in bf16.

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


def patches_input_grad(grad_out: torch.Tensor, weight: torch.Tensor, input_size: tuple[int, int],
                       stride: int) -> torch.Tensor:
    """dL/dx of a convolution: grad_out at each position times the weight is the gradient of the input patch
    seen there (one matmul per chunk of images); fold_patches adds the overlapping patches up.

    grad_out (B, O, h, w), weight (O, C, k, k) -> (B, C, H, W) in channels_last memory.
    """
    batch, _, out_height, out_width = grad_out.shape
    kernel_size, in_channels = weight.shape[-1], weight.shape[1]
    grad_out = grad_out.permute(0, 2, 3, 1)  # (B, h, w, O)
    weight = weight.permute(0, 2, 3, 1).flatten(1)  # (O, k*k*C), the patches' column order
    grad_x = grad_out.new_empty(batch, *input_size, in_channels)  # (B, H, W, C)
    for start in range(0, batch, PATCH_CHUNK):
        chunk = slice(start, start + PATCH_CHUNK)
        patch_grads = grad_out[chunk].flatten(0, 2) @ weight  # (b*h*w, k*k*C)
        grad_x[chunk] = fold_patches(
            patch_grads.view(-1, out_height, out_width, kernel_size, kernel_size, in_channels), input_size, stride)
    return grad_x.permute(0, 3, 1, 2)


def fold_patches(patches: torch.Tensor, size: tuple[int, int], stride: int) -> torch.Tensor:
    """col2im: patches (b, h, w, k, k, C) -> (b, H, W, C), each added where a convolution took it from.

    One strided slice per kernel offset (k*k adds), not F.fold, which wants (b, C*k*k, h*w) and was slower.
    Summed in fp32: under bf16 up to 25 overlapping patches add up at one pixel.
    """
    out_height, out_width, kernel_size = patches.shape[1], patches.shape[2], patches.shape[3]
    x = patches.new_zeros(patches.shape[0], *size, patches.shape[-1], dtype=torch.float32)
    for row in range(kernel_size):
        for col in range(kernel_size):
            x[:, row : row + stride * (out_height - 1) + 1 : stride,
              col : col + stride * (out_width - 1) + 1 : stride] += patches[:, :, :, row, col]
    return x


class _Conv2dAsMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride):
        ctx.save_for_backward(x, weight)
        ctx.stride = stride
        # only bf16 gains from the matmul (docs/speed.md); fp32 stays oneDNN's
        if x.dtype == torch.bfloat16:
            return patches_conv2d(x, weight, bias, stride)
        return F.conv2d(x, weight, bias, stride)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias, _ = ctx.needs_input_grad
        grad_x = patches_input_grad(grad_out, weight, x.shape[2:], ctx.stride) if needs_x else None
        grad_weight = patches_weight_grad(x, grad_out, weight.shape[-1], ctx.stride) if needs_weight else None
        grad_bias = grad_out.sum((0, 2, 3)) if needs_bias else None
        return grad_x, grad_weight, grad_bias, None
