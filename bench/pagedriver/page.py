"""The demo page in Debian's Chromium, driven with Playwright: start the demo, open its page, draw, drag sliders,
read the answers; shared by the browser tests, the benchmarks and scripts/screenshot.py."""

import base64
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .digit_strokes import PAIR_BOXES, strokes

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Playwright cannot download its own browsers here; these flags make Debian's run headless in a container.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
SLIDERS = 16  # #dim-0 ... #dim-15
# Generous: CI's 2 cores may be busy; nothing here measures speed.
TIMEOUT_MS = 60_000
MISSING_BROWSER = f"{CHROMIUM} not found; install it with `apt-get install -y chromium`"


def browser_missing() -> bool:
    return not CHROMIUM.exists()


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_demo(browser, url: str, touch: bool = False):
    """A new tab on the demo, returned once canvas.js has run (it paints the canvas white), the last slider is on
    the page and decoder.js knows where slider moves are drawn (the page runs its decoder graph, or cannot).

    touch: a touch screen, as on a phone. page.js_errors collects the tab's uncaught
    JavaScript errors from the start.
    """
    page = browser.new_page(viewport=VIEWPORT, has_touch=touch)
    page.set_default_timeout(TIMEOUT_MS)
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    page.goto(url)
    page.wait_for_function(
        "(last) => { const c = document.querySelector('#canvas canvas');"
        " return c && c.getContext('2d').getImageData(0, 0, 1, 1).data[0] === 255"
        " && document.querySelector(`#dim-${last} input[type=range]`) !== null; }", arg=SLIDERS - 1)
    page.wait_for_function("() => ['browser', 'server'].includes("
                           "document.querySelector('#reconstruction [data-decoder]')?.dataset.decoder)")
    return page


class Blocking:
    """A browser whose new tabs cannot fetch what matches glob (the request fails), for open_demo."""

    def __init__(self, browser, glob: str):
        self.browser, self.glob = browser, glob

    def new_page(self, **options):
        tab = self.browser.new_page(**options)
        tab.route(self.glob, lambda route: route.abort())
        return tab


def decoder_place(page) -> str:
    """Where decoder.js draws slider moves: "browser", or "server" when the decoder cannot run in the page."""
    return page.evaluate("() => document.querySelector('#reconstruction [data-decoder]').dataset.decoder")


def canvas_box(page) -> tuple[float, float, float, float]:
    """Where a digit is drawn: a box in the middle of the canvas, in page pixels (left, top, width, height)."""
    box = page.locator("#canvas canvas").bounding_box()
    return box["x"] + 0.3 * box["width"], box["y"] + 0.15 * box["height"], 0.4 * box["width"], 0.7 * box["height"]


def draw(page, digit: int, finish: bool = True) -> None:
    """Draws the digit with the mouse; with finish=False the pen stays down on the last stroke's end."""
    draw_strokes(page, strokes(digit, canvas_box(page)), finish)


def draw_strokes(page, paths: list[list[tuple[float, float]]], finish: bool = True, steps: int = 2) -> None:
    """Draws the strokes (lists of page points) with the mouse, in steps mouse moves from each point to the next; with
    finish=False the pen stays down at the end."""
    for number, path in enumerate(paths):
        page.mouse.move(*path[0])
        page.mouse.down()
        for point in path[1:]:
            page.mouse.move(*point, steps=steps)
        if finish or number < len(paths) - 1:
            page.mouse.up()


def draw_pair(page, first: int, second: int) -> None:
    """Draws two digits over each other with the mouse, in digit_strokes.PAIR_BOXES of the canvas."""
    canvas = page.locator("#canvas canvas").bounding_box()
    for digit, (left, top, width, height) in zip((first, second), PAIR_BOXES):
        box = (canvas["x"] + left * canvas["width"], canvas["y"] + top * canvas["height"], width * canvas["width"],
               height * canvas["height"])
        draw_strokes(page, strokes(digit, box))


def choose_mode(page, mode: str) -> None:
    """Clicks #mode's "one digit" or "two digits" and waits until decoder.js draws slider moves with its decoder."""
    page.locator("#mode label", has_text=mode).click()
    page.wait_for_function("(value) => document.querySelector(`#mode input[value=${value}]`).checked"
                           " && document.querySelector('#reconstruction [data-decoder]').dataset.decoder"
                           " !== 'loading'", arg="two" if mode == "two digits" else "one")


def overlay_drawings(page) -> np.ndarray:
    """#overlay's drawings (28, 28, 3) in [0, 1]: red the selected capsule's, green the other digit's."""
    png = base64.b64decode(page.locator("#overlay img.drawings").get_attribute("src").split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32) / 255


def draw_by_touch(page, digit: int) -> None:
    """Draws the digit with a finger: real touch events through the DevTools protocol (Playwright only taps)."""
    touch = page.context.new_cdp_session(page)
    for path in strokes(digit, canvas_box(page)):
        for kind, (x, y) in zip(["touchStart"] + ["touchMove"] * (len(path) - 1), path):
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    touch.detach()


def predicted_digit(page) -> str:
    return page.locator("#prediction .predicted-digit").inner_text()


def wait_for_prediction(page, digit: str | None = None) -> str:
    """Waits until a digit (the given one, if any) is shown, and returns it."""
    page.wait_for_function(
        "(want) => { const d = document.querySelector('#prediction .predicted-digit');"
        " return d && d.innerText !== '?' && (want === null || d.innerText === want); }", arg=digit)
    return predicted_digit(page)


def image_src(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} img").get_attribute("src")


def wait_for_new_src(page, elem_id: str, old: str) -> str:
    page.wait_for_function("([id, old]) => document.querySelector(`#${id} img`).getAttribute('src') !== old",
                           arg=[elem_id, old])
    return image_src(page, elem_id)


def pixels(data_url: str) -> np.ndarray:
    """A PNG data URL's pixels as floats in [0, 1]."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32) / 255


def slider_value(page, dim: int) -> float:
    """The exact value (the range input shows it rounded to the slider's step)."""
    return float(page.locator(f"#dim-{dim} input[type=number]").input_value())


def wait_for_pose(page, old: list[float] | None = None) -> list[float]:
    """Waits until the 16 sliders hold a pose other than old (default: all zero) and returns it."""
    page.wait_for_function(
        "(old) => [...Array(old.length).keys()].some(dim =>"
        " Number(document.querySelector(`#dim-${dim} input[type=number]`).value) !== old[dim])",
        arg=old or [0.0] * SLIDERS)
    return pose_on_page(page)


def wait_for_reading(page, reader, tolerance: float = 0.01):
    """What reader (a demo.compute.readers.Reader) makes of the canvas's drawing, once the page shows it, whoever
    read it (the page itself or the server): the selected capsule is its digit and the sliders hold its pose
    (within tolerance: the page's live path, with 8-bit weights, against torch; docs/in-page-network.md). Returns
    the reader's Answer."""
    url = page.evaluate("() => document.querySelector('#canvas canvas').toDataURL('image/png')")
    expected = reader.drawing(url)
    try:
        page.wait_for_function(
            "([digit, pose, tolerance]) => document.querySelector('#digit input:checked')?.value === String(digit)"
            " && pose.every((value, dim) => Math.abs(Number(document.querySelector("
            "`#dim-${dim} input[type=number]`).value) - value) <= tolerance)",
            arg=[expected.digit, expected.pose, tolerance])
    except PlaywrightTimeoutError:
        shown = page.evaluate("() => document.querySelector('#digit input:checked')?.value")
        raise AssertionError(f"the page shows capsule {shown} with pose {pose_on_page(page)}, not capsule "
                             f"{expected.digit} with {expected.pose}") from None
    return expected


def pose_on_page(page) -> list[float]:
    return [slider_value(page, dim) for dim in range(SLIDERS)]


def drag_slider(page, dim: int, fraction: float, steps: int = 8) -> None:
    """Drags slider dim's handle with the mouse to fraction (0-1) of its track, sending input events on the way."""
    drag_to(page, f"dim-{dim}", fraction, steps)


def drag_to(page, elem_id: str, fraction: float, steps: int = 8, release: bool = True) -> None:
    """Drags the handle of the slider #elem_id (a pose slider, #rotate, ...) with the mouse from its value to
    fraction (0-1) of its track, sending input events on the way; release=False keeps the mouse button down."""
    slider = page.locator(f"#{elem_id} input[type=range]")
    slider.scroll_into_view_if_needed()
    track = slider.bounding_box()
    value = float(page.locator(f"#{elem_id} input[type=number]").input_value())
    low, high = (float(slider.get_attribute(a)) for a in ("min", "max"))
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] * (value - low) / (high - low), y)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * fraction, y, steps=steps)
    if release:
        page.mouse.up()


def wait_for_pixels(page, elem_id: str, expected: np.ndarray, tolerance: float) -> np.ndarray:
    """The image once it shows expected (within tolerance), or as it is when TIMEOUT_MS has passed.

    After the mouse is released the last event may still be on its way: poll rather than read once.
    """
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        shown = pixels(image_src(page, elem_id))
        if np.abs(shown - expected).max() <= tolerance or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(100)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_process(port: int, checkpoint: str | Path | None = None, timeout_s: float = 120):
    """`python -m demo` as a user starts it; yields the seconds until its page answered, then stops it."""
    command = [sys.executable, "-m", "demo", "--port", str(port)] + (["--checkpoint", str(checkpoint)] if checkpoint
                                                                      else [])
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not page_answers(f"http://127.0.0.1:{port}/"):
            if process.poll() is not None:
                raise RuntimeError(f"python -m demo stopped: {process.stderr.read().strip()}")
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"python -m demo did not answer within {timeout_s} s")
            time.sleep(0.05)
        yield time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def demo_in_chromium(checkpoint: str | Path | None = None):
    """`python -m demo` (demo_process) and headless Chromium beside it; yields (the page's URL, the browser)."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    with demo_process(port, checkpoint), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield f"http://127.0.0.1:{port}/", browser
        finally:
            browser.close()


def page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class NetworkMessages:
    """What a tab sends and receives over the network from now on, seen through the DevTools protocol: HTTP
    requests, websocket frames, server-sent events, and the chunks of responses to requests made since.

    Not counted: data: URLs (the pictures are data URLs; showing one uses no network), and chunks of responses
    to requests made before, such as Gradio's heartbeat stream, which the server feeds every 15 s whatever the
    page does. Every Gradio event starts with a request or a websocket frame from the tab, and those count.
    """

    FRAMES = ("Network.webSocketFrameSent", "Network.webSocketFrameReceived", "Network.eventSourceMessageReceived")

    def __init__(self, page):
        self.messages: list[str] = []
        self.requests: dict[str, str] = {}  # requestId -> URL, for the requests made since
        self.session = page.context.new_cdp_session(page)
        self.session.send("Network.enable")
        self.session.on("Network.requestWillBeSent", self.on_request)
        self.session.on("Network.dataReceived", self.on_data)
        for frame in self.FRAMES:
            self.session.on(frame, lambda params, frame=frame: self.messages.append(frame))

    def on_request(self, params: dict) -> None:
        url = params["request"]["url"]
        if not url.startswith("data:"):
            self.requests[params["requestId"]] = url
            self.messages.append(f"request {url}")

    def on_data(self, params: dict) -> None:
        if params["requestId"] in self.requests:
            self.messages.append(f"data from {self.requests[params['requestId']]}")

    def close(self) -> None:
        """Stops watching: DevTools' network events slow every picture the page shows."""
        self.session.detach()

    def clear(self) -> None:
        """Counts from now on: what answers a request made before is no longer counted either."""
        self.messages.clear()
        self.requests.clear()


EXPLAINER_VIEWS = ["routing", "primary", "figure4", "all-capsules"]


def choose_capsule(page, digit: int) -> None:
    """Capsule digit chosen on #digit, waited for until Figure 4 shows it."""
    page.locator("#digit label", has_text=str(digit)).click()
    page.wait_for_function("(digit) => document.querySelector('#figure4 .corner')?.innerText === `capsule ${digit}`",
                           arg=digit)


def wait_for_views(page, old: dict[str, str] | None = None) -> dict[str, str]:
    """Waits until the four explainer views show an input (other than in old, if given); returns their HTML."""
    page.wait_for_function(
        "([ids, old]) => ids.every(id => { const view = document.querySelector(`#${id}`);"
        " return view.querySelector('img') !== null && (old === null || view.innerHTML !== old[id]); })",
        arg=[EXPLAINER_VIEWS, old])
    return {view: page.locator(f"#{view}").inner_html() for view in EXPLAINER_VIEWS}


def drawing_sends_after_lifting(page, digit: int = 1) -> int:
    """Draws a one-stroke digit on a cleared canvas, holds the pen still until what it sent while down is answered,
    lifts it and waits for the four views: the number of requests after the lift whose body holds the drawing's
    data URL (the prediction's own is one)."""
    page.locator("#clear").click()
    page.wait_for_function("(ids) => ids.every(id => document.querySelector(`#${id} img`) === null)",
                           arg=EXPLAINER_VIEWS)
    draw(page, digit, finish=False)
    wait_for_prediction(page)
    page.wait_for_timeout(500)  # canvas.js sends at most every 100 ms while the pen is down
    bodies = []

    def record(request):
        if request.method == "POST":
            bodies.append(request.post_data or "")

    page.on("request", record)
    page.mouse.up()
    wait_for_views(page)
    page.wait_for_timeout(500)  # anything sent late
    page.remove_listener("request", record)
    drawing = page.evaluate("() => document.querySelector('#canvas canvas').toDataURL('image/png')")
    return sum(drawing in body for body in bodies)
