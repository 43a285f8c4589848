"""What the page fetches to run the network, the decoder, the explainer views and the warp itself
(demo/server/assets.py): the page's models' live paths, decoders and explain graphs and the warp as ONNX, with the
constants of the views, the vendored runtime and the page's scripts; read-only, from the demo's
own server, cached for good where the URL names the content, the graphs and the runtime sent compressed (brotli or
gzip, as the browser takes)."""

import copy
import json
import hashlib

import numpy as np
import onnxruntime
import pytest
import torch
from starlette.applications import Starlette
from starlette.testclient import TestClient

from capsnet import load_model, warp
from capsnet.explain import EXPLAIN_OUTPUTS
from capsnet.export import CHANGE, explain_onnx_bytes
from capsnet.preprocessing import framing_constants
from demo.compute import explainer
from demo.compute.readers import one_digit, two_digits
from demo.server.assets import ASSETS_PATH, MANIFEST_PATH, PAGE_SCRIPTS, VENDOR, onnx_routes

from .test_export import TOLERANCE  # the live path's outputs against the model's

FOR_GOOD = "public, max-age=31536000, immutable"
# The wasm's sha256 in the npm package onnxruntime-web 1.30.0 (demo/static/vendor/onnxruntime-web/README.md).
CHROMIUM_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium asks for, even over plain HTTP
GRADIOS_OWN = 1e6  # bytes of Gradio's page, scripts, styles and fonts at a first visit: 0.83 MB (bench/first_visit.py)
WASM_SHA256 = "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2"


@pytest.fixture(scope="module")
def shipped():
    return load_model()


def nudged(model, factor: float = 1.01):
    """Another model of the same architecture (as the pair model is): its W and its decoder's weights scaled by factor."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.digit_capsules.W.mul_(factor)
        for parameter in other.decoder.parameters():
            parameter.mul_(factor)
    return other


@pytest.fixture(scope="module")
def models(shipped):
    return {"one": shipped, "two": nudged(shipped)}


@pytest.fixture(scope="module")
def reads(models):
    """How the page shows each model's predictions, as app.build gives them (Reader.page)."""
    return {"one": one_digit("one", models["one"], []).page(), "two": two_digits("two", models["two"], []).page()}


@pytest.fixture(scope="module")
def views(models):
    """The constants with which the page makes the explainer views, as app.build gives them (page_constants)."""
    return {"one": explainer.page_constants(models["one"].config),
            "two": explainer.page_constants(models["two"].config, [[f"{k}.{j}" for j in range(16)] for k in range(10)])}


@pytest.fixture(scope="module")
def client(models, reads, views):
    return TestClient(Starlette(routes=onnx_routes(models, reads=reads, views=views)))


@pytest.fixture(scope="module")
def manifest(client):
    return client.get(MANIFEST_PATH).json()


def fetched(client, file: str) -> onnxruntime.InferenceSession:
    """The graph in file (a name in the manifest), as the page's worker fetches and runs it."""
    return onnxruntime.InferenceSession(client.get(f"{ASSETS_PATH}/{file}").content, providers=["CPUExecutionProvider"])


def test_manifest_names_the_runtime_the_warp_and_each_model_with_its_decoder_and_shapes(client, manifest):
    assert client.get(MANIFEST_PATH).headers["cache-control"] == "no-cache"
    assert list(manifest["models"]) == ["one", "two"]  # in the order given: the first is predict's default
    for entry in manifest["models"].values():
        assert entry["file"].startswith("model-") and entry["file"].endswith(".onnx")
        assert entry["decoder"].startswith("decoder-") and entry["decoder"].endswith(".onnx")
        assert (entry["num_digits"], entry["pose_dims"], entry["primary_capsules"], entry["iterations"]) == (
            10, 16, 1152, 3)
    assert manifest["outputs"] == ["lengths", "poses", "iteration_lengths", "coupling", "primary", "predictions"]
    assert manifest["decoder"] == {"inputs": ["poses", "digits"], "output": "images"}
    assert manifest["warp"]["file"].startswith("warp-") and manifest["warp"]["change"] == list(CHANGE)


def test_each_model_says_how_the_page_shows_its_predictions(manifest, reads):
    assert {name: entry["reads"] for name, entry in manifest["models"].items()} == reads
    assert [manifest["models"][name]["reads"]["digits"] for name in ("one", "two")] == [1, 2]


def test_each_model_lists_an_explain_graph_per_iteration_count_shared_by_models_of_one_config(manifest):
    assert manifest["explain"] == {"inputs": ["predictions", "poses", "digit"], "outputs": list(EXPLAIN_OUTPUTS)}
    one, two = (manifest["models"][name]["explain"] for name in ("one", "two"))
    assert list(one) == [str(r) for r in explainer.ITERATIONS] and one == two  # no weights: the same files
    assert len(set(one.values())) == len(one) and all(file.startswith("explain-") for file in one.values())


def test_each_explain_file_is_the_explain_graph_for_its_iterations(client, manifest, shipped):
    file = manifest["models"]["one"]["explain"]["2"]
    assert client.get(f"{ASSETS_PATH}/{file}").content == explain_onnx_bytes(shipped.config, 2)


def test_each_model_carries_the_constants_of_its_explainer_views(manifest, views):
    assert {name: entry["views"] for name, entry in manifest["models"].items()} == json.loads(json.dumps(views))


def test_the_manifest_hands_the_page_the_framing_constants(manifest):
    assert manifest["framing"] == json.loads(json.dumps(framing_constants()))


def test_each_model_file_is_its_live_path_cached_for_good(client, manifest, models):
    image = torch.rand(1, 1, 28, 28)
    for name, model in models.items():
        response = client.get(f"{ASSETS_PATH}/{manifest['models'][name]['file']}")
        assert response.headers["cache-control"] == FOR_GOOD
        assert manifest["models"][name]["file"] == f"model-{hashlib.sha256(response.content).hexdigest()[:16]}.onnx"
        lengths = fetched(client, manifest["models"][name]["file"]).run(["lengths"], {manifest["input"]: image.numpy()})
        with torch.inference_mode():
            assert abs(lengths[0] - model(image).lengths.numpy()).max() < TOLERANCE, name


def test_each_models_decoder_file_is_its_model_decode(client, manifest, models):
    poses, digits = torch.rand(10, 16) * 1.6 - 0.8, torch.arange(10)
    for name, model in models.items():
        images = fetched(client, manifest["models"][name]["decoder"]).run(None, dict(zip(
            manifest["decoder"]["inputs"], (poses.numpy(), digits.numpy()))))[0]
        with torch.inference_mode():
            assert abs(images - model.decode(poses, digits).numpy()).max() < 2 / 255, name
    assert manifest["models"]["one"]["decoder"] != manifest["models"]["two"]["decoder"]


def test_the_warp_file_is_capsnet_warp(client, manifest):
    image, change = torch.rand(1, 1, 28, 28), [30.0, 0.8, 0.2, 1.5, -2.0]  # in manifest["warp"]["change"]'s order
    warped = fetched(client, manifest["warp"]["file"]).run(None, dict(zip(
        manifest["warp"]["inputs"], (image.numpy(), np.float32(change)))))[0]
    expected = warp(image, rotate=30, scale=0.8, shear=0.2, shift=(1.5, -2.0))
    assert abs(warped - expected.numpy()).max() < 1e-5


@pytest.mark.parametrize("accepted, sent", [("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip")])
def test_the_graphs_are_sent_compressed_as_the_browser_takes_them_and_plain_to_others(client, manifest, accepted, sent):
    for file in (manifest["models"]["one"]["file"], manifest["models"]["one"]["decoder"], manifest["warp"]["file"]):
        packed = client.get(f"{ASSETS_PATH}/{file}", headers={"Accept-Encoding": accepted})
        plain = client.get(f"{ASSETS_PATH}/{file}", headers={"Accept-Encoding": "identity"})
        assert packed.headers["content-encoding"] == sent and "content-encoding" not in plain.headers
        assert int(packed.headers["content-length"]) < len(plain.content) and packed.content == plain.content
        assert packed.headers["vary"] == "Accept-Encoding"


def test_the_same_model_gets_the_same_url_and_another_model_another(client, manifest, shipped):
    again = TestClient(Starlette(routes=onnx_routes({"one": copy.deepcopy(shipped)}))).get(MANIFEST_PATH).json()
    assert again["models"]["one"]["file"] == manifest["models"]["one"]["file"]  # kept across restarts of the demo
    other = TestClient(Starlette(routes=onnx_routes({"one": nudged(shipped, 0.99)}))).get(MANIFEST_PATH).json()
    assert other["models"]["one"]["file"] not in {entry["file"] for entry in manifest["models"].values()}
    assert client.get(f"{ASSETS_PATH}/{other['models']['one']['file']}").status_code == 404


def test_routes_need_a_model():
    with pytest.raises(ValueError, match="at least one model"):
        onnx_routes({})


def test_the_runtime_is_the_vendored_one_its_webassembly_sent_as_kept_in_brotli(client, manifest):
    wasm_url = f"{ASSETS_PATH}/{manifest['runtime_wasm']}"
    packed = client.get(wasm_url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["content-encoding"] == "br" and packed.headers["content-type"] == "application/wasm"
    assert int(packed.headers["content-length"]) == (VENDOR / "ort-wasm-simd-threaded.wasm.br").stat().st_size
    gzipped = client.get(wasm_url, headers={"Accept-Encoding": "gzip"})
    plain = client.get(wasm_url, headers={"Accept-Encoding": "identity"})
    assert gzipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert hashlib.sha256(plain.content).hexdigest() == WASM_SHA256 and gzipped.content == plain.content
    module = client.get(f"{ASSETS_PATH}/{manifest['runtime']}")
    assert module.headers["content-type"].startswith("text/javascript")
    assert b"ONNX Runtime Web v1.30.0" in module.content
    assert packed.headers["cache-control"] == module.headers["cache-control"] == FOR_GOOD


def test_the_pages_scripts_are_served_and_asked_again_each_time(client):
    for name in PAGE_SCRIPTS:
        response = client.get(f"{ASSETS_PATH}/{name}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
        assert response.headers["cache-control"] == "no-cache"


def test_routes_are_read_only(client, manifest):
    for name in ("manifest.json", manifest["models"]["one"]["file"], manifest["models"]["one"]["decoder"],
                 manifest["warp"]["file"], manifest["runtime_wasm"], "network.js"):
        path = f"{ASSETS_PATH}/{name}"
        assert client.put(path, content=b"x").status_code == 405
        assert client.post(path, content=b"x").status_code == 405


def test_a_first_visit_predicts_in_the_page_after_at_most_10_mb(client, manifest):
    """What the page fetches from these routes before it predicts in itself, as Chromium is sent it (the decoder
    follows), with Gradio's own page, scripts and fonts besides: the target of issue 32."""
    default = manifest["models"]["one"]
    paths = ["manifest.json", manifest["runtime"], manifest["runtime_wasm"], default["file"], *PAGE_SCRIPTS]
    sent = sum(int(client.get(f"{ASSETS_PATH}/{path}", headers={"Accept-Encoding": CHROMIUM_ENCODINGS})
                   .headers["content-length"]) for path in paths)
    assert sent + GRADIOS_OWN <= 10e6
