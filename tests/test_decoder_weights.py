"""The decoder weights the page fetches for decoder.js (demo/weights.py): the loaded checkpoint's, read-only, cached."""

import copy
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from starlette.applications import Starlette
from starlette.testclient import TestClient

from capsnet import DEFAULT_CHECKPOINT, load_model
from demo.weights import MANIFEST_PATH, weights_routes

DECODER_KEYS = ["decoder.net.0.weight", "decoder.net.0.bias", "decoder.net.2.weight", "decoder.net.2.bias",
                "decoder.net.4.weight", "decoder.net.4.bias"]


@pytest.fixture(scope="module")
def shipped():
    return load_model()


@pytest.fixture(scope="module")
def client(shipped):
    return TestClient(Starlette(routes=weights_routes(shipped)))


def fetch_weights(client) -> tuple[dict, list[np.ndarray]]:
    """The manifest and the arrays it describes, read from the routes as decoder.js reads them."""
    manifest = client.get(MANIFEST_PATH).json()
    data = np.frombuffer(client.get(f"/decoder/{manifest['weights']}").content, dtype="<f2")
    shapes = [shape for layer in manifest["layers"] for shape in (layer["weight"], layer["bias"])]
    offsets = np.cumsum([0] + [int(np.prod(shape)) for shape in shapes])
    assert offsets[-1] == data.size
    return manifest, [data[start:end].reshape(shape) for start, end, shape in zip(offsets, offsets[1:], shapes)]


def test_served_weights_are_the_checkpoints_decoder_in_float16(client):
    checkpoint = load_file(DEFAULT_CHECKPOINT / "model.safetensors")  # stored in float16 already
    _, arrays = fetch_weights(client)
    assert len(arrays) == len(DECODER_KEYS)
    for key, array in zip(DECODER_KEYS, arrays):
        np.testing.assert_array_equal(array, checkpoint[key].numpy().astype(np.float16), err_msg=key)


def test_manifest_gives_the_decoders_shape(client, shipped):
    manifest = client.get(MANIFEST_PATH).json()
    cfg = shipped.config
    assert (manifest["num_digits"], manifest["pose_dims"], manifest["image_size"]) == (10, 16, 28)
    assert manifest["layers"] == [{"weight": [512, cfg.num_classes * cfg.digit_dim], "bias": [512]},
                                  {"weight": [1024, 512], "bias": [1024]},
                                  {"weight": [cfg.image_size**2, 1024], "bias": [cfg.image_size**2]}]


def test_weights_are_cached_for_good_and_the_manifest_is_asked_again(client):
    manifest = client.get(MANIFEST_PATH)
    weights = client.get(f"/decoder/{manifest.json()['weights']}")
    assert manifest.headers["cache-control"] == "no-cache"
    assert weights.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert weights.headers["content-type"] == "application/octet-stream"


def test_only_this_models_weights_are_served(client, shipped):
    manifest = client.get(MANIFEST_PATH).json()
    other = copy.deepcopy(shipped)
    with torch.no_grad():
        other.decoder.net[0].bias += 1
    other_manifest = json.loads(TestClient(Starlette(routes=weights_routes(other))).get(MANIFEST_PATH).content)
    assert other_manifest["weights"] != manifest["weights"]  # the URL names the content
    assert client.get(f"/decoder/{other_manifest['weights']}").status_code == 404


def test_routes_are_read_only(client):
    manifest = client.get(MANIFEST_PATH).json()
    for path in (MANIFEST_PATH, f"/decoder/{manifest['weights']}"):
        assert client.put(path, content=b"x").status_code == 405
        assert client.post(path, content=b"x").status_code == 405


def test_float16_weights_move_the_reconstruction_by_less_than_half_a_grey_level(client, shipped):
    _, arrays = fetch_weights(client)
    rounded = copy.deepcopy(shipped)
    with torch.no_grad():
        for parameter, array in zip(rounded.decoder.parameters(), arrays):
            parameter.copy_(torch.from_numpy(array.astype(np.float32)))
    generator = torch.Generator().manual_seed(0)
    pose = torch.rand(500, 16, generator=generator) * 1.6 - 0.8  # the sliders' whole range
    digit = torch.arange(500) % 10
    with torch.inference_mode():
        assert (shipped.decode(pose, digit) - rounded.decode(pose, digit)).abs().max() < 0.5 / 255
