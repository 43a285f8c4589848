"""Turn and stretch (demo/compute/turn_and_stretch.py, Reader.turned): the #transform sliders' values, the turned prediction, the
sweep and its caption, and the pose dimensions' labels, called as the page calls them, without a browser. (A turn
before any input: tests/test_demo_api.py.)"""

import json
import math

import pytest
import torch

from bench.pagedriver.digit_strokes import render
from capsnet import load_model, warp
from capsnet.transforms import NO_CHANGE, SWEEPS, sweep
from demo.compute import explainer, turn_and_stretch
from demo.compute.inputs import slider_values
from demo.compute.pictures import image_url
from demo.compute.readers import Answer, Reader, Result, one_digit

from .test_explainer import unpacked


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def one(model) -> Reader:
    return one_digit("one", model, [])


@pytest.fixture(scope="module")
def seven(one) -> Answer:
    return one.image(render(7))


def values(rotate=0.0, scale=1.0, shear=0.0, shift_x=0.0, shift_y=0.0) -> list:
    return [rotate, scale, shear, shift_x, shift_y]


def turned(one: Reader, result: Result, **change) -> Answer:
    """The page for the tab's input with the #transform sliders at these values, as their event makes it."""
    return one.turned(result, turn_and_stretch.change(values(**change)))


# ---- the sliders' values ------------------------------------------------------------------------------------------

def test_slider_values_become_warps_arguments():
    assert turn_and_stretch.change(values(30, 0.8, 0.1, 2, -3)) == {"rotate": 30.0, "scale": 0.8, "shear": 0.1,
                                                            "shift": (2.0, -3.0)}


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "x", [1]])
def test_a_value_that_is_no_number_is_left_at_no_change(bad):
    assert turn_and_stretch.change(values(rotate=bad, scale=bad)) == NO_CHANGE | {"shift": (0.0, 0.0)}


def test_values_out_of_range_are_clamped_to_the_sliders_range():
    change = turn_and_stretch.change(values(1e9, -5, 3, -100, 100))
    assert change == {"rotate": 60.0, "scale": 0.5, "shear": 0.5, "shift": (-6.0, 6.0)}


@pytest.mark.parametrize("sent", [[], [30], None, "30", {"rotate": 30}])
def test_missing_values_count_as_no_change(sent):
    change = turn_and_stretch.change(sent)
    assert change["scale"] == 1.0 and change["shift"] == (0.0, 0.0)
    assert change["rotate"] == (30.0 if sent == [30] else 0.0)


def test_every_control_starts_at_no_change_within_its_range():
    for control in turn_and_stretch.CONTROLS:
        assert control.low <= control.none <= control.high


# ---- the turned prediction ----------------------------------------------------------------------------------------

def test_no_change_gives_the_prediction_back(one, seven):
    view = turned(one, seven.result)
    torch.testing.assert_close(view.result.lengths, seven.result.lengths, rtol=0, atol=1e-5)
    assert view.digit == seven.digit


def test_a_turn_runs_the_network_on_the_framed_input_turned(model, one, seven):
    view = turned(one, seven.result, rotate=45)
    torch.testing.assert_close(view.result.x, warp(seven.result.x, rotate=45))
    assert view.network_input == image_url(warp(seven.result.x, rotate=45))
    with torch.inference_mode():
        torch.testing.assert_close(view.result.lengths, model(warp(seven.result.x, rotate=45)).lengths[0])


def test_each_turn_starts_from_the_input_as_framed_not_from_the_last_turn(one, seven):
    once = turned(one, seven.result, rotate=30)
    again = turned(one, once.result, rotate=30)
    torch.testing.assert_close(again.result.x, once.result.x)
    assert again.result.framed is seven.result.framed is seven.result.x
    back = turned(one, again.result)
    torch.testing.assert_close(back.result.lengths, seven.result.lengths, rtol=0, atol=1e-5)


def test_the_turned_input_is_what_the_capsule_choice_and_the_views_read(model, one, seven):
    view = turned(one, seven.result, rotate=-20, scale=0.9)
    assert one.select(7, view.result).values == slider_values(view.result.poses[7])
    assert explainer.explain(model, view.result, 7).figure4["digit"] == 7


# ---- the sweep ----------------------------------------------------------------------------------------------------

def test_a_sweep_with_other_changes_held_equals_single_warps(model, seven):
    x = seven.result.x
    amounts, out = sweep(model, x, "rotate", scale=0.8, shift=(1.0, 0.0))
    with torch.inference_mode():
        for k in (0, 12, 24):
            single = model(warp(x, rotate=float(amounts[k]), scale=0.8, shift=(1.0, 0.0))).lengths[0]
            torch.testing.assert_close(out.lengths[k], single, rtol=0, atol=1e-4)


def test_the_sweep_holds_the_sliders_other_changes(model, one, seven):
    result = turned(one, seven.result, rotate=20, scale=0.8).result
    by_turn, by_scale = turn_and_stretch.sweeps(model, None, result, 7)
    assert by_turn.current == 20 and by_scale.current == pytest.approx(0.8)
    at_20 = int((SWEEPS["rotate"] - 20).abs().argmin())
    torch.testing.assert_close(by_turn.lengths[at_20], result.lengths, rtol=0, atol=1e-4)


def synthetic(longest_from: int, longest_to: int, cnn_from: int, cnn_to: int, current: float = 0.0) -> turn_and_stretch.Sweep:
    """A rotation sweep where capsule 7 is longest at amounts[longest_from..longest_to] and capsule 1 elsewhere,
    the CNN's choice is 7 at amounts[cnn_from..cnn_to], and pose dim 3 follows the angle exactly."""
    amounts = SWEEPS["rotate"]
    lengths = torch.full((len(amounts), 10), 0.1)
    lengths[:, 1] = 0.5
    lengths[longest_from : longest_to + 1, 7] = 0.9
    pose = torch.randn(len(amounts), 16, generator=torch.Generator().manual_seed(0)) * 0.01
    pose[:, 3] = amounts / 100
    top = torch.ones(len(amounts), dtype=torch.long)
    top[cnn_from : cnn_to + 1] = 7
    return turn_and_stretch.Sweep("rotate", amounts, lengths, pose, (top == 7).float(), top, 7, current)


def test_the_caption_numbers_say_where_the_capsule_and_the_cnn_keep_the_digit():
    said = synthetic(5, 19, 6, 18).numbers()  # -35..+35 deg and -30..+30 deg
    assert said["kept"] == [-35.0, 35.0] and said["others"] == [1] and said["length_range"] == [0.1, 0.9]
    assert said["cnn_kept"] == [-30.0, 30.0]
    assert said["following"][0] == {"dim": 3, "r": 1.0} and len(said["following"]) == 2


def test_the_caption_numbers_say_which_digit_is_longest_where_the_digit_is_not_at_the_sliders_setting():
    said = synthetic(5, 10, 5, 10, current=40).numbers()
    assert said["kept"] is None and said["longest_now"] == 1
    assert said["cnn_kept"] is None and said["cnn_now"] == 1
    assert said["following"] == []  # nothing to follow where the capsule is not the longest


def test_no_pose_dimension_follows_a_change_over_fewer_than_three_amounts():
    assert synthetic(11, 12, 0, 24, current=0).numbers()["following"] == []


def test_kept_is_the_stretch_around_the_current_value():
    s = synthetic(5, 19, 0, 24, current=12)
    assert s.kept(s.lengths.argmax(dim=1)) == (-35.0, 35.0)
    assert s.kept(s.cnn_top) == (-60.0, 60.0)


def test_the_sweep_view_has_both_axes_numbers_with_the_cnn_beside(model, seven):
    baseline = turn_and_stretch.load_baseline()
    if baseline is None:
        pytest.skip(f"no CNN baseline at {turn_and_stretch.BASELINE}")
    shown = turn_and_stretch.sweep_view(model, baseline, seven.result)
    found = turn_and_stretch.sweeps(model, baseline, seven.result, 7)
    assert shown["digit"] == 7 and shown["baseline"] is True
    assert [axis["axis"] for axis in shown["axes"]] == ["rotate", "scale"]
    for axis, s in zip(shown["axes"], found):
        for name, numbers in (("amounts", SWEEPS[s.axis]), ("cnn", s.cnn)):
            torch.testing.assert_close(torch.tensor(axis[name]), numbers, rtol=0, atol=5e-5)  # 4 decimals
        for name, numbers in (("lengths", s.lengths), ("pose", s.pose)):
            torch.testing.assert_close(torch.from_numpy(unpacked(axis[name]).copy()), numbers)  # float32, packed
        assert axis["cnn_top"] == s.cnn_top.tolist()
        assert axis["kept"] == pytest.approx(list(s.kept(s.lengths.argmax(dim=1))))


def test_without_the_baseline_the_sweep_has_no_cnn_numbers(model, seven):
    shown = turn_and_stretch.sweep_view(model, None, seven.result)
    assert shown["baseline"] is False
    assert all(axis["cnn"] is None and axis["cnn_kept"] is None and axis["cnn_now"] is None for axis in shown["axes"])


def test_before_an_input_the_sweep_waits(model):
    assert "Draw a digit" in turn_and_stretch.sweep_view(model, None, None)["waiting"]


def test_the_sweep_names_and_colours_the_selected_capsules_pose_lines(model, seven):
    names = [[f"capsule {k} dim {j}" for j in range(16)] for k in range(10)]
    shown = turn_and_stretch.sweep_view(model, None, seven.result, 2, names)
    assert shown["digit"] == 2 and shown["names"] == names[2]
    assert shown["colours"] == turn_and_stretch.POSE_COLOURS and len(set(shown["colours"])) == 16
    assert turn_and_stretch.sweep_view(model, None, seven.result)["names"] == [f"dim {j}" for j in range(16)]


# ---- the pose dimensions' labels ----------------------------------------------------------------------------------

def entries(dims: int, strong: dict[int, str]) -> list[dict]:
    return [{"dim": d, "tracks": "shear", "r": 0.6 if d in strong else 0.1, "label": strong.get(d)} for d in range(dims)]


def measured(dims: int, strong: dict[int, str], by_digit: dict[int, dict[int, str]] | None = None) -> dict:
    return {"dimensions": entries(dims, strong),
            "by_digit": {str(k): entries(dims, by_digit.get(k, {})) for k in range(10)} if by_digit else {},
            "correlations": {"rotation": [0.0] * dims, "shear": [0.6 if d in strong else 0.1 for d in range(dims)]}}


def test_the_dimensions_table_is_read_from_the_model_folder(tmp_path):
    (tmp_path / "pose-dimensions.json").write_text(json.dumps(measured(16, {4: "slant"})))
    shown = turn_and_stretch.dimensions(turn_and_stretch.dimension_labels(tmp_path, 16))
    assert shown["changes"] == ["rotation", "shear"] and shown["dims"] == list(range(16))
    assert shown["r"][4] == [0.0, 0.6] and shown["r"][0] == [0.0, 0.1]
    assert shown["labels"][4] == "slant" and shown["labels"][0] is None
    assert shown["colours"][4] == [turn_and_stretch.r_colour(0.0), turn_and_stretch.r_colour(0.6)]


@pytest.mark.parametrize("r, rgb", [(0.0, [255, 255, 255]), (1.0, [255, 64, 64]), (-1.0, [64, 64, 255]),
                                    (0.5, [255, 159, 159]), (-2.0, [64, 64, 255])])
def test_a_correlation_is_white_at_0_red_towards_plus_1_and_blue_towards_minus_1(r, rgb):
    assert turn_and_stretch.r_colour(r) == rgb


def test_each_capsules_dimensions_are_named_by_what_they_track_in_that_capsule(tmp_path):
    (tmp_path / "pose-dimensions.json").write_text(json.dumps(measured(16, {}, {3: {2: "turn"}, 7: {2: "size"}})))
    names = turn_and_stretch.capsule_names(tmp_path, 16, 10)
    assert names[3][2] == "dim 2 - turn" and names[7][2] == "dim 2 - size" and names[0][2] == "dim 2"
    assert [len(row) for row in names] == [16] * 10


@pytest.mark.parametrize("contents", ["not json", json.dumps(measured(8, {})), json.dumps({"dimensions": []})])
def test_a_labels_file_for_another_pose_size_or_unreadable_is_not_used(tmp_path, contents):
    (tmp_path / "pose-dimensions.json").write_text(contents)
    assert turn_and_stretch.dimension_labels(tmp_path, 16) is None
    assert turn_and_stretch.capsule_names(tmp_path, 16, 10)[4] == [f"dim {j}" for j in range(16)]
    assert "python -m bench.pose_dimensions --checkpoint PATH" in turn_and_stretch.dimensions(None)["waiting"]

