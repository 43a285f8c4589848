"""A classroom at once: N people drawing at a class's pace against `python -m demo`, with the network in the page.

    python -m bench.classroom [--people 10 25 50] [--seconds 40] [--mode one|two] [--server-args "--torch-threads 1"]

While a pen moves, the wired page predicts by itself (demo/static/components/canvas.js with network.js) and sends nothing. What it
sends per finished stroke is played here over HTTP, as each person finishes a stroke every STROKE_EVERY_S: the
drawing once (the draw event, pen up), then what the prediction's new #new-result number fires in the page: the
explain event (the four views, and #sweep, skipped while its tab is closed). Now and then a person drags a pose
slider: decoded in the page too, no request, only counted. --mode two: everyone is in two-digit mode, drawing two
digits over each other (the pair model reads them; the in-page part below stays in one-digit mode).

One server for every N, one after another (--seconds each). Prints for each N: strokes, server requests per
stroke, stroke end -> views (the drawing sent until the views' answer) p50 and p95, errors (anything but HTTP 200
with a full answer) and the server's RSS before, at its peak and after. Targets for 50 people: 0 errors, p95 <= 1 s.
Before the classes, what a finished stroke costs the server: its CPU time per event, one person drawing alone.
Then one person in headless Chromium draws the ten digits in the same server's page (bench/bench_network_js.py's
while_drawing): the in-page prediction's latency while drawing (median and p95; target median <= 33 ms) and the
network messages while a pen was down (target 0). Loopback only; bounded in time. Not a test: it prints figures;
run it on an otherwise idle machine.
"""

import argparse
import random
import shlex
import statistics
import threading
import time
import urllib.request

from bench.bench_network_js import print_while_drawing, while_drawing
from bench.load_demo import ONE, PEN_UP, SETTLE_S, TWO, Server, Session, drawings, percentile
from bench.pagedriver.page import launch_chromium
from demo.server.assets import MANIFEST_PATH

STROKE_EVERY_S = 3.0  # a class's pace: a finished stroke every 3 s per person
SLIDER_CHANCE = 0.2  # after a stroke, a person drags a pose slider this often
ITERATIONS = 3  # #iterations as the page starts: the shipped model's
SWEEP_SHOWN = False  # #sweep's tab is closed: the explain event makes only the views
VIEWS = 4  # #routing, #primary, #figure4, #all-capsules: the explain event's first outputs
TARGET_P95_S = 1.0


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.to_views: list[float] = []  # seconds from a stroke's end to its views, for strokes answered in full
        self.strokes = self.requests = self.errors = self.slider_drags = 0
        self.examples: list[str] = []

    def add(self, requests: int, seconds: float | None, error: str, dragged: bool) -> None:
        with self.lock:
            self.strokes += 1
            self.requests += requests
            self.slider_drags += dragged
            if seconds is not None:
                self.to_views.append(seconds)
            if error:
                self.errors += 1
                if len(self.examples) < 5:
                    self.examples.append(error)


def stroke_events(drawing: str, mode: str) -> tuple[tuple[str, tuple], tuple[str, tuple]]:
    """The two events the page sends as a stroke ends in #mode mode, with their values: the prediction, then the
    views."""
    return ("draw", (drawing, PEN_UP, mode)), ("explain", (None, ITERATIONS, SWEEP_SHOWN))


def shown(view) -> bool:
    """Does an explainer view show the input: HTML with a picture, or numbers that the page draws (not {waiting})?"""
    return "<img" in view if isinstance(view, str) else isinstance(view, dict) and "waiting" not in view


def finished_stroke(session: Session, drawing: str, mode: str) -> tuple[int, float | None, str]:
    """What the page sends as a stroke ends: (requests, seconds to the views or None, an error or "")."""
    draw, explain = stroke_events(drawing, mode)
    started = time.perf_counter()
    status, answer, _ = session.call(draw[0], *draw[1])
    if status != 200 or not answer:
        return 1, None, f"draw: HTTP {status}"
    status, views, _ = session.call(explain[0], *explain[1])
    seconds = time.perf_counter() - started
    if status != 200 or not views or not all(map(shown, views[:VIEWS])):
        return 2, None, f"explain: HTTP {status}"
    return 2, seconds, ""


def stroke_cost(server: Server, mode: str, strokes: int = 50) -> dict[str, float]:
    """The server's CPU milliseconds per request of each event a finished stroke sends, one person alone."""
    session, urls, cost = Session(server.port), drawings(0, mode), {}
    for event, values in stroke_events(urls[3], mode):
        started = server.cpu_seconds()
        for _ in range(strokes):
            session.call(event, *values)
        cost[event] = 1000 * (server.cpu_seconds() - started) / strokes
    return cost


def person(port: int, number: int, deadline: float, tally: Tally, mode: str) -> None:
    rng = random.Random(2200 + number)
    session, urls = Session(port), drawings(number, mode)
    next_stroke = time.monotonic() + rng.uniform(0, STROKE_EVERY_S)  # a class does not start in step
    while True:
        time.sleep(max(0.0, next_stroke - time.monotonic()))
        if time.monotonic() > deadline:
            return
        requests, seconds, error = finished_stroke(session, urls[rng.randrange(10)], mode)
        tally.add(requests, seconds, error, rng.random() < SLIDER_CHANCE)
        next_stroke += STROKE_EVERY_S


def classroom(server: Server, people: int, seconds: float, mode: str) -> dict:
    before = server.reset_peak()
    tally, deadline = Tally(), time.monotonic() + seconds
    threads = [threading.Thread(target=person, args=(server.port, n, deadline, tally, mode)) for n in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(SETTLE_S)
    return {"tally": tally, "before": before, "peak": server.peak_mb, "after": server.rss_mb()}


def report(people: int, seconds: float, result: dict) -> None:
    tally = result["tally"]
    print(f"{people} people, {seconds:.0f} s: {tally.strokes} strokes, "
          f"{tally.requests / max(tally.strokes, 1):.1f} server requests per stroke, {tally.errors} errors, "
          f"{tally.slider_drags} slider drags (0 requests: decoded in the page)")
    if tally.to_views:
        p95 = percentile(tally.to_views, 0.95)
        print(f"  stroke end -> views: p50 {1000 * statistics.median(tally.to_views):.0f} ms, p95 {1000 * p95:.0f} ms "
              f"(target p95 <= {1000 * TARGET_P95_S:.0f} ms: {'met' if p95 <= TARGET_P95_S else 'NOT met'})")
    print(f"  server RSS: {result['before']:.0f} MB before, {result['peak']:.0f} MB peak, "
          f"{result['after']:.0f} MB {SETTLE_S} s after")
    for example in tally.examples:
        print(f"  error: {example}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, nargs="+", default=[10, 25, 50], help="class sizes, one after another")
    p.add_argument("--seconds", type=float, default=40, help="length of each class's load (default: 40)")
    p.add_argument("--mode", choices=[ONE, TWO], default=ONE, help="#mode of every person: one digit (default) or two")
    p.add_argument("--server-args", default="", help="extra arguments for python -m demo")
    args = p.parse_args()
    server = Server(shlex.split(args.server_args))
    try:
        # Gradio's first request sets things up.
        Session(server.port).call("draw", drawings(0, args.mode)[3], PEN_UP, args.mode)
        # The class's pages have loaded: their network's manifest waits for the models' ONNX export, as a page does.
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}{MANIFEST_PATH}", timeout=120).read()
        cost = stroke_cost(server, args.mode)
        print(f"{args.mode}-digit mode: a finished stroke costs the server {sum(cost.values()):.1f} ms of CPU, "
              "one person alone (" + ", ".join(f"{event} {ms:.1f} ms" for event, ms in cost.items()) + ")")
        for people in args.people:
            report(people, args.seconds, classroom(server, people, args.seconds, args.mode))
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            print("one person in Chromium on this machine, after the classes:")
            print_while_drawing(*while_drawing(browser, f"http://127.0.0.1:{server.port}/"))
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
