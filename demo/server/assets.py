"""The network's live path, served to the page so that network.js runs it in the browser while a person draws.

Read-only routes under LIVE_PATH, built from the page's models in memory (nothing is written to disk):
- manifest.json: the runtime and each model (by the name network.js's predict takes), where they are relative
  to it, the models' shapes, and the constants frame.js frames a drawing with (preprocess's); asked again each time;
- model-<hash>.onnx: a model's live path as ONNX (capsnet/export.py: encoder and routing, float16 weights). The
  URL holds a hash of the bytes, so browsers keep it for good: another checkpoint gets another URL, and any
  other URL is not found. The export takes a few seconds a model: made on the first request for the manifest;
- onnxruntime-web-<version>/: the vendored runtime (demo/static/vendor/onnxruntime-web), its WebAssembly sent
  gzipped as it is kept (a quarter of the size); the version in the URL, so kept for good too;
- network.js, network_worker.js, frame.js, live.js, views.js, pixels.js, views/*.js: the page's code for it, asked again each time (they change with
  the code).
What a first visit downloads: docs/in-page-network.md.
"""

import gzip
import hashlib
import json
import threading
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from capsnet import CapsNet
from capsnet.export import INPUT, OUTPUTS, onnx_bytes
from capsnet.preprocessing import framing_constants

STATIC = Path(__file__).resolve().parents[1] / "static"
MODULES = STATIC / "modules"  # the page's ES modules, served under LIVE_PATH as they lie there
LIVE_PATH = "/live"
MANIFEST_PATH = f"{LIVE_PATH}/manifest.json"
RUNTIME_VERSION = "1.30.0"  # demo/static/vendor/onnxruntime-web/README.md says where its files come from
RUNTIME_FOLDER = f"onnxruntime-web-{RUNTIME_VERSION}"
RUNTIME_MODULE = "ort.wasm.bundle.min.mjs"  # the WebAssembly backend only, as one ES module
RUNTIME_WASM = "ort-wasm-simd-threaded.wasm"
VENDOR = STATIC / "vendor" / "onnxruntime-web"
PAGE_SCRIPTS = tuple(sorted(path.relative_to(MODULES).as_posix() for path in MODULES.rglob("*.js")))
JAVASCRIPT = "text/javascript"
ONNX = "application/octet-stream"
NO_CACHE = "no-cache"
FOR_GOOD = "public, max-age=31536000, immutable"


class LiveModel:
    """The model's live path as ONNX bytes and their URL, exported once, on first use, by one thread at a time."""

    def __init__(self, model: CapsNet):
        self.model = model
        self.lock = threading.Lock()
        self.data: bytes | None = None

    def onnx(self) -> bytes:
        with self.lock:
            if self.data is None:
                self.data = onnx_bytes(self.model)
            return self.data

    def digest(self) -> str:
        return hashlib.sha256(self.onnx()).hexdigest()[:16]


def model_entry(live: LiveModel, reads: dict | None = None) -> dict:
    """reads: how the page shows this model's predictions (readers.Reader.page), for views.js."""
    cfg = live.model.config
    return {
        "reads": reads,
        "file": f"model-{live.digest()}.onnx",  # URLs relative to the manifest's
        "image_size": cfg.image_size,
        "num_digits": cfg.num_classes,
        "pose_dims": cfg.digit_dim,
        "primary_capsules": cfg.num_primary_capsules,
        "primary_dims": cfg.primary_dim,
        "iterations": cfg.routing_iterations,
    }


def manifest(models: dict[str, LiveModel], reads: dict[str, dict] | None = None) -> dict:
    return {
        "runtime": f"{RUNTIME_FOLDER}/{RUNTIME_MODULE}",
        "runtime_wasm": f"{RUNTIME_FOLDER}/{RUNTIME_WASM}",  # the bundle's own glue code loads it
        "input": INPUT,
        "outputs": list(OUTPUTS),
        "models": {name: model_entry(live, (reads or {}).get(name)) for name, live in models.items()},  # the first: predict's default
        "framing": framing_constants(),  # for frame.js, the page's port of preprocess
    }


def onnx_routes(models: dict[str, CapsNet], warm: bool = False, reads: dict[str, dict] | None = None) -> list[Route]:
    """GET routes for the live paths of the page's models (by name, the first predict's default), the runtime and
    the page's scripts, for the app serving the page. warm: export the models now, in a background thread, so that
    the first visitor does not wait for it. reads: by model name, how the page shows its predictions."""
    if not models:
        raise ValueError("onnx_routes needs at least one model")
    live = {name: LiveModel(model) for name, model in models.items()}
    if warm:
        threading.Thread(target=lambda: [model.onnx() for model in live.values()], name="onnx-export",
                         daemon=True).start()
    module = (VENDOR / RUNTIME_MODULE).read_bytes()
    wasm_gzipped = (VENDOR / f"{RUNTIME_WASM}.gz").read_bytes()

    def serve_manifest(request: Request) -> Response:
        return Response(json.dumps(manifest(live, reads)), media_type="application/json", headers={"Cache-Control": NO_CACHE})

    def serve_model(request: Request) -> Response:
        for model in live.values():
            if request.path_params["digest"] == model.digest():
                return Response(model.onnx(), media_type=ONNX, headers={"Cache-Control": FOR_GOOD})
        return PlainTextResponse("Not Found", status_code=404)

    def serve_module(request: Request) -> Response:
        return Response(module, media_type=JAVASCRIPT, headers={"Cache-Control": FOR_GOOD})

    def serve_wasm(request: Request) -> Response:
        headers = {"Cache-Control": FOR_GOOD, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(wasm_gzipped, media_type="application/wasm", headers=headers | {"Content-Encoding": "gzip"})
        return Response(gzip.decompress(wasm_gzipped), media_type="application/wasm", headers=headers)

    def script_route(name: str) -> Route:
        def serve_script(request: Request) -> Response:
            return Response((MODULES / name).read_bytes(), media_type=JAVASCRIPT, headers={"Cache-Control": NO_CACHE})

        return Route(f"{LIVE_PATH}/{name}", serve_script, methods=["GET"])

    return [Route(MANIFEST_PATH, serve_manifest, methods=["GET"]),
            Route(LIVE_PATH + "/model-{digest:str}.onnx", serve_model, methods=["GET"]),
            Route(f"{LIVE_PATH}/{RUNTIME_FOLDER}/{RUNTIME_MODULE}", serve_module, methods=["GET"]),
            Route(f"{LIVE_PATH}/{RUNTIME_FOLDER}/{RUNTIME_WASM}", serve_wasm, methods=["GET"]),
            *map(script_route, PAGE_SCRIPTS)]
