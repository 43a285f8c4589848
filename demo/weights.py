"""The loaded model's decoder weights, served to the page so that decoder.js can redraw slider moves in the browser.

Two read-only routes, built from the model in memory (nothing is written to disk or to the repository):
- MANIFEST_PATH: a small JSON manifest: the layers' shapes, in order, and the URL of the weights;
- the weights: the decoder's Linear layers as float16 (little-endian), each layer's weight (out, in) then its
  bias, in order. The URL holds a hash of the bytes, so browsers may keep them for good: another checkpoint
  gets another URL, and any other URL is not found.
float16 halves the download (2.8 MB instead of 5.6 MB); on the shipped checkpoint it moves the reconstruction's
pixels by at most 0.4/255 (test_decoder_weights.py checks the bound).
"""

import hashlib
import json

import numpy as np
import torch
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capsnet import CapsNet

DECODER_FOLDER = "/decoder"  # the page's model; another model's decoder (two-digit mode) is served beside it
MANIFEST_PATH = f"{DECODER_FOLDER}/manifest.json"
WEIGHTS_DTYPE = np.dtype("<f2")  # float16, little-endian: what JavaScript's typed arrays read on every browser
# The manifest is small and names the current weights: always asked again. The weights never change at a URL.
MANIFEST_CACHE = "no-cache"
WEIGHTS_CACHE = "public, max-age=31536000, immutable"


def decoder_layers(model: CapsNet) -> list[torch.nn.Linear]:
    """The decoder's fully connected layers, input first (ReLU after each but the last, which has a sigmoid)."""
    return [layer for layer in model.decoder.net if isinstance(layer, torch.nn.Linear)]


def pack_decoder(model: CapsNet) -> tuple[dict, bytes]:
    """(manifest, weights): the decoder's layers as one float16 buffer and the shapes needed to read it."""
    arrays = [tensor.detach().cpu().numpy() for layer in decoder_layers(model) for tensor in (layer.weight, layer.bias)]
    data = b"".join(array.astype(WEIGHTS_DTYPE).tobytes() for array in arrays)
    manifest = {
        "weights": f"weights-{hashlib.sha256(data).hexdigest()[:16]}.bin",  # relative to the manifest's URL
        "dtype": "float16",
        "num_digits": model.config.num_classes,
        "pose_dims": model.config.digit_dim,
        "image_size": model.config.image_size,
        "layers": [{"weight": list(layer.weight.shape), "bias": list(layer.bias.shape)}
                   for layer in decoder_layers(model)],
    }
    return manifest, data


def weights_routes(model: CapsNet, folder: str = DECODER_FOLDER) -> list[Route]:
    """GET routes for the manifest and the weights of this model's decoder under folder, for the FastAPI app
    serving the page."""
    manifest, data = pack_decoder(model)
    manifest_json = json.dumps(manifest).encode()

    def serve_manifest(request: Request) -> Response:
        return Response(manifest_json, media_type="application/json", headers={"Cache-Control": MANIFEST_CACHE})

    def serve_weights(request: Request) -> Response:
        return Response(data, media_type="application/octet-stream", headers={"Cache-Control": WEIGHTS_CACHE})

    return [Route(f"{folder}/manifest.json", serve_manifest, methods=["GET"]),
            Route(f"{folder}/{manifest['weights']}", serve_weights, methods=["GET"])]
