"""A lecture hall at once: N people drawing at a class's pace against `python -m demo`, with the network in the page.

    python -m bench.classroom [--people 50 500] [--seconds 40] [--choices 0] [--mode one|two]
                              [--server-args "--torch-threads 1"]

The page reads a drawing itself, the explainer views included, while the pen moves and when it is lifted, and
answers a capsule choice, #iterations and Reset for it too (demo/static/components/canvas.js with network.js): none of
them sends anything. What the page does send is played here over HTTP: each person's page opens before the class (its
HTML and the manifest; the graphs and the runtime are in the browser's cache after a first visit, which
docs/in-page-network.md measures); in the class each person finishes a stroke every STROKE_EVERY_S. --choices F: after
F of the strokes, a capsule choice that the server answers, as for an input the server read (an example, an upload)
or a page without WebAssembly: the select event carries the drawing, which the server reads then (wiring.current),
and the views for that capsule follow (explain_selected).

First, on the fresh server, one person in headless Chromium draws three digits and chooses another capsule for each,
then another iteration count and Reset: the POSTs they sent (target 0) and the server's CPU per stroke (target <= 5
ms); and what a capsule choice asked of the server costs it, one person alone. Then one server for every N, one
after another (--seconds each). Prints for each N: how long the N pages took to open, strokes, server requests per
stroke, the server's CPU per stroke (all it did during the class, over the strokes), a capsule choice -> its views
p50 and p95 (with --choices), errors (anything but HTTP 200 with a full answer), the server's RSS before, at its peak
and after, and then its CPU per second with nobody drawing (target <= 5 ms/s). Last, one person in Chromium draws
the ten digits twice: the in-page prediction's latency while drawing (median and p95; target median <= 33 ms) and
the network messages while a pen was down (target 0). Loopback only; bounded in time. Not a test: it prints figures;
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
from bench.load_demo import ONE, SETTLE_S, TWO, Server, Session, current, drawings, percentile
from bench.pagedriver.digit_strokes import strokes as digit_strokes
from bench.pagedriver.page import (
    EXPLAINER_VIEWS,
    canvas_box,
    choose_capsule,
    choose_mode,
    draw,
    draw_pair,
    launch_chromium,
    open_demo,
    wait_for_views,
)
from demo.server.assets import MANIFEST_PATH

STROKE_EVERY_S = 3.0  # a class's pace: a finished stroke every 3 s per person
CHOICES = 0.0  # after a stroke, a capsule choice the server answers this often (--choices): the page answers its own
ITERATIONS = 3  # #iterations as the page starts: the shipped model's
SWEEP_SHOWN = False  # #sweep's tab is closed: explain_selected makes only the views
VIEWS = 4  # #routing, #primary, #figure4, #all-capsules: explain_selected's first outputs
IDLE_S = 10  # nobody drawing, the pages open: the server's CPU per second over this long
TARGET_P95_S = 1.0
TARGET_IDLE_MS_PER_S = 5
TARGET_STROKE_MS = 5


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.to_views: list[float] = []  # seconds from a capsule choice to its views, for those answered in full
        self.strokes = self.requests = self.errors = self.choices = self.opened = 0
        self.examples: list[str] = []

    def page_opened(self) -> None:
        with self.lock:
            self.opened += 1

    def add(self, requests: int, seconds: float | None, error: str) -> None:
        with self.lock:
            self.strokes += 1
            self.requests += requests
            self.choices += requests > 0
            if seconds is not None:
                self.to_views.append(seconds)
            if error:
                self.errors += 1
                if len(self.examples) < 5:
                    self.examples.append(error)


def choice_events(drawing: str, digit: int, mode: str) -> tuple[tuple[str, tuple], tuple[str, tuple]]:
    """The two events the page sends as a person chooses capsule digit for the drawing the page read: the choice,
    which carries the drawing, then the views for it."""
    state, _, _ = current(mode)
    return ("select", (digit, state, drawing, mode)), ("explain_selected", (state, digit, ITERATIONS, SWEEP_SHOWN))


def shown(view) -> bool:
    """Does an explainer view show the input: numbers that the page draws (not {waiting})?"""
    return isinstance(view, dict) and "waiting" not in view


def open_page(port: int) -> str:
    """What a person's page asks the server for as it opens (the browser has the graphs): "" or an error."""
    try:
        for path in ("/", MANIFEST_PATH):
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120).read()
    except OSError as error:
        return f"opening the page: {error}"
    return ""


def capsule_choice(session: Session, drawing: str, digit: int, mode: str) -> tuple[int, float | None, str]:
    """What the page sends as a person chooses another capsule: (requests, seconds to the views or None, an error
    or "")."""
    select, explain = choice_events(drawing, digit, mode)
    started = time.perf_counter()
    status, answer, _ = session.call(select[0], *select[1])
    if status != 200 or not answer:
        return 1, None, f"select: HTTP {status}"
    status, views, _ = session.call(explain[0], *explain[1])
    seconds = time.perf_counter() - started
    if status != 200 or not views or not all(map(shown, views[:VIEWS])):
        return 2, None, f"explain_selected: HTTP {status}"
    return 2, seconds, ""


def choice_cost(server: Server, mode: str, choices: int = 50) -> dict[str, float]:
    """The server's CPU milliseconds per request of each event a capsule choice sends, one person alone; the drawing
    is new each time, so the server reads it each time (the first choice after a stroke)."""
    session, urls, cost = Session(server.port), drawings(0, mode), {}
    for number in range(choices):
        for event, values in choice_events(urls[number % 10], (number + 1) % 10, mode):
            started = server.cpu_seconds()
            session.call(event, *values)
            cost[event] = cost.get(event, 0.0) + 1000 * (server.cpu_seconds() - started) / choices
    return cost


def person(port: int, number: int, start: threading.Event, seconds: float, tally: Tally, mode: str,
           choices: float) -> None:
    rng = random.Random(2200 + number)
    session, urls = Session(port), drawings(number, mode)
    error = open_page(port)
    tally.page_opened()
    start.wait()  # every page is open: the class begins
    if error:
        tally.add(0, None, error)
        return
    deadline = time.monotonic() + seconds
    next_stroke = time.monotonic() + rng.uniform(0, STROKE_EVERY_S)  # a class does not start in step
    while True:
        time.sleep(max(0.0, next_stroke - time.monotonic()))
        if time.monotonic() > deadline:
            return
        digit = rng.randrange(10)  # the page reads the stroke: nothing is sent
        if rng.random() < choices:
            tally.add(*capsule_choice(session, urls[digit], (digit + 1 + rng.randrange(9)) % 10, mode))
        else:
            tally.add(0, None, "")
        next_stroke += STROKE_EVERY_S


def idle_ms_per_s(server: Server, seconds: float = IDLE_S) -> float:
    started_cpu, started = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return 1000 * (server.cpu_seconds() - started_cpu) / (time.monotonic() - started)


def classroom(server: Server, people: int, seconds: float, mode: str, choices: float) -> dict:
    before = server.reset_peak()
    tally, start = Tally(), threading.Event()
    threads = [threading.Thread(target=person, args=(server.port, n, start, seconds, tally, mode, choices))
               for n in range(people)]
    opening = time.monotonic()
    for thread in threads:
        thread.start()
    while tally.opened < people:
        time.sleep(0.05)
    opened_s = time.monotonic() - opening
    started_cpu = server.cpu_seconds()
    start.set()
    for thread in threads:
        thread.join()
    cpu_s = server.cpu_seconds() - started_cpu
    time.sleep(SETTLE_S)
    return {"tally": tally, "before": before, "peak": server.peak_mb, "after": server.rss_mb(), "cpu_s": cpu_s,
            "idle": idle_ms_per_s(server), "opened_s": opened_s}


def report(people: int, seconds: float, result: dict) -> None:
    tally = result["tally"]
    strokes = max(tally.strokes, 1)
    print(f"{people} pages opened in {result['opened_s']:.1f} s; then {seconds:.0f} s: {tally.strokes} strokes, "
          f"{tally.requests / strokes:.2f} server requests "
          f"per stroke ({tally.choices} capsule choices), {tally.errors} errors; the server's CPU per stroke "
          f"{1000 * result['cpu_s'] / strokes:.1f} ms (its idle rate and the choices included)")
    if tally.to_views:
        p95 = percentile(tally.to_views, 0.95)
        print(f"  capsule choice -> views: p50 {1000 * statistics.median(tally.to_views):.0f} ms, p95 "
              f"{1000 * p95:.0f} ms (target p95 <= {1000 * TARGET_P95_S:.0f} ms: "
              f"{'met' if p95 <= TARGET_P95_S else 'NOT met'})")
    print(f"  server RSS: {result['before']:.0f} MB before, {result['peak']:.0f} MB peak, "
          f"{result['after']:.0f} MB {SETTLE_S} s after")
    idle = result["idle"]
    print(f"  then nobody drawing, {IDLE_S} s: the server's CPU {idle:.1f} ms per second (target <= "
          f"{TARGET_IDLE_MS_PER_S}: {'met' if idle <= TARGET_IDLE_MS_PER_S else 'NOT met'})")
    for example in tally.examples:
        print(f"  error: {example}")


def strokes_in_chromium(browser, server: Server, mode: str, digits=(3, 7, 1)) -> tuple[list[str], float]:
    """Three digits drawn in the page (two over each other each time in two-digit mode) after a first one, each
    waited for until its four views are shown, then another capsule chosen and its views waited for; then 1
    routing iteration and Reset: (the POSTs the page sent meanwhile, the server's CPU milliseconds and the seconds
    per stroke)."""
    tab = open_demo(browser, f"http://127.0.0.1:{server.port}/")
    tab.wait_for_function("() => window.capsnetLocal && capsnetLocal.place !== 'loading'")
    if mode == TWO:
        choose_mode(tab, "two digits")
        tab.evaluate("capsnetLocal.prepare('two')")  # the pair model in the page before the strokes
    box = canvas_box(tab)
    draw(tab, 8)  # a first digit fetches the views' graphs (the first visit's, docs/in-page-network.md): not counted
    wait_for_views(tab)
    posts, strokes = [], 0
    tab.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    started_cpu, started = server.cpu_seconds(), time.monotonic()
    for digit in digits:
        tab.locator("#clear").click()
        tab.wait_for_function("(ids) => ids.every(id => document.querySelector(`#${id} img`) === null)",
                              arg=EXPLAINER_VIEWS)
        if mode == ONE:
            draw(tab, digit)
            strokes += len(digit_strokes(digit, box))
        else:
            draw_pair(tab, digit, (digit + 5) % 10)
            strokes += len(digit_strokes(digit, box)) + len(digit_strokes((digit + 5) % 10, box))
        wait_for_views(tab)
        choose_capsule(tab, (digit + 1) % 10)
    tab.locator("#iterations label", has_text="1").click()
    tab.wait_for_function("() => document.querySelectorAll('#routing .iterations > *').length === 1")
    tab.locator("#reset").click()
    tab.wait_for_timeout(500)  # anything sent late
    cpu_ms, seconds = 1000 * (server.cpu_seconds() - started_cpu), time.monotonic() - started
    tab.close()
    return posts, cpu_ms / strokes, seconds / strokes


def print_strokes_in_chromium(mode: str, posts: list[str], cpu_ms: float, seconds: float, idle: float) -> None:
    """idle: the server's CPU milliseconds per second with nobody drawing, which it spends in a stroke's seconds too."""
    own = cpu_ms - idle * seconds
    print(f"  {mode}-digit mode, three digits drawn, each to its four views, a capsule chosen for each, then "
          f"#iterations and Reset: {len(posts)} POSTs (target 0); the "
          f"server's CPU {cpu_ms:.1f} ms per stroke, of which {idle * seconds:.1f} ms its idle rate ({idle:.1f} ms/s "
          f"over the stroke's {seconds:.1f} s): {own:.1f} ms the stroke's own (target <= {TARGET_STROKE_MS}: "
          f"{'met' if own <= TARGET_STROKE_MS and not posts else 'NOT met'})" + "".join(f"; {url}" for url in posts[:3]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, nargs="+", default=[50, 500], help="class sizes, one after another")
    p.add_argument("--seconds", type=float, default=40, help="length of each class's load (default: 40)")
    p.add_argument("--choices", type=float, default=CHOICES,
                   help=f"capsule choices asked of the server per finished stroke (default: {CHOICES})")
    p.add_argument("--mode", choices=[ONE, TWO], default=ONE, help="#mode of every person: one digit (default) or two")
    p.add_argument("--server-args", default="", help="extra arguments for python -m demo")
    args = p.parse_args()
    server = Server(shlex.split(args.server_args))
    try:
        # Gradio's first request sets things up; the manifest waits for the models' ONNX export, as a page does.
        Session(server.port).call("select", *choice_events(drawings(0, args.mode)[3], 3, args.mode)[0][1])
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}{MANIFEST_PATH}", timeout=120).read()
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            print("one person in Chromium on this machine, the server otherwise idle:")
            drawn = strokes_in_chromium(browser, server, args.mode)
            print_strokes_in_chromium(args.mode, *drawn, idle_ms_per_s(server))
            cost = choice_cost(server, args.mode)
            print(f"{args.mode}-digit mode: a finished stroke sends nothing; a capsule choice asked of the server "
                  f"(an input the server read) costs it {sum(cost.values()):.1f} ms of CPU, one person alone ("
                  + ", ".join(f"{event} {ms:.1f} ms" for event, ms in cost.items()) + f"); {args.choices:g} "
                  "such choices per stroke below")
            for people in args.people:
                report(people, args.seconds, classroom(server, people, args.seconds, args.mode, args.choices))
            print("one person in Chromium on this machine, after the classes:")
            print_while_drawing(*while_drawing(browser, f"http://127.0.0.1:{server.port}/"))
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
