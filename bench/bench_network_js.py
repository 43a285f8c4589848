"""How fast the page predicts by itself (demo/network.js: frame.js and ONNX Runtime Web in a Web Worker), in headless
Chromium on this machine's CPU.

    python bench/bench_network_js.py [--calls 50] [--checkpoint PATH]

Serves the live routes (demo/onnx_routes.py) with a bare canvas page (tests/support/network_page.py), draws a few
digits on it and times --calls predictions of them one after another, as the pen asks while it moves: from
capsnetLocal.predict(imageData) to its answer (the worker frames the drawing and runs the model). Prints the
seconds until the network runs in the page (the model fetched and set up), the median and p95 of a prediction
(target: median <= 33 ms, every other frame at 60 Hz) and of its two parts in the worker (framing, network), and
what the first visit downloads. Run it on an otherwise
idle machine.
"""

import argparse
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import model_from  # noqa: E402
from demo.onnx_routes import LIVE_PATH, onnx_routes  # noqa: E402
from tests.support.network_page import open_network_page, random_drawing, served  # noqa: E402
from tests.support.page_driver import launch_chromium  # noqa: E402

TARGET_MEDIAN_MS = 33
WARM_UP_CALLS = 5


def percentile(values: list[float], fraction: float) -> float:
    return sorted(values)[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def first_visit_bytes(url: str, manifest: dict) -> int:
    """The runtime, the model and the page's scripts as the server sends them to a browser (gzip accepted)."""
    paths = [manifest["runtime"], manifest["runtime_wasm"], manifest["models"]["one"]["file"], "network.js",
             "network_worker.js", "frame.js"]
    total = 0
    for path in paths:
        request = urllib.request.Request(f"{url.rstrip('/')}{LIVE_PATH}/{path}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            total += len(response.read())
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=50, help="predictions timed (default 50)")
    p.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped checkpoint")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(0)
    with served(onnx_routes({"one": model_from(args)})) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        started = time.monotonic()
        tab = open_network_page(browser, url)
        ready_s = time.monotonic() - started
        if tab.evaluate("capsnetLocal.place") != "browser":
            sys.exit(f"error: the network did not start in the page: {tab.evaluate('capsnetLocal.reason')}")
        tab.evaluate("([paths, pen, count]) => timePredictions(paths, pen, count)",
                     [*random_drawing(rng, 8), WARM_UP_CALLS])
        times = {"total": [], "frame": [], "network": []}
        for digit in range(10):  # a tenth of the calls on each digit
            paths, pen = random_drawing(rng, digit)
            count = args.calls // 10 + (digit < args.calls % 10)
            for part, values in tab.evaluate("([paths, pen, count]) => timePredictions(paths, pen, count)",
                                             [paths, pen, count]).items():
                times[part] += values
        download = first_visit_bytes(url, tab.evaluate("capsnetLocal.manifest"))
        browser.close()
    median = statistics.median(times["total"])
    print(f"network in the page after {ready_s:.1f} s (first visit: {download / 1e6:.1f} MB)")
    print(f"prediction in the page ({len(times['total'])} calls): median {median:.1f} ms, "
          f"p95 {percentile(times['total'], 0.95):.1f} ms "
          f"(target: median <= {TARGET_MEDIAN_MS} ms: {'met' if median <= TARGET_MEDIAN_MS else 'NOT met'})")
    for part in ("frame", "network"):
        print(f"  of which {part}: median {statistics.median(times[part]):.1f} ms, "
              f"p95 {percentile(times[part], 0.95):.1f} ms")


if __name__ == "__main__":
    main()
