"""How fast the page predicts by itself (demo/static/modules/network.js: frame.js and ONNX Runtime Web in a Web Worker), in headless
Chromium on this machine's CPU.

    python -m bench.bench_network_js [--calls 50] [--checkpoint PATH]

Serves the live routes (demo/server/assets.py) with a bare canvas page (bench/pagedriver/network_page.py), draws a few
digits on it and times --calls predictions of them one after another, as the pen asks while it moves: from
capsnetLocal.predict(imageData) to its answer (the worker frames the drawing and runs the model). Prints the
seconds until the network runs in the page (the model fetched and set up), the median and p95 of a prediction
(target: median <= 33 ms, every other frame at 60 Hz) and of its two parts in the worker (framing, network). What a
first visit downloads: bench/first_visit.py.

Then in the real demo page (`python -m demo`, started as a user would): it draws the ten digits stroke by stroke
with the mouse and prints the latency of the page's own predictions while the pen moves (canvas.js: from reading the
canvas, which it does when the worker is free, to the answer, shown; and the worker's part; median and p95, target
median <= 33 ms), then draws them again counting the network messages the
tab sent or received while a pen was down (target 0). Run it on an otherwise idle machine.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import model_from
from bench.pagedriver.digit_strokes import strokes
from bench.pagedriver.network_page import open_network_page, random_drawing, served
from bench.pagedriver.page import (
    NetworkMessages,
    canvas_box,
    demo_process,
    draw_strokes,
    free_port,
    launch_chromium,
    open_demo,
    wait_for_prediction,
)
from demo.server.assets import onnx_routes

TARGET_MEDIAN_MS = 33
WARM_UP_CALLS = 5


def percentile(values: list[float], fraction: float) -> float:
    return sorted(values)[min(len(values) - 1, round(fraction * (len(values) - 1)))]


QUIET_MS = 700  # after a stroke: its answers are in once the tab has sent and received nothing for this long
QUIET_AT_MOST_S = 20


def wait_until_quiet(tab) -> None:
    """Waits until what the last lifted pen sent (the drawing, then the views' events) is answered."""
    messages = NetworkMessages(tab)
    deadline, seen = time.monotonic() + QUIET_AT_MOST_S, -1
    while len(messages.messages) != seen and time.monotonic() < deadline:
        seen = len(messages.messages)
        tab.wait_for_timeout(QUIET_MS)
    messages.close()


def draw_ten_digits(tab, count_messages: bool) -> list[str]:
    """Draws the ten digits a stroke at a time, each stroke's answers awaited: the network messages while a pen was
    down, if counted (counting slows the page's pictures: the timed pass does not count)."""
    sent = []
    for digit in range(10):
        tab.locator("#clear").click()
        wait_until_quiet(tab)
        for path in strokes(digit, canvas_box(tab)):
            messages = NetworkMessages(tab) if count_messages else None
            draw_strokes(tab, [path], finish=False)
            tab.wait_for_timeout(200)  # the stroke's last prediction
            if messages is not None:
                sent += messages.messages
                messages.close()
            tab.mouse.up()
            wait_until_quiet(tab)
        wait_for_prediction(tab)
    return sent


def while_drawing(browser, url: str) -> tuple[dict[str, list[float]], list[str]]:
    """The ten digits drawn twice in the demo page at url: ({"shown": the milliseconds from reading the canvas to
    showing each prediction while a pen moved, "worker": of which the worker's}, the network messages while a pen
    was down)."""
    tab = open_demo(browser, url)
    tab.wait_for_function("() => window.capsnetLocal && capsnetLocal.place !== 'loading'")
    if tab.evaluate("capsnetLocal.place") != "browser":
        sys.exit(f"error: the network did not start in the demo page: {tab.evaluate('capsnetLocal.reason')}")
    tab.evaluate("() => { window.shownMs = {shown: [], worker: []};"
                 " document.addEventListener('capsnet-local', ({detail}) => { if (detail.final || detail.ms === undefined) return;"
                 " shownMs.shown.push(detail.ms); shownMs.worker.push(detail.workerMs); }); }")
    draw_ten_digits(tab, count_messages=False)
    times = tab.evaluate("shownMs")
    sent = draw_ten_digits(tab, count_messages=True)
    tab.close()
    return times, sent


def print_while_drawing(shown: dict[str, list[float]], sent: list[str]) -> None:
    median = statistics.median(shown["shown"])
    print(f"in the demo page while drawing the ten digits ({len(shown['shown'])} predictions shown): from reading "
          f"the canvas to showing: median {median:.1f} ms, p95 {percentile(shown['shown'], 0.95):.1f} ms "
          f"(target: median <= {TARGET_MEDIAN_MS} ms: {'met' if median <= TARGET_MEDIAN_MS else 'NOT met'})")
    print(f"  of which the worker (framing and network): median {statistics.median(shown['worker']):.1f} ms, "
          f"p95 {percentile(shown['worker'], 0.95):.1f} ms")
    print(f"network messages while a pen was down: {len(sent)} (target 0)"
          f"{''.join(f'; {message}' for message in sent[:3])}")


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
        port = free_port()
        with demo_process(port, args.checkpoint):
            drawing, sent = while_drawing(browser, f"http://127.0.0.1:{port}/")
        browser.close()
    median = statistics.median(times["total"])
    print(f"network in the page after {ready_s:.1f} s")
    print(f"prediction in the page ({len(times['total'])} calls): median {median:.1f} ms, "
          f"p95 {percentile(times['total'], 0.95):.1f} ms "
          f"(target: median <= {TARGET_MEDIAN_MS} ms: {'met' if median <= TARGET_MEDIAN_MS else 'NOT met'})")
    for part in ("frame", "network"):
        print(f"  of which {part}: median {statistics.median(times[part]):.1f} ms, "
              f"p95 {percentile(times[part], 0.95):.1f} ms")
    print_while_drawing(drawing, sent)


if __name__ == "__main__":
    main()
