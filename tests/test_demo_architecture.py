"""A checkpoint of another architecture works in every part of the page: each size is read from model.config."""

import re

import numpy as np
import pytest
import torch

import onnxruntime
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bench.pagedriver.digit_strokes import render
from capsnet import CapsNet, CapsNetConfig, figures, load_model, save_pretrained
from demo.app import build
from demo.compute import explainer
from demo.compute.readers import one_digit
from demo.server.assets import ASSETS_PATH, MANIFEST_PATH

ARCHITECTURES = {
    "16 types, 8-D capsules": CapsNetConfig(primary_channels=16, digit_dim=8),
    # 12 types (a last row of 4 tiles) on a 6x6 grid seen through 13x13 px fields, 12-D capsules, 2 iterations
    "7x7 kernels, stride 3": CapsNetConfig(conv1_channels=64, kernel_size=7, primary_stride=3, primary_channels=12,
                                           primary_dim=4, digit_dim=12, routing_iterations=2,
                                           decoder_hidden=(128, 256)),
}


@pytest.fixture(scope="module", params=ARCHITECTURES.values(), ids=ARCHITECTURES.keys())
def model(request, tmp_path_factory):
    """The architecture trained for no step, saved and loaded as the demo loads a checkpoint."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("architecture") / "capsnet"
    save_pretrained(CapsNet(request.param), path)
    return load_model(path)


@pytest.fixture(scope="module")
def reader(model):
    return one_digit("one", model, [])


@pytest.fixture(scope="module")
def view(reader):
    return reader.image(render(3))


def test_the_prediction_and_the_sliders_have_the_models_sizes(model, reader, view):
    dims = model.config.digit_dim
    assert len(view.pose) == dims and view.result.poses.shape == (10, dims)
    assert len(reader.select(2, view.result).values) == dims
    assert reader.pose(2, [0.1] * dims, None).reconstruction is not None
    assert reader.pose(2, [0.1] * (dims + 1), None).reconstruction is None


@pytest.mark.parametrize("iterations", [1, 5])
def test_every_view_shows_the_models_capsules(model, view, iterations):
    cfg = model.config
    views = explainer.explain(model, view.result, 2, iterations)
    grid = cfg.primary_grid
    assert views.routing["coupling"]["shape"] == [iterations, cfg.primary_channels, grid, grid]
    assert np.shape(views.routing["lengths"]) == (iterations, cfg.num_classes)
    assert views.primary["maps"]["shape"] == [cfg.primary_channels, grid, grid]
    assert sorted(views.primary["order"]) == list(range(cfg.primary_channels))
    assert views.figure4["images"]["shape"] == [cfg.digit_dim, len(figures.PERTURBATIONS), cfg.image_size, cfg.image_size]
    assert len(views.figure4["names"]) == cfg.digit_dim
    assert views.all_capsules["images"]["shape"] == [cfg.num_classes, cfg.image_size, cfg.image_size]
    assert len(views.all_capsules["lengths"]) == cfg.num_classes


real_grid = figures.perturbation_grid


def test_figure4_download_has_a_row_per_pose_dimension(model, view, tmp_path, monkeypatch):
    grids = []
    monkeypatch.setattr(figures, "perturbation_grid", lambda *args: grids.append(real_grid(*args)) or grids[-1])
    assert explainer.figure4_png(model, view.result, 2, tmp_path).endswith("digit2.png")
    assert [grid.shape[0] for grid in grids] == [model.config.digit_dim]  # the figure drew one row per dimension


def test_classify_answers_for_the_models_capsules(model, reader, tmp_path):
    render(4).save(tmp_path / "four.png")
    assert len(explainer.classify(reader, str(tmp_path / "four.png"))["lengths"]) == model.config.num_classes


def test_the_page_has_a_slider_per_pose_dimension_and_serves_that_decoder(model):
    page = build(model)
    by_id = {block.elem_id: block for block in page.blocks.values() if getattr(block, "elem_id", None)}
    assert len([name for name in by_id if re.fullmatch(r"dim-\d+", name)]) == model.config.digit_dim
    assert f"a vector of {model.config.digit_dim} numbers" in by_id["caption"].value
    client = TestClient(Starlette(routes=page.network_routes))
    entry = client.get(MANIFEST_PATH).json()["models"]["one"]  # what network.js reads
    assert entry["pose_dims"] == model.config.digit_dim
    decoder = onnxruntime.InferenceSession(client.get(f"{ASSETS_PATH}/{entry['decoder']}").content)
    poses, digits = np.zeros((1, model.config.digit_dim), np.float32), np.array([3])
    assert decoder.run(None, {"poses": poses, "digits": digits})[0].shape == (1, 1, 28, 28)
    page.close()

