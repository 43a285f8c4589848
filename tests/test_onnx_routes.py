"""What the page fetches to run the network itself (demo/onnx_routes.py): the loaded model's live path as ONNX, the
vendored runtime and the page's scripts; read-only, from the demo's own server, cached for good where the URL names
the content."""

import copy
import hashlib

import onnxruntime
import pytest
import torch
from starlette.applications import Starlette
from starlette.testclient import TestClient

from capsnet import load_model
from demo.onnx_routes import LIVE_PATH, MANIFEST_PATH, PAGE_SCRIPTS, VENDOR, onnx_routes

FOR_GOOD = "public, max-age=31536000, immutable"
# The wasm's sha256 in the npm package onnxruntime-web 1.30.0 (demo/vendor/onnxruntime-web/README.md).
WASM_SHA256 = "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2"


@pytest.fixture(scope="module")
def shipped():
    return load_model()


@pytest.fixture(scope="module")
def client(shipped):
    return TestClient(Starlette(routes=onnx_routes(shipped)))


@pytest.fixture(scope="module")
def manifest(client):
    return client.get(MANIFEST_PATH).json()


def test_manifest_names_the_model_the_runtime_and_the_shapes(client, manifest):
    assert client.get(MANIFEST_PATH).headers["cache-control"] == "no-cache"
    assert manifest["model"].startswith("model-") and manifest["model"].endswith(".onnx")
    assert (manifest["num_digits"], manifest["pose_dims"], manifest["primary_capsules"], manifest["iterations"]) == (
        10, 16, 1152, 3)
    assert manifest["outputs"] == ["lengths", "poses", "iteration_lengths", "coupling"]


def test_the_model_is_the_live_path_cached_for_good(client, manifest, shipped):
    response = client.get(f"{LIVE_PATH}/{manifest['model']}")
    assert response.headers["cache-control"] == FOR_GOOD
    assert manifest["model"] == f"model-{hashlib.sha256(response.content).hexdigest()[:16]}.onnx"
    live = onnxruntime.InferenceSession(response.content, providers=["CPUExecutionProvider"])
    image = torch.rand(1, 1, 28, 28)
    lengths = live.run(["lengths"], {manifest["input"]: image.numpy()})[0]
    with torch.inference_mode():
        assert abs(lengths - shipped(image).lengths.numpy()).max() < 1e-3


def test_the_same_model_gets_the_same_url_and_another_model_another(client, manifest, shipped):
    again = TestClient(Starlette(routes=onnx_routes(copy.deepcopy(shipped)))).get(MANIFEST_PATH).json()
    assert again["model"] == manifest["model"]  # browsers keep it across restarts of the demo
    other = copy.deepcopy(shipped)
    with torch.no_grad():
        other.digit_capsules.W.mul_(1.01)
    other_manifest = TestClient(Starlette(routes=onnx_routes(other))).get(MANIFEST_PATH).json()
    assert other_manifest["model"] != manifest["model"]
    assert client.get(f"{LIVE_PATH}/{other_manifest['model']}").status_code == 404


def test_the_runtime_is_the_vendored_one_its_webassembly_sent_gzipped(client, manifest):
    wasm_url = f"{LIVE_PATH}/{manifest['runtime_wasm']}"
    packed = client.get(wasm_url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["content-type"] == "application/wasm"
    assert int(packed.headers["content-length"]) == (VENDOR / "ort-wasm-simd-threaded.wasm.gz").stat().st_size
    plain = client.get(wasm_url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and hashlib.sha256(plain.content).hexdigest() == WASM_SHA256
    module = client.get(f"{LIVE_PATH}/{manifest['runtime']}")
    assert module.headers["content-type"].startswith("text/javascript")
    assert b"ONNX Runtime Web v1.30.0" in module.content
    assert packed.headers["cache-control"] == module.headers["cache-control"] == FOR_GOOD


def test_the_pages_scripts_are_served_and_asked_again_each_time(client):
    for name in PAGE_SCRIPTS:
        response = client.get(f"{LIVE_PATH}/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
        assert response.headers["cache-control"] == "no-cache"


def test_routes_are_read_only(client, manifest):
    for path in (MANIFEST_PATH, f"{LIVE_PATH}/{manifest['model']}", f"{LIVE_PATH}/{manifest['runtime_wasm']}",
                 f"{LIVE_PATH}/network.js"):
        assert client.put(path, content=b"x").status_code == 405
        assert client.post(path, content=b"x").status_code == 405


def test_the_first_visit_downloads_at_most_20_mb(client, manifest):
    """The runtime, the model and the page's scripts, as sent: the target of issue 22."""
    paths = [manifest["runtime"], manifest["runtime_wasm"], manifest["model"], *PAGE_SCRIPTS]
    sent = sum(int(client.get(f"{LIVE_PATH}/{path}", headers={"Accept-Encoding": "gzip"}).headers["content-length"])
               for path in paths)
    assert sent <= 20e6
