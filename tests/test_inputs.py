"""Values from the page or the API (demo/compute/inputs.py): a capsule's number and the pose sliders' values."""

import pytest
import torch

from demo.compute.inputs import POSE_RANGE, slider_values, whole_number

POSE_DIMS = 16  # the shipped model's


def test_slider_values_stay_in_the_sliders_range():
    low, high = POSE_RANGE
    values = slider_values(torch.linspace(-5, 5, POSE_DIMS))
    assert min(values) == low and max(values) == high


@pytest.mark.parametrize("digit", [3, "3", 3.0])
def test_a_capsule_number_may_come_as_text_or_a_whole_float(digit):
    assert whole_number(digit, range(10)) == 3
