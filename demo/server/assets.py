"""What the page computes, served to it so that network.js runs it in the browser: the network's live path while a
person draws or turns the input, the decoder while a pose slider moves, the warp of the #transform sliders, and the
explainer views' numbers for each routing iteration count the views offer.

Read-only routes under ASSETS_PATH, built from the page's models in memory (nothing is written to disk):
- manifest.json: the runtime, the warp graph and each model (by the name network.js's predict takes) with its
  decoder and explain graphs, where they are relative to it, and the models' shapes; asked again each time;
- model-<hash>.onnx, decoder-<hash>.onnx, explain-<hash>.onnx, warp-<hash>.onnx: a model's live path, a model's
  decoder, the explainer views' numbers routed with 1-5 iterations (capsnet.explain.ITERATIONS; no weights, so
  the models of one config share them), the warp, as ONNX (capsnet/export.py: 8-bit weights in the live path).
  The URL holds a hash of the bytes, so browsers keep them for good: another checkpoint gets another URL, and any
  other URL is not found. Exported on the first request for the manifest (a few seconds a model), or in the
  background as the demo starts;
- onnxruntime-web-<version>/: the vendored runtime (demo/static/vendor/onnxruntime-web), its WebAssembly kept
  brotli-compressed (a sixth of its size); the version in the URL, so kept for good too;
- every ES module in demo/static/modules (network.js, runtime.js, frame.js, local.js, the views' renderers, ...): the
  page's code, asked again each time (they change with the code).
The manifest also carries the framing's constants for frame.js (capsnet.preprocessing.framing_constants) and, per
model, how the page shows its predictions (compute.readers.Reader.page) and the constants with which it makes the
explainer views from the explain and decoder graphs' outputs (compute.explainer.page_constants), both given by
the caller.
The graphs and the runtime are sent brotli-compressed to a browser that takes it (Chromium does; Firefox and Safari
over HTTPS), gzipped to one that does not: brotli packs the WebAssembly 37% smaller than gzip. What a first visit
downloads: docs/in-page-network.md.
"""

import gzip
import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from capsnet import CapsNet, CapsNetConfig
from capsnet.explain import ITERATIONS
from capsnet.preprocessing import framing_constants
from capsnet.export import (
    CHANGE,
    DECODER_INPUTS,
    DECODER_OUTPUT,
    EXPLAIN_INPUTS,
    EXPLAIN_OUTPUTS,
    INPUT,
    OUTPUTS,
    WARP_INPUTS,
    WARP_OUTPUT,
    decoder_onnx_bytes,
    explain_onnx_bytes,
    onnx_bytes,
    warp_onnx_bytes,
)

STATIC = Path(__file__).resolve().parents[1] / "static"
MODULES = STATIC / "modules"  # the page's ES modules, served under ASSETS_PATH as they lie there
ASSETS_PATH = "/lab"
MANIFEST_PATH = f"{ASSETS_PATH}/manifest.json"
RUNTIME_VERSION = "1.30.0"  # demo/static/vendor/onnxruntime-web/README.md says where its files come from
RUNTIME_FOLDER = f"onnxruntime-web-{RUNTIME_VERSION}"
RUNTIME_MODULE = "ort.wasm.bundle.min.mjs"  # the WebAssembly backend only, as one ES module
RUNTIME_WASM = "ort-wasm-simd-threaded.wasm"  # kept as RUNTIME_WASM.br, brotli at its best (quality 11)
VENDOR = STATIC / "vendor" / "onnxruntime-web"
PAGE_SCRIPTS = tuple(sorted(path.relative_to(MODULES).as_posix() for path in MODULES.rglob("*.js")))
JAVASCRIPT = "text/javascript"
ONNX = "application/octet-stream"
NO_CACHE = "no-cache"
FOR_GOOD = "public, max-age=31536000, immutable"
# The graphs' brotli, made as they are exported: qualities 9-11 took seconds to half a minute a graph for under 6%
# fewer bytes (docs/in-page-network.md).
BROTLI_QUALITY = 5


# torch.onnx.export keeps global state (GLOBALS.in_onnx_export): two exports at once, of any graphs, fail.
EXPORTING = threading.Lock()


class Compressed:
    """Bytes kept brotli-compressed, as most browsers take them, and gzipped the first time a client asks for gzip."""

    def __init__(self, brotli_bytes: bytes):
        self.brotli = brotli_bytes
        self.gzipped: bytes | None = None

    @classmethod
    def of(cls, data: bytes) -> "Compressed":
        return cls(brotli.compress(data, quality=BROTLI_QUALITY))

    def plain(self) -> bytes:
        return brotli.decompress(self.brotli)

    def gzip(self) -> bytes:
        if self.gzipped is None:  # two requests at once may both make it: the same bytes
            self.gzipped = gzip.compress(self.plain(), compresslevel=9, mtime=0)
        return self.gzipped


class Graph:
    """An ONNX graph (kind: "model", "decoder", "explain" or "warp"), exported once, on first use, one export at a time
    (EXPORTING), and kept compressed, as it is sent, under a file name that holds a hash of its bytes."""

    def __init__(self, kind: str, export: Callable[[], bytes]):
        self.kind = kind
        self.export = export
        self.exported: tuple[str, Compressed] | None = None  # (file name, its bytes compressed)

    def made(self) -> tuple[str, Compressed]:
        with EXPORTING:
            if self.exported is None:
                data = self.export()
                digest = hashlib.sha256(data).hexdigest()[:16]
                self.exported = f"{self.kind}-{digest}.onnx", Compressed.of(data)
            return self.exported

    def file(self) -> str:
        return self.made()[0]

    def compressed(self) -> Compressed:
        return self.made()[1]


class PageModel:
    """A model of the page with its graphs: its live path, its decoder and, by routing iterations, its explain
    graphs (explain_graphs', shared with the models of its config)."""

    def __init__(self, model: CapsNet, explain: dict[int, Graph]):
        self.config = model.config
        self.live = Graph("model", lambda: onnx_bytes(model))
        self.decoder = Graph("decoder", lambda: decoder_onnx_bytes(model))
        self.explain = explain


class ExplainGraphs:
    """The explain graphs, one per config and routing iterations: they hold no weights, so models of one config
    share them, exported once."""

    def __init__(self):
        self.graphs: dict[tuple[CapsNetConfig, int], Graph] = {}

    def of(self, config: CapsNetConfig) -> dict[int, Graph]:
        """config's explain graph for each of ITERATIONS, by iterations."""
        return {r: self.graphs.setdefault((config, r), Graph("explain", lambda r=r: explain_onnx_bytes(config, r)))
                for r in ITERATIONS}


def model_entry(model: PageModel, reads: dict | None = None, views: dict | None = None) -> dict:
    """reads: how the page shows this model's predictions (compute.readers.Reader.page), for views.js; views: the
    constants with which it makes the explainer views (compute.explainer.page_constants)."""
    cfg = model.config
    return {
        "reads": reads,
        "views": views,
        "file": model.live.file(),  # URLs relative to the manifest's
        "decoder": model.decoder.file(),
        "explain": {str(r): graph.file() for r, graph in model.explain.items()},  # by routing iterations
        "image_size": cfg.image_size,
        "num_digits": cfg.num_classes,
        "pose_dims": cfg.digit_dim,
        "primary_capsules": cfg.num_primary_capsules,
        "primary_dims": cfg.primary_dim,
        "iterations": cfg.routing_iterations,
    }


def manifest(models: dict[str, PageModel], warp: Graph, reads: dict[str, dict] | None = None,
             views: dict[str, dict] | None = None) -> dict:
    return {
        "runtime": f"{RUNTIME_FOLDER}/{RUNTIME_MODULE}",
        "runtime_wasm": f"{RUNTIME_FOLDER}/{RUNTIME_WASM}",  # the bundle's own glue code loads it
        "input": INPUT,
        "outputs": list(OUTPUTS),
        "decoder": {"inputs": list(DECODER_INPUTS), "output": DECODER_OUTPUT},
        "explain": {"inputs": list(EXPLAIN_INPUTS), "outputs": list(EXPLAIN_OUTPUTS)},
        "warp": {"file": warp.file(), "inputs": list(WARP_INPUTS), "output": WARP_OUTPUT, "change": list(CHANGE)},
        # the first model is predict's default
        "models": {name: model_entry(model, (reads or {}).get(name), (views or {}).get(name))
                   for name, model in models.items()},
        "framing": framing_constants(),  # for frame.js, the page's port of preprocess
    }


def accepted_encodings(request: Request) -> set[str]:
    """The Content-Encodings the client takes ("gzip, deflate, br" -> {"gzip", "deflate", "br"})."""
    return {part.split(";")[0].strip() for part in request.headers.get("accept-encoding", "").split(",")}


def sent_compressed(data: Compressed, media_type: str, request: Request) -> Response:
    """data, for good: brotli to a browser that takes it, else gzip (all browsers take one), else plain."""
    headers = {"Cache-Control": FOR_GOOD, "Vary": "Accept-Encoding"}
    accepted = accepted_encodings(request)
    if "br" in accepted:
        return Response(data.brotli, media_type=media_type, headers=headers | {"Content-Encoding": "br"})
    if "gzip" in accepted:
        return Response(data.gzip(), media_type=media_type, headers=headers | {"Content-Encoding": "gzip"})
    return Response(data.plain(), media_type=media_type, headers=headers)


def onnx_routes(models: dict[str, CapsNet], warm: bool = False, reads: dict[str, dict] | None = None,
                views: dict[str, dict] | None = None) -> list[Route]:
    """GET routes for the graphs of the page's models (by name, the first predict's default) and the warp, the
    runtime and the page's scripts, for the app serving the page. warm: export the graphs now, in a background
    thread, so that the first visitor does not wait for them. reads: by model name, how the page shows its
    predictions; views: by model name, the constants with which it makes the explainer views."""
    if not models:
        raise ValueError("onnx_routes needs at least one model")
    explain = ExplainGraphs()
    page_models = {name: PageModel(model, explain.of(model.config)) for name, model in models.items()}
    image_size = next(iter(models.values())).config.image_size  # every model's (readers.load_pair_model checks the pair model)
    warp = Graph("warp", lambda: warp_onnx_bytes(image_size))
    graphs = [warp, *(graph for model in page_models.values() for graph in (model.live, model.decoder)),
              *explain.graphs.values()]
    if warm:
        threading.Thread(target=lambda: [graph.made() for graph in graphs], name="onnx-export", daemon=True).start()
    module = Compressed.of((VENDOR / RUNTIME_MODULE).read_bytes())
    wasm = Compressed((VENDOR / f"{RUNTIME_WASM}.br").read_bytes())

    def serve_manifest(request: Request) -> Response:
        return Response(json.dumps(manifest(page_models, warp, reads, views)), media_type="application/json",
                        headers={"Cache-Control": NO_CACHE})

    def serve_graph(request: Request) -> Response:
        for graph in graphs:
            if f"{request.path_params['name']}.onnx" == graph.file():
                return sent_compressed(graph.compressed(), ONNX, request)
        return PlainTextResponse("Not Found", status_code=404)

    def serve_module(request: Request) -> Response:
        return sent_compressed(module, JAVASCRIPT, request)

    def serve_wasm(request: Request) -> Response:
        return sent_compressed(wasm, "application/wasm", request)

    def script_route(name: str) -> Route:
        def serve_script(request: Request) -> Response:
            return Response((MODULES / name).read_bytes(), media_type=JAVASCRIPT, headers={"Cache-Control": NO_CACHE})

        return Route(f"{ASSETS_PATH}/{name}", serve_script, methods=["GET"])

    return [Route(MANIFEST_PATH, serve_manifest, methods=["GET"]),
            Route(ASSETS_PATH + "/{name:str}.onnx", serve_graph, methods=["GET"]),
            Route(f"{ASSETS_PATH}/{RUNTIME_FOLDER}/{RUNTIME_MODULE}", serve_module, methods=["GET"]),
            Route(f"{ASSETS_PATH}/{RUNTIME_FOLDER}/{RUNTIME_WASM}", serve_wasm, methods=["GET"]),
            *map(script_route, PAGE_SCRIPTS)]
