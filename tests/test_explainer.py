"""The explainer views, uploads (Reader.file), examples and /classify, called as the page calls them, without a
browser."""

import base64
import io
import re
import zlib
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from PIL import Image

from bench.pagedriver.digit_strokes import render
from capsnet import ImageError, figures, load_model, preprocess
from demo.compute import explainer, readers
from demo.compute.pictures import colour_scale, gray
from demo.app import EXAMPLES
from demo.compute.readers import load_examples, one_digit

PNG_TOLERANCE = 1 / 255  # pictures are 8-bit PNGs


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def one(model):
    return one_digit("one", model, [])


@pytest.fixture(scope="module")
def three(one):
    """The Result of a drawn 3, as the prediction leaves it in the tab's state."""
    return one.image(render(3)).result


@pytest.fixture(autouse=True)
def no_autograd():
    with torch.inference_mode():  # as the page runs the model
        yield


def pictures(html: str, css_class: str) -> list[np.ndarray]:
    """The images of that class in a view, as uint8 arrays."""
    urls = re.findall(rf'<img class="{css_class}" src="data:image/png;base64,([^"]+)"', html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(url)))) for url in urls]


def unpacked(value: dict) -> np.ndarray:
    """A view's packed array as the page unpacks it (pixels.js): numbers (pictures.packed_numbers) as float32,
    pixels (pictures.packed) as uint8."""
    if "float32" in value:
        return np.frombuffer(base64.b64decode(value["float32"]), "<f4").reshape(value["shape"])
    return np.frombuffer(zlib.decompress(base64.b64decode(value["deflated"])), np.uint8).reshape(value["shape"])


def saved(tmp_path, image: Image.Image, name: str, **options) -> str:
    path = tmp_path / name
    image.save(path, **options)
    return str(path)


# ---- #routing ---------------------------------------------------------------------------------------------------

def test_routing_coupling_is_exactly_one_tenth_at_iteration_one_then_follows_the_trace(model, three):
    routing = explainer.explain(model, three).routing
    trace = model.trace(three.x)
    coupling = unpacked(routing["coupling"])  # (iterations, types, grid, grid)
    assert coupling.shape == (3, 32, 6, 6)
    assert (coupling[0] == np.float32(0.1)).all() and not (coupling[-1] == np.float32(0.1)).all()
    assert coupling == pytest.approx(figures.coupling_mosaic(trace, 3).numpy(), abs=1e-6)  # float32, not rounded
    assert routing["coupling_scale"]["low"] == 0.05 and routing["coupling_scale"]["high"] == 0.2


def test_vote_maps_sum_to_the_vote_shares(model, three):
    routing = explainer.explain(model, three).routing
    votes, shares = unpacked(routing["votes"]), routing["shares"]
    assert votes.shape == (3, 28, 28)
    assert shares == pytest.approx(figures.vote_shares(model.trace(three.x), 3).tolist(), abs=5e-5)
    assert votes.sum((1, 2)) == pytest.approx(shares, abs=1e-4)
    assert routing["vote_scale"]["high"] == pytest.approx(votes.max(), abs=1e-7)  # one scale for every iteration


def test_routing_sends_the_input_for_the_votes_to_be_seen_over_it(model, three):
    assert np.array_equal(unpacked(explainer.explain(model, three).routing["input"]), gray(three.x))


@pytest.mark.parametrize("iterations", [1, 2, 5])
def test_routing_reruns_with_the_chosen_iterations(model, three, iterations):
    routing = explainer.explain(model, three, iterations=iterations).routing
    lengths = model.route(three.primary, iterations).lengths[:, 0]
    assert routing["coupling"]["shape"][0] == routing["votes"]["shape"][0] == len(routing["shares"]) == iterations
    assert np.array(routing["lengths"]) == pytest.approx(lengths.numpy(), abs=5e-5)


def test_other_views_keep_the_models_own_three_iterations(model, three):
    assert explainer.explain(model, three, iterations=5).all_capsules == explainer.explain(model, three).all_capsules


def test_routing_sends_what_its_caption_says_routing_did(model, three):
    trace = model.trace(three.x)
    routing = explainer.explain(model, three).routing
    last = trace.coupling[-1, 0, :, 3]  # every primary capsule's coupling to 3 in the last iteration
    assert routing["last_coupling"] == pytest.approx(
        {"min": last.min().item(), "max": last.max().item(), "mean": last.mean().item()}, abs=5e-5)
    assert routing["longest"] == {"first": 3, "last": 3}  # a clear 3 is the longest capsule at iteration 1 already


# ---- #primary ---------------------------------------------------------------------------------------------------

def test_primary_sends_the_32_types_agreement_most_agreeing_first(model, three):
    trace = model.trace(three.x)
    primary = explainer.explain(model, three).primary
    maps = figures.agreement_maps(trace, 3).numpy()
    assert unpacked(primary["maps"]) == pytest.approx(maps, abs=1e-6)
    order = primary["order"]
    assert order == figures.types_by_agreement(trace, 3).tolist() and sorted(order) == list(range(32))
    means = np.array(primary["means"])[order]
    assert means == pytest.approx(maps.mean((1, 2))[order], abs=5e-5) and means[0] > means[-1]


def test_primary_scale_ends_at_the_99_percent_quantile_of_the_agreement(model, three):
    primary = explainer.explain(model, three).primary
    limit = np.quantile(np.abs(figures.agreement_maps(model.trace(three.x), 3).numpy()), 0.99)
    scale = primary["scale"]
    assert (scale["low"], scale["centre"], scale["high"]) == pytest.approx((-limit, 0.0, limit))
    assert primary["quantile"] == 0.99


# ---- #figure4 ---------------------------------------------------------------------------------------------------

def test_figure4_view_is_16_by_11_with_the_unperturbed_reconstruction_in_the_middle(model, three):
    out = model(three.x)
    shown = explainer.explain(model, three).figure4
    grid = unpacked(shown["images"])
    assert grid.shape == (16, 11, 28, 28)
    own = model.decode(out.poses[0, 3][None], torch.tensor([3]))[0, 0].numpy()
    assert shown["perturbations"][5] == 0 and shown["perturbations"] == list(figures.PERTURBATIONS)
    for dim in range(16):
        assert np.abs(grid[dim, 5] / 255 - own).max() <= PNG_TOLERANCE
    assert shown["digit"] == 3 and shown["names"] == [f"dim {j}" for j in range(16)]


def test_figure4_rows_are_nudges_of_each_pose_dimension(model, three):
    grid = unpacked(explainer.explain(model, three).figure4["images"])
    expected = figures.perturbation_grid(model, three.poses[3], 3).numpy()  # (16, 11, 28, 28)
    assert np.abs(grid / 255 - expected).max() <= PNG_TOLERANCE


def test_figure4_rows_are_named_for_the_capsule_shown(model, three):
    names = [[f"dim {j} of {k}" for j in range(16)] for k in range(10)]
    shown = explainer.explain(model, three, 5, names=names).figure4
    assert shown["digit"] == 5 and shown["names"] == names[5]


def test_figure4_download_is_the_labelled_matplotlib_figure(model, three, tmp_path):
    path = explainer.figure4_png(model, three, None, tmp_path)
    assert path.endswith("digit3.png")
    assert Image.open(path).size[0] > 300  # with axes and labels, not the bare 28x28 tiles


# ---- #all-capsules -----------------------------------------------------------------------------------------------

def test_all_capsules_shows_each_capsule_decoded_from_its_own_pose(model, three):
    out = model(three.x)
    shown = explainer.explain(model, three).all_capsules
    images = unpacked(shown["images"])
    assert images.shape == (10, 28, 28)
    for digit, image in enumerate(images):
        expected = model.decode(out.poses[0, digit][None], torch.tensor([digit]))[0, 0].numpy()
        assert np.abs(image / 255 - expected).max() <= PNG_TOLERANCE
    assert shown["lengths"] == pytest.approx(out.lengths[0].tolist(), abs=5e-5)
    assert shown["longest"] == shown["selected"] == 3


# ---- what the page needs to make the views itself ---------------------------------------------------------------

def test_page_constants_are_the_views_colour_scales_and_figure_4s_constants(model):
    constants = explainer.page_constants(model.config)
    assert constants["coupling_scale"] == colour_scale(figures.COUPLING_COLORS, 0.05, 0.1, 0.2)
    assert constants["vote_colours"] == colour_scale(figures.VOTE_COLORS, 0, 0.5, 1)
    assert constants["agreement_colours"] == colour_scale(figures.AGREEMENT_COLORS, -1, 0, 1)
    assert (constants["quantile"], constants["perturbations"], constants["gap"], constants["iterations"]) == (
        0.99, list(figures.PERTURBATIONS), figures.GAP, 3)
    assert constants["names"] == [[f"dim {j}" for j in range(16)]] * 10


def test_page_constants_name_the_dimensions_as_the_reader_does(model):
    names = [[f"dim {j} of {k}" for j in range(16)] for k in range(10)]
    assert explainer.page_constants(model.config, names)["names"] == names


def test_the_views_scales_are_the_page_constants_with_this_inputs_ends(model, three):
    views, constants = explainer.explain(model, three), explainer.page_constants(model.config)
    for scale, colours in ((views.routing["vote_scale"], "vote_colours"), (views.primary["scale"], "agreement_colours")):
        assert {k: v for k, v in scale.items() if k not in ("low", "centre", "high")} == {
            k: v for k, v in constants[colours].items() if k not in ("low", "centre", "high")}
    assert views.routing["coupling_scale"] == constants["coupling_scale"]


# ---- all views --------------------------------------------------------------------------------------------------

PICTURED = ("images", "coupling", "votes", "maps")  # the numbers that views.js draws as pictures


def drawn(view) -> list[np.ndarray]:
    """A view's pictures: its <img>s (HTML), or the numbers that views.js draws as pictures."""
    if isinstance(view, dict):
        return [unpacked(view[key]) if key == "images" else np.array(view[key]) for key in PICTURED if key in view]
    return pictures(view, r"[^\"]*")


def test_every_views_pictures_change_with_the_digit(model, one, three):
    views_of_1 = explainer.explain(model, one.image(render(1)).result)
    for a, b in zip(views_of_1.outputs(), explainer.explain(model, three).outputs()):
        drawn_for_1, drawn_for_3 = drawn(a), drawn(b)
        assert len(drawn_for_1) == len(drawn_for_3) > 0
        assert any(not np.array_equal(p, q) for p, q in zip(drawn_for_1, drawn_for_3))


@pytest.mark.parametrize("digit, iterations", [(10, 9), (True, 0), (-1, "6"), ("x", 2.5), (None, None)])
def test_a_digit_or_iteration_count_out_of_range_counts_as_not_given(model, three, digit, iterations):
    given, default = explainer.explain(model, three, digit, iterations), explainer.explain(model, three)
    assert given.outputs() == default.outputs()


def test_a_digit_or_iteration_count_may_come_as_text_or_a_whole_float(model, three):
    assert explainer.explain(model, three, "7", 2.0) == explainer.explain(model, three, 7, 2)


def test_no_input_shows_what_each_view_will_show(model):
    views = explainer.explain(model, None)
    said = [view["waiting"] if isinstance(view, dict) else view for view in views.outputs()]  # HTML or numbers
    assert all("Draw a digit, upload an image or pick an example" in text for text in said)


def test_the_views_read_the_result_and_run_only_routing_from_its_primary_capsules(model, three, monkeypatch):
    predicted = []
    predictions = model.digit_capsules.predictions

    def no_image_work(*args):
        raise AssertionError("the views must not read or preprocess the image again")

    def no_network_pass(*args, **kwargs):
        raise AssertionError("the views must not run the convolutions or the prediction again")

    monkeypatch.setattr(explainer, "preprocess", no_image_work)
    monkeypatch.setattr(explainer, "read_image", no_image_work)
    monkeypatch.setattr(readers, "preprocess", no_image_work)
    monkeypatch.setattr(model, "forward", no_network_pass)
    monkeypatch.setattr(model, "primary", no_network_pass)
    monkeypatch.setattr(model.digit_capsules, "predictions", lambda u: predicted.append(u) or predictions(u))
    views = explainer.explain(model, three, 5, 2)
    assert len(predicted) == 1 and predicted[0] is three.primary and len(views.routing["coupling"]) == 2


def test_figure4_download_decodes_the_results_poses_without_running_the_network(model, three, tmp_path,
                                                                                 monkeypatch):
    def whole_network(*args, **kwargs):
        raise AssertionError("Figure 4 needs only the decoder")

    monkeypatch.setattr(model, "forward", whole_network)
    monkeypatch.setattr(model, "trace", whole_network)
    assert explainer.figure4_png(model, three, 8, tmp_path).endswith("digit8.png")


# ---- #upload ----------------------------------------------------------------------------------------------------

def test_uploaded_png_is_predicted(one, tmp_path):
    assert one.file(saved(tmp_path, render(7), "seven.png")).digit == 7


def test_uploaded_photo_in_jpeg_is_predicted(one, tmp_path):
    photo = render(2, mode="L").convert("RGB")
    assert one.file(saved(tmp_path, photo, "two.jpg", quality=80)).digit == 2


def test_animated_gif_gives_its_first_frame(one, tmp_path):
    path = saved(tmp_path, render(7), "anim.gif", save_all=True, append_images=[render(1), render(0)], duration=100)
    assert one.file(path).digit == 7
    assert explainer.classify(one, path)["digit"] == 7


@pytest.mark.parametrize("content, says", [(b"%PDF-1.4 not an image", "not a readable image"),
                                          (b"", "not a readable image")], ids=["not an image", "empty file"])
def test_file_that_is_not_an_image_gets_a_one_line_message(one, tmp_path, content, says):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    answer = one.file(str(path))
    message = answer.reading["message"]
    assert answer.digit is None and message.startswith("Cannot use this file") and says in message
    assert "\n" not in message


def test_blank_image_says_no_digit_was_found(one, tmp_path):
    answer = one.file(saved(tmp_path, Image.new("L", (300, 200), 255), "blank.png"))
    assert answer.digit is None and answer.reading["message"].startswith("No digit found")


def test_huge_image_is_refused_with_its_size(one, tmp_path):
    # 8000 x 8000 pixels, a few kB as PNG: refused from its header before decoding
    answer = one.file(saved(tmp_path, Image.new("1", (8000, 8000), 1), "huge.png"))
    assert answer.digit is None and "8000x8000" in answer.reading["message"]


def test_nothing_uploaded_asks_for_a_file(one):
    assert one.file(None).reading["message"] == "Choose an image file"


# ---- #examples --------------------------------------------------------------------------------------------------

def test_at_least_16_examples_ship_with_their_labels():
    examples = load_examples(EXAMPLES / "index.json")
    assert len(examples) >= 16 and all(e.path.is_file() for e in examples)
    assert {e.labels for e in examples} == {(digit,) for digit in range(10)}


def test_examples_are_predicted_as_their_index_says_and_some_are_wrong(one):
    examples = load_examples(EXAMPLES / "index.json")
    for example in examples:
        assert one.file(str(example.path)).digit == example.predicted
    wrong = [e for e in examples if (e.predicted,) != e.labels]
    assert wrong and all(e.caption == f"true {e.labels[0]}" for e in wrong)


# ---- /classify --------------------------------------------------------------------------------------------------

def test_classify_returns_the_digit_and_ten_lengths(model, one, tmp_path):
    result = explainer.classify(one, saved(tmp_path, render(4), "four.png"))
    lengths = model(preprocess(render(4))).lengths[0]
    assert result["digit"] == 4 and result["lengths"] == pytest.approx(lengths.tolist(), abs=1e-6)


def test_classify_takes_a_turn_for_its_network_pass(one, tmp_path, monkeypatch):
    taken = []

    class Recording:
        @contextmanager
        def take(self, view: bool = False):
            taken.append(view)
            yield

    monkeypatch.setattr(explainer, "CORE_TURNS", Recording())
    explainer.classify(one, saved(tmp_path, render(4), "four.png"))
    assert taken == [False]  # one turn, as a network pass (not a view)


def test_classify_refuses_a_blank_image_with_a_message(one, tmp_path):
    with pytest.raises(ImageError, match="No digit found"):
        explainer.classify(one, saved(tmp_path, Image.new("L", (50, 50), 0), "black.png"))

