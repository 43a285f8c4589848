import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from capsnet import CNN, CapsNet
from capsnet.transforms import RANGES, SWEEPS, change_matrix, clamp_change, sweep, warp


def blots() -> torch.Tensor:
    """Four smooth blots of ink, like pen strokes, well inside the frame so that no change cuts them off."""
    generator = torch.Generator().manual_seed(0)
    centres = 9 + 10 * torch.rand(4, 3, 2, generator=generator)  # three blots per image, (row, col)
    grid = torch.stack(torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij"), -1)  # (28, 28, 2)
    distance2 = ((grid[None, None] - centres[:, :, None, None]) ** 2).sum(-1)  # (4, 3, 28, 28)
    return torch.exp(-distance2 / 8).amax(dim=1, keepdim=True)  # (4, 1, 28, 28)


@pytest.fixture
def digits() -> torch.Tensor:
    return blots()


def warp_with_affine_grid(x: torch.Tensor, rotate: float, scale: float, shear: float, shift: tuple) -> torch.Tensor:
    """warp as it was written before it was exported to ONNX: with torch's own inverse and affine_grid."""
    inverse = torch.linalg.inv(change_matrix(rotate, scale, scale, shear)).expand(len(x), 2, 2)  # (B, 2, 2)
    offset = -inverse @ (2 * torch.tensor(shift, dtype=torch.float64) / 28).view(2, 1)  # (B, 2, 1)
    grid = F.affine_grid(torch.cat([inverse, offset], dim=2), list(x.shape), align_corners=False)
    return F.grid_sample(x.double(), grid, mode="bilinear", padding_mode="zeros", align_corners=False).to(x.dtype)


def test_no_change_gives_the_input_back(digits):
    torch.testing.assert_close(warp(digits), digits, rtol=0, atol=1e-6)


def test_turning_by_a_then_minus_a_gives_the_digit_back(digits):
    turned = warp(digits, rotate=25)
    back = warp(turned, rotate=-25)
    # bilinear sampling twice blurs a little, and only a little next to what the turn changed
    assert (back - digits).abs().mean() < (turned - digits).abs().mean() / 5


def test_a_quarter_turn_is_counter_clockwise_on_screen():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 2:6, 13:15] = 1  # a bar above the centre
    turned = warp(x, rotate=90)[0, 0]
    rows, cols = turned.nonzero().T.float()
    assert cols.mean() < 8 and 12 <= rows.mean() <= 15  # now left of the centre


def test_a_whole_pixel_shift_moves_the_digit_exactly(digits):
    moved = warp(digits, shift=(3, -2))
    torch.testing.assert_close(moved[..., 6:26, 3:25], digits[..., 8:28, 0:22], rtol=0, atol=1e-6)


def in_range(name: str) -> st.SearchStrategy[float]:
    return st.floats(*RANGES[name])


@settings(max_examples=100, deadline=None)
@given(rotate=in_range("rotate"), scale=in_range("scale"), shear=in_range("shear"),
       shift=st.tuples(in_range("shift"), in_range("shift")))
def test_warp_samples_where_torchs_affine_grid_does(rotate, scale, shear, shift):
    x = blots()
    # Both sample in float64: their float32 pixels differ by a rounding at most (6e-8 near 1).
    torch.testing.assert_close(warp(x, rotate, scale, shear, shift),
                               warp_with_affine_grid(x, rotate, scale, shear, shift), rtol=0, atol=1e-7)


def test_changes_compose_like_their_matrices():
    both = change_matrix(rotate=30, scale_x=1.2, scale_y=1.2, shear=0.2)
    expected = change_matrix(rotate=30) @ change_matrix(shear=0.2) @ change_matrix(scale_x=1.2, scale_y=1.2)
    torch.testing.assert_close(both, expected)


def test_one_change_per_image_equals_each_image_changed_alone(digits):
    angles = torch.tensor([-40.0, 0.0, 15.0, 60.0])
    batch = warp(digits, rotate=angles, scale=torch.tensor([0.6, 1.0, 1.3, 0.9]))
    for k, (angle, scale) in enumerate(zip([-40, 0, 15, 60], [0.6, 1.0, 1.3, 0.9])):
        torch.testing.assert_close(batch[k : k + 1], warp(digits[k : k + 1], rotate=angle, scale=scale))


@pytest.mark.parametrize("given, expected", [
    ({"rotate": 200}, {"rotate": 60.0}),
    ({"rotate": -1e9}, {"rotate": -60.0}),
    ({"scale": 0.1}, {"scale": 0.5}),
    ({"scale": math.inf}, {"scale": 1.0}),
    ({"shear": math.nan}, {"shear": 0.0}),
    ({"rotate": "12.5"}, {"rotate": 12.5}),
    ({"rotate": None, "scale": "big"}, {"rotate": 0.0, "scale": 1.0}),
    ({"shift": (9, -9)}, {"shift": (6.0, -6.0)}),
    ({"shift": (math.nan, 2)}, {"shift": (0.0, 2.0)}),
    ({"shift": 5}, {"shift": (0.0, 0.0)}),
], ids=["too far", "far negative", "too small", "infinite", "nan", "text number", "none and text", "shift",
        "nan shift", "shift not a pair"])
def test_clamp_change_keeps_values_in_range_and_ignores_non_numbers(given, expected):
    assert clamp_change(**given) == {"rotate": 0.0, "scale": 1.0, "shear": 0.0, "shift": (0.0, 0.0)} | expected


def test_every_clamped_value_is_inside_its_documented_range():
    clamped = clamp_change(rotate=1e6, scale=-4, shear=7, shift=(-50, 50))
    for name in ("rotate", "scale", "shear"):
        assert RANGES[name][0] <= clamped[name] <= RANGES[name][1]
    assert all(RANGES["shift"][0] <= v <= RANGES["shift"][1] for v in clamped["shift"])


def test_sweep_covers_minus_60_to_60_degrees_in_5_degree_steps():
    assert SWEEPS["rotate"].tolist() == list(range(-60, 61, 5))
    assert SWEEPS["scale"][0] == 0.5 and SWEEPS["scale"][-1] == 1.5


@pytest.mark.parametrize("axis", ["rotate", "scale"])
def test_capsnet_sweep_batch_equals_single_calls(digits, axis):
    torch.manual_seed(0)
    model = CapsNet().eval()
    amounts, out = sweep(model, digits[:1], axis)
    assert out.lengths.shape == (len(amounts), 10) and out.poses.shape == (len(amounts), 10, 16)
    with torch.inference_mode():
        for k in (0, len(amounts) // 2, len(amounts) - 1):
            alone = model(warp(digits[:1], **{axis: float(amounts[k])}))
            torch.testing.assert_close(out.lengths[k], alone.lengths[0], atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(out.poses[k], alone.poses[0], atol=1e-5, rtol=1e-4)


def test_cnn_sweep_gives_probabilities_equal_to_single_calls(digits):
    torch.manual_seed(0)
    model = CNN().eval()
    amounts, out = sweep(model, digits[:1], "rotate")
    assert out.probabilities.shape == (25, 10)
    with torch.inference_mode():
        alone = model(warp(digits[:1], rotate=float(amounts[3]))).probabilities
    torch.testing.assert_close(out.probabilities[3], alone[0], atol=1e-5, rtol=1e-4)
