"""What the page fetches to run the network itself (demo/server/assets.py): the page's models' live paths as ONNX,
the vendored runtime and the page's scripts; read-only, from the demo's own server, cached for good where the URL names
the content."""

import copy
import hashlib

import onnxruntime
import pytest
import torch
from starlette.applications import Starlette
from starlette.testclient import TestClient

from capsnet import load_model
from demo.server.assets import LIVE_PATH, MANIFEST_PATH, PAGE_SCRIPTS, VENDOR, onnx_routes
from demo.compute.readers import one_digit, two_digits

FOR_GOOD = "public, max-age=31536000, immutable"
# The wasm's sha256 in the npm package onnxruntime-web 1.30.0 (demo/static/vendor/onnxruntime-web/README.md).
WASM_SHA256 = "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2"


@pytest.fixture(scope="module")
def shipped():
    return load_model()


def nudged(model, factor: float = 1.01):
    """Another model of the same architecture (as the pair model is): its W scaled by factor."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.digit_capsules.W.mul_(factor)
    return other


@pytest.fixture(scope="module")
def models(shipped):
    return {"one": shipped, "two": nudged(shipped)}


@pytest.fixture(scope="module")
def reads(models):
    """How the page shows each model's predictions, as app.build gives them (Reader.page)."""
    return {"one": one_digit("one", models["one"], []).page(), "two": two_digits("two", models["two"], []).page()}


@pytest.fixture(scope="module")
def client(models, reads):
    return TestClient(Starlette(routes=onnx_routes(models, reads=reads)))


@pytest.fixture(scope="module")
def manifest(client):
    return client.get(MANIFEST_PATH).json()


def test_manifest_names_the_runtime_and_each_model_with_its_shapes(client, manifest):
    assert client.get(MANIFEST_PATH).headers["cache-control"] == "no-cache"
    assert list(manifest["models"]) == ["one", "two"]  # in the order given: the first is predict's default
    for entry in manifest["models"].values():
        assert entry["file"].startswith("model-") and entry["file"].endswith(".onnx")
        assert (entry["num_digits"], entry["pose_dims"], entry["primary_capsules"], entry["iterations"]) == (
            10, 16, 1152, 3)
    assert manifest["outputs"] == ["lengths", "poses", "iteration_lengths", "coupling", "primary"]


def test_each_model_says_how_the_page_shows_its_predictions(manifest, reads):
    assert {name: entry["reads"] for name, entry in manifest["models"].items()} == reads
    assert [manifest["models"][name]["reads"]["digits"] for name in ("one", "two")] == [1, 2]


def test_each_model_file_is_its_live_path_cached_for_good(client, manifest, models):
    image = torch.rand(1, 1, 28, 28)
    for name, model in models.items():
        response = client.get(f"{LIVE_PATH}/{manifest['models'][name]['file']}")
        assert response.headers["cache-control"] == FOR_GOOD
        assert manifest["models"][name]["file"] == f"model-{hashlib.sha256(response.content).hexdigest()[:16]}.onnx"
        live = onnxruntime.InferenceSession(response.content, providers=["CPUExecutionProvider"])
        lengths = live.run(["lengths"], {manifest["input"]: image.numpy()})[0]
        with torch.inference_mode():
            assert abs(lengths - model(image).lengths.numpy()).max() < 1e-3, name


def test_the_same_model_gets_the_same_url_and_another_model_another(client, manifest, shipped):
    again = TestClient(Starlette(routes=onnx_routes({"one": copy.deepcopy(shipped)}))).get(MANIFEST_PATH).json()
    assert again["models"]["one"]["file"] == manifest["models"]["one"]["file"]  # kept across restarts of the demo
    other = TestClient(Starlette(routes=onnx_routes({"one": nudged(shipped, 0.99)}))).get(MANIFEST_PATH).json()
    assert other["models"]["one"]["file"] not in {entry["file"] for entry in manifest["models"].values()}
    assert client.get(f"{LIVE_PATH}/{other['models']['one']['file']}").status_code == 404


def test_routes_need_a_model():
    with pytest.raises(ValueError, match="at least one model"):
        onnx_routes({})


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
    for name in ("manifest.json", manifest["models"]["one"]["file"], manifest["runtime_wasm"], "network.js"):
        path = f"{LIVE_PATH}/{name}"
        assert client.put(path, content=b"x").status_code == 405
        assert client.post(path, content=b"x").status_code == 405


def test_the_first_visit_downloads_at_most_20_mb(client, manifest):
    """The runtime, the default model and the page's scripts, as sent: the target of issue 22."""
    paths = [manifest["runtime"], manifest["runtime_wasm"], manifest["models"]["one"]["file"], *PAGE_SCRIPTS]
    sent = sum(int(client.get(f"{LIVE_PATH}/{path}", headers={"Accept-Encoding": "gzip"}).headers["content-length"])
               for path in paths)
    assert sent <= 20e6
