"""Controlled changes of the network's 28x28 input: turn, stretch, shear and move a digit, and sweeps over them.

A capsule's length should hold when a digit is turned or stretched a little (the digit is still there)
while its pose moves with the change (equivariance). These warps let a reader, a test or a benchmark
change the input by a known amount and watch both.

    x2 = warp(x, rotate=30, scale=0.8)                  # (B, 1, 28, 28) -> (B, 1, 28, 28)
    x2 = warp(x, **clamp_change(rotate=page_value))     # a value from a slider: clamped, NaN ignored
    angles, out = sweep(model, x, "rotate")             # one batch over -60..60 deg in 5 deg steps
"""

import math

import torch
import torch.nn.functional as F

IMAGE_SIZE = 28
# What clamp_change allows: enough to break either model, small enough to stay a digit in the frame.
RANGES = {"rotate": (-60.0, 60.0), "scale": (0.5, 1.5), "shear": (-0.5, 0.5), "shift": (-6.0, 6.0)}
NO_CHANGE = {"rotate": 0.0, "scale": 1.0, "shear": 0.0, "shift": (0.0, 0.0)}
SWEEPS = {  # the amounts of one sweep batch along each axis
    "rotate": torch.arange(-60.0, 61.0, 5.0),  # 25 angles in degrees
    "scale": torch.linspace(0.5, 1.5, 21),  # 21 factors, 0.05 apart
}


def _clamped(value, low: float, high: float, default: float) -> float:
    """value as a float within [low, high]; default when it is not a finite number."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high) if math.isfinite(value) else default


def clamp_change(rotate=0.0, scale=1.0, shear=0.0, shift=(0.0, 0.0)) -> dict:
    """warp's arguments from untrusted values (a page's sliders): each within RANGES, and anything that is
    not a finite number (NaN, None, text) left at no change."""
    try:
        shift_x, shift_y = shift
    except (TypeError, ValueError):
        shift_x = shift_y = 0.0
    changes = {"rotate": rotate, "scale": scale, "shear": shear}
    clamped = {name: _clamped(value, *RANGES[name], NO_CHANGE[name]) for name, value in changes.items()}
    return clamped | {"shift": tuple(_clamped(v, *RANGES["shift"], 0.0) for v in (shift_x, shift_y))}


def float64(value) -> torch.Tensor:
    """A number, a sequence of numbers or a tensor as a float64 tensor; a tensor's dtype is converted (an operation
    the ONNX export records, where torch.as_tensor of a tensor would be taken for a constant)."""
    return value.double() if isinstance(value, torch.Tensor) else torch.tensor(value, dtype=torch.float64)


def change_matrix(rotate=0.0, scale_x=1.0, scale_y=1.0, shear=0.0) -> torch.Tensor:
    """The linear part of a change, rotation @ shear @ scale, in image coordinates (x right, y down)
    -> (..., 2, 2), one matrix per element of the (broadcast) arguments.

    rotate: degrees, counter-clockwise as seen on screen. scale_x, scale_y: horizontal and vertical
    factors. shear: the top leans right by this much per unit of height, like italics.
    """
    angle = float64(rotate) * (math.pi / 180)  # as torch.deg2rad, which does not export to ONNX
    values = [angle, float64(scale_x), float64(scale_y), float64(shear)]
    shape = sum(values).shape  # their broadcast shape (torch.broadcast_tensors would export to ONNX in float32)
    angle, scale_x, scale_y, shear = (value.expand(shape) for value in values)
    cos, sin, zero, one = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle), torch.ones_like(angle)

    def matrix(a, b, c, d):  # [[a, b], [c, d]]
        return torch.stack([a, b, c, d], dim=-1).unflatten(-1, (2, 2))

    turn = matrix(cos, sin, -sin, cos)  # with y down, this turns counter-clockwise on screen
    lean = matrix(one, -shear, zero, one)
    stretch = matrix(scale_x, zero, zero, scale_y)
    return turn @ lean @ stretch


def inverse_2x2(matrix: torch.Tensor) -> torch.Tensor:
    """The inverse of each matrix (..., 2, 2): its adjugate over its determinant (what torch.linalg.inv gives,
    written out so that it exports to ONNX, which has no inverse)."""
    a, b, c, d = matrix.flatten(-2).unbind(-1)
    adjugate = torch.stack([d, -b, -c, a], dim=-1).unflatten(-1, (2, 2))
    return adjugate / (a * d - b * c)[..., None, None]


def pixel_centres(height: int, width: int) -> torch.Tensor:
    """Each pixel's centre (x, y, 1) in coordinates of -1..1 (align_corners=False), row by row -> (H, W, 3)."""
    # counted in integers: the ONNX export of a float64 arange counts in float32
    x = (2 * torch.arange(width).double() + 1) / width - 1  # (W,)
    y = (2 * torch.arange(height).double() + 1) / height - 1  # (H,)
    return torch.stack([x.expand(height, width), y[:, None].expand(height, width),
                        torch.ones(height, width, dtype=torch.float64)], dim=-1)


def affine(x: torch.Tensor, matrix: torch.Tensor, shift: torch.Tensor | tuple = (0.0, 0.0)) -> torch.Tensor:
    """x (B, 1, H, W) with each pixel p moved to matrix @ p + shift about the image centre, bilinear, zeros
    outside. matrix (2, 2) or (B, 2, 2); shift (dx, dy) in pixels (right, down), (2,) or (B, 2)."""
    batch, _, height, width = x.shape
    matrix = float64(matrix).expand(batch, 2, 2)
    shift = float64(shift).expand(batch, 2)
    # affine_grid asks where each output pixel comes from: the inverse change, in coordinates of -1..1.
    inverse = inverse_2x2(matrix)  # (B, 2, 2)
    step = torch.stack([2 * shift[:, 0] / width, 2 * shift[:, 1] / height], dim=-1)  # in coordinates of -1..1
    offset = -inverse @ step.unsqueeze(-1)  # (B, 2, 1)
    theta = torch.cat([inverse, offset], dim=2)  # (B, 2, 3)
    # F.affine_grid's sampling grid, as a matmul: affine_grid exports to ONNX only from opset 20, with warnings.
    # In float64 no change is the identity to 1e-15 (float32's sampling grid is off by 1e-6 of a pixel).
    grid = pixel_centres(height, width) @ theta.transpose(1, 2).unsqueeze(1)  # (B, H, W, 2)
    return F.grid_sample(x.double(), grid, mode="bilinear", padding_mode="zeros", align_corners=False).to(x.dtype)


def warp(x: torch.Tensor, rotate=0.0, scale=1.0, shear=0.0, shift=(0.0, 0.0)) -> torch.Tensor:
    """x (B, 1, 28, 28) turned by rotate degrees, scaled, sheared about its centre and moved by shift
    (dx, dy) pixels -> (B, 1, 28, 28). Each change is a number, or a (B,) tensor (shift: (B, 2)), one per
    image. No change gives x back (within 1e-6). Values are used as given: clamp_change bounds them."""
    return affine(x, change_matrix(rotate, scale, scale, shear), shift)


@torch.inference_mode()
def sweep(model, image: torch.Tensor, axis: str = "rotate", **held):
    """One batch of image (1, 1, 28, 28) changed along axis ("rotate" or "scale") by each of SWEEPS[axis]
    -> (amounts (K,), the model's output for the K images): a CapsNetOutput (lengths (K, 10), poses
    (K, 10, 16)) for a CapsNet, a CNNOutput (probabilities (K, 10)) for the CNN.

    held: warp's other changes, the same for every image (the page sweeps the turn at its sliders' scale)."""
    amounts = SWEEPS[axis]
    images = warp(image.expand(len(amounts), -1, -1, -1), **held, **{axis: amounts})  # (K, 1, 28, 28)
    return amounts, model(images)
