"""network.js and frame.js on a page of their own: the demo's live routes (demo/server/assets.py) and a bare canvas,
served on a free loopback port; shared by tests/browser/test_network_js.py and bench/bench_network_js.py."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Route

from demo.server.isolation import CrossOriginIsolation

from .digit_strokes import strokes
from .page import TIMEOUT_MS, VIEWPORT, free_port

CANVAS_SIZE = 280  # as the demo's (demo/app.py)

# The canvas draws as demo/static/components/canvas.js does: white paper, a black round pen, one line per pointer move.
PAGE = f"""<!doctype html>
<html><body>
<canvas id="canvas" width="{CANVAS_SIZE}" height="{CANVAS_SIZE}"></canvas>
<script type="module">
import capsnetLocal from "/lab/network.js";
import {{frame}} from "/lab/frame.js";

const canvas = document.getElementById("canvas");
const pen = canvas.getContext("2d");

function drawStrokes(paths, width) {{
  pen.fillStyle = "white";
  pen.fillRect(0, 0, canvas.width, canvas.height);
  Object.assign(pen, {{strokeStyle: "black", lineWidth: width, lineCap: "round", lineJoin: "round"}});
  for (const path of paths) {{
    let last = path[0];
    for (const point of [path[0], ...path.slice(1)]) {{
      pen.beginPath();
      pen.moveTo(...last);
      pen.lineTo(...point);
      pen.stroke();
      last = point;
    }}
  }}
  return pen.getImageData(0, 0, canvas.width, canvas.height);
}}

// frame.js with the constants the worker frames with (the manifest's); null before the network is ready here.
function framed(rgba, width, height) {{
  return capsnetLocal.manifest === null ? null : frame(rgba, width, height, capsnetLocal.manifest.framing);
}}

// The drawing as the server would get it (a PNG data URL), frame.js's 28x28 and the page's prediction by the
// model of that name (null: the default).
window.examine = async (paths, width, model = null) => {{
  const pixels = drawStrokes(paths, width);
  const input28 = framed(pixels.data, pixels.width, pixels.height);
  const prediction = await capsnetLocal.predict(pixels, model);
  const list = (array) => array === null ? null : Array.from(array);
  return {{png: canvas.toDataURL("image/png"), input28: list(input28),
          predicted: prediction && {{input28: list(prediction.input28), lengths: list(prediction.lengths ?? null),
                                    poses: list(prediction.poses ?? null),
                                    iterationLengths: list(prediction.iterationLengths ?? null),
                                    primary: list(prediction.primary ?? null)}}}};
}};

// Any RGBA pixels (e.g. an image drawn with PIL, sent as base64), framed by frame.js.
window.frameRgba = (base64, width, height) => {{
  const input28 = framed(Uint8ClampedArray.from(atob(base64), (c) => c.charCodeAt(0)), width, height);
  return input28 === null ? null : Array.from(input28);
}};

// count predictions of the drawing, one after another, as the pen would ask: the milliseconds each takes in the
// page, and of those the worker's for framing and for the network.
window.timePredictions = async (paths, width, count) => {{
  const pixels = drawStrokes(paths, width);
  const times = {{total: [], frame: [], network: []}};
  for (let n = 0; n < count; n++) {{
    const start = performance.now();
    const {{ms}} = await capsnetLocal.predict(pixels);
    times.total.push(performance.now() - start);
    times.frame.push(ms.frame);
    times.network.push(ms.network);
  }}
  return times;
}};
window.capsnetLocal = capsnetLocal;
</script>
</body></html>"""


def page_app(routes, isolated: bool = True) -> Starlette:
    """isolated: cross-origin isolated as the demo's page (demo/server/isolation.py), where the network runs on threads."""
    return Starlette(routes=[*routes, Route("/", lambda request: HTMLResponse(PAGE))],
                     middleware=[Middleware(CrossOriginIsolation)] if isolated else [])


@contextmanager
def served(routes, isolated: bool = True) -> Iterator[str]:
    """The routes and the page, served by uvicorn in a thread on a free loopback port; yields the page's URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(page_app(routes, isolated), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join()


def open_network_page(browser, url: str, block: str | None = None):
    """A tab on the page once network.js knows where the network runs; block: a URL glob answered by an error.

    tab.js_errors collects its uncaught JavaScript errors, tab.requests the URLs it asks for (its worker's too).
    """
    tab = browser.new_page(viewport=VIEWPORT)
    tab.set_default_timeout(TIMEOUT_MS)
    tab.js_errors = []
    tab.requests = []
    tab.on("pageerror", lambda error: tab.js_errors.append(str(error)))
    tab.on("request", lambda request: tab.requests.append(request.url))
    if block:
        tab.route(block, lambda route: route.abort())
    tab.goto(url)
    tab.wait_for_function("() => window.capsnetLocal && window.capsnetLocal.place !== 'loading'")
    return tab


def random_drawing(rng: np.random.Generator, digit: int) -> tuple[list, float]:
    """A digit's strokes somewhere on the canvas, of any size, shaken a little, and a pen width (px)."""
    height = rng.uniform(60, 230)
    width = height * rng.uniform(0.4, 1.0)
    left, top = rng.uniform(5, CANVAS_SIZE - 5 - width), rng.uniform(5, CANVAS_SIZE - 5 - height)
    paths = [[(x + rng.normal(0, 1.5), y + rng.normal(0, 1.5)) for x, y in path]
             for path in strokes(digit, (left, top, width, height))]
    return paths, float(rng.uniform(3, 40))
