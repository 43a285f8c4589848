"""The demo under a crowd and under bad input: `python -m demo` started as a user would, driven over HTTP.

    python -m bench.load_demo [--sessions 20] [--seconds 60] [--server-args "--torch-threads 1"]

1. Input limits: a 13000x13000 PNG bomb (about 0.2 MB) sent as a drawing, 8 drawings of
   7000x7000 pixels (49 MP, just under the limit) at once, and a 100 MB upload; prints
   each answer and the server's peak RSS above its idle RSS.
2. Load: N sessions (threads, each its own Gradio session) for a fixed time. Each draws
   a digit (bench/pagedriver/digit_strokes.py, its own pen and placement), moves sliders, picks another
   capsule and resets, calling the page's events by name (draw, pose, select, reset), at
   a person's pace (--flat-out: no pauses, a stress test). Every other session first switches
   #mode to two digits (the mode event) and draws two digits over each other instead; its
   prediction is right when the capsule it selects is one of the two.
   Counted: requests, errors (anything but HTTP 200 with a full answer), wrong predictions,
   cross-session leaks (reset must give back this session's own pose), latency p50/p95
   per event, and the server's RSS before, at its peak and after the load.

--compare runs the load once per server setting given (e.g. --compare "--torch-threads 1"
"--torch-threads 2") in one run, alternating twice, so that the machine's noise shows.
Loopback only; bounded in time and requests. Not a test: it prints figures.
"""

import argparse
import base64
import http.client
import io
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import threading
import time
import uuid

from PIL import Image, ImageChops

from bench.pagedriver.digit_strokes import PAIR_BOXES, render
from bench.pagedriver.page import REPO, free_port, page_answers

POSE_DIMS = 16
# Where the draw event's answer holds the selected capsule and its pose (demo.app.Page.answered's order: the
# reading twice, the input, the reconstruction, the overlay, then these).
DIGIT, POSE = 5, slice(6, 6 + POSE_DIMS)
# A person's pace, as the page sends it: while the pen moves the canvas sends at most every
# 100 ms; a dragged slider sends as fast as answers come, at most 20 a second here; then a pause.
DRAW_SENDS, DRAW_INTERVAL_S = 3, 0.1
PEN_DOWN, PEN_UP = True, False  # the draw event's second value: is the pen still on the canvas?
ONE, TWO = "one", "two"  # #mode's values, the draw event's third value: one digit, or two over each other
SLIDER_MOVES, SLIDER_INTERVAL_S = 10, 0.05
PAUSE_S = (0.5, 1.5)
MAX_REQUESTS_PER_SESSION = 5000
SETTLE_S = 5  # after the load, before the last RSS reading


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class Server:
    """`python -m demo --port P [args]` in a subprocess; its RSS read from /proc, sampled every 20 ms for the peak."""

    def __init__(self, args: list[str]):
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "demo", "--port", str(self.port), *args], cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = time.monotonic()
        while not page_answers(f"http://127.0.0.1:{self.port}/"):
            if self.process.poll() is not None or time.monotonic() - started > 120:
                self.stop()
                raise RuntimeError(f"python -m demo did not start: {self.process.stderr.read().strip()[-500:]}")
            time.sleep(0.1)
        self.peak_mb = self.rss_mb()
        self.sampling = True
        threading.Thread(target=self._sample, daemon=True).start()

    def rss_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _sample(self) -> None:
        while self.sampling and self.process.poll() is None:
            self.peak_mb = max(self.peak_mb, self.rss_mb())
            time.sleep(0.02)

    def cpu_seconds(self) -> float:
        """The CPU time the server has used so far (user and system, all its threads)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak(self) -> float:
        self.peak_mb = self.rss_mb()
        return self.peak_mb

    def stop(self) -> None:
        self.sampling = False
        self.process.terminate()
        self.process.wait(timeout=30)


class Session:
    """One Gradio session over one keep-alive HTTP connection."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.hash = uuid.uuid4().hex[:11]

    def call(self, event: str, *values) -> tuple[int, list | None, float]:
        """(HTTP status, the answer's data, seconds) of one event called by name. A keep-alive connection that the
        server closed while it was idle is opened again, once, as a browser does."""
        body = json.dumps({"data": list(values), "session_hash": self.hash})
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.connection.request("POST", f"/gradio_api/run/{event}", body,
                                        {"Content-Type": "application/json"})
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()  # closed by the server while idle: the next request reconnects
                if attempt == 1:
                    return 0, None, time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                self.connection.close()
                return 0, None, time.perf_counter() - started
        seconds = time.perf_counter() - started
        data = json.loads(raw).get("data") if response.status == 200 else None
        return response.status, data, seconds


def current(mode: str) -> tuple:
    """wiring.Page.tab's values for an event that reads the tab's input, as the server read it: the tab's state (None:
    the server's own), no drawing of the page's own (None: the state is current) and #mode."""
    return None, None, mode


def predicted(answer: list) -> int | None:
    return answer[DIGIT] if isinstance(answer[DIGIT], int) else None


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {event: [] for event in ("mode", "draw", "pose", "select", "reset")}
        self.errors, self.wrong, self.leaks = 0, 0, 0
        self.examples = []

    def add(self, event: str, seconds: float, ok: bool, note: str = "") -> None:
        with self.lock:
            self.latencies[event].append(seconds)
            if not ok:
                self.errors += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{event}: {note}")


def drawings(session: int, mode: str) -> dict[int, str]:
    """This session's own way of drawing each digit: pen width and placement differ from session to session. In
    two-digit mode digit d is drawn with d + 5 (mod 10) over it, each in its place of PAIR_BOXES."""
    rng = random.Random(session)
    size = 280
    urls = {}
    for digit in range(10):
        pen = rng.randint(12, 24)
        width, height = rng.uniform(0.4, 0.5) * size, rng.uniform(0.62, 0.75) * size
        left, top = rng.uniform(0.2, 0.35) * size, rng.uniform(0.1, 0.2) * size
        if mode == ONE:
            urls[digit] = png_data_url(render(digit, size=size, box=(left, top, width, height), pen=pen))
            continue
        drawn = [render(d, size=size, box=tuple(f * size for f in box), pen=pen)
                 for d, box in zip((digit, partner(digit)), PAIR_BOXES)]
        urls[digit] = png_data_url(ImageChops.darker(*drawn))
    return urls


def partner(digit: int) -> int:
    """The digit drawn over digit in two-digit mode."""
    return (digit + 5) % 10


def paced(interval_s: float, seconds: float, flat_out: bool) -> None:
    """Waits out the rest of interval_s after a request that took seconds (a person's pace)."""
    if not flat_out:
        time.sleep(max(0.0, interval_s - seconds))


def run_session(port: int, number: int, deadline: float, tally: Tally, flat_out: bool) -> None:
    rng = random.Random(1000 + number)
    mode = TWO if number % 2 else ONE
    session, urls = Session(port), drawings(number, mode)
    if mode == TWO:
        status, answer, seconds = session.call("mode", *current(TWO))
        tally.add("mode", seconds, status == 200 and answer is not None, f"HTTP {status}")
    for _ in range(MAX_REQUESTS_PER_SESSION // (DRAW_SENDS + SLIDER_MOVES + 2)):
        if time.monotonic() > deadline:
            break
        digit = rng.randrange(10)
        for send in range(DRAW_SENDS):
            status, answer, seconds = session.call("draw", urls[digit], PEN_DOWN if send < DRAW_SENDS - 1 else PEN_UP,
                                                   mode)
            ok = status == 200 and answer is not None and len(answer) >= POSE.stop
            tally.add("draw", seconds, ok, f"HTTP {status}")
            paced(DRAW_INTERVAL_S, seconds, flat_out)
        if not ok:
            continue
        shown, pose = predicted(answer), answer[POSE]
        if shown not in ((digit,) if mode == ONE else (digit, partner(digit))):
            with tally.lock:
                tally.wrong += 1
        sliders = list(pose)
        for _ in range(SLIDER_MOVES):
            dim = rng.randrange(POSE_DIMS)
            sliders[dim] = round(min(max(sliders[dim] + rng.uniform(-0.25, 0.25), -0.8), 0.8), 2)
            status, answer, seconds = session.call("pose", shown, *sliders, *current(mode))
            image = answer[0] if answer else None
            image_ok = isinstance(image, str) and image.startswith("data:image/png") or isinstance(image, dict)
            tally.add("pose", seconds, status == 200 and image_ok, f"HTTP {status}")
            paced(SLIDER_INTERVAL_S, seconds, flat_out)
        other = (shown + 1 + rng.randrange(9)) % 10
        status, answer, seconds = session.call("select", other, *current(mode))
        tally.add("select", seconds, status == 200 and answer is not None, f"HTTP {status}")
        status, answer, seconds = session.call("reset", shown, *current(mode))
        tally.add("reset", seconds, status == 200 and answer is not None, f"HTTP {status}")
        if answer is not None and any(abs(a - b) > 1e-6 for a, b in zip(answer[1:1 + POSE_DIMS], pose)):
            with tally.lock:
                tally.leaks += 1
        paced(rng.uniform(*PAUSE_S), 0.0, flat_out)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def load(server: Server, sessions: int, seconds: float, flat_out: bool) -> dict:
    """N sessions for the given time; the tally and the server's RSS before, at peak and after."""
    before = server.reset_peak()
    tally, deadline = Tally(), time.monotonic() + seconds
    threads = [threading.Thread(target=run_session, args=(server.port, n, deadline, tally, flat_out))
               for n in range(sessions)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    time.sleep(SETTLE_S)
    return {"tally": tally, "elapsed": elapsed, "before": before, "peak": server.peak_mb, "after": server.rss_mb()}


def report(label: str, result: dict, sessions: int) -> None:
    tally = result["tally"]
    requests = sum(len(v) for v in tally.latencies.values())
    draws = len(tally.latencies["draw"])
    print(f"{label}: {sessions} sessions, {result['elapsed']:.0f} s: {requests} requests "
          f"({requests / result['elapsed']:.0f}/s), {tally.errors} errors, {tally.wrong} wrong predictions "
          f"of {draws}, {tally.leaks} cross-session leaks")
    for event, values in tally.latencies.items():
        if values:
            print(f"  {event:6s} {len(values):6d} requests: p50 {1000 * statistics.median(values):5.0f} ms, "
                  f"p95 {1000 * percentile(values, 0.95):5.0f} ms")
    print(f"  server RSS: {result['before']:.0f} MB before, {result['peak']:.0f} MB peak, "
          f"{result['after']:.0f} MB {SETTLE_S} s after (+{result['after'] - result['before']:.0f} MB)")
    for example in tally.examples:
        print(f"  error: {example}")


def input_limits(server: Server) -> None:
    """The bomb, 8 big drawings at once and a 100 MB upload, each with the server's peak RSS rise."""
    bomb = io.BytesIO()
    Image.new("L", (13000, 13000)).save(bomb, format="PNG")
    bomb_url = "data:image/png;base64," + base64.b64encode(bomb.getvalue()).decode("ascii")
    big = io.BytesIO()
    render(8, size=7000, pen=400, mode="RGBA").save(big, format="PNG")  # RGBA: the costliest to shrink
    big_url = "data:image/png;base64," + base64.b64encode(big.getvalue()).decode("ascii")
    del bomb, big

    Session(server.port).call("draw", png_data_url(render(3)), PEN_UP, ONE)  # Gradio's first request sets things up
    idle = server.reset_peak()
    _, answer, seconds = Session(server.port).call("draw", bomb_url, PEN_UP, ONE)
    message = answer[0]["message"] if answer else "no answer"
    print(f"bomb (13000x13000 PNG, {len(bomb_url) / 2**10:.0f} KB as a data URL): {seconds:.2f} s, "
          f"'{message}'; server peak +{server.peak_mb - idle:.0f} MB")

    idle = server.reset_peak()
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(Session(server.port).call("draw", big_url, PEN_UP, ONE)))
               for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shown = [predicted(a[1]) if a[1] else f"HTTP {a[0]}" for a in answers]
    time.sleep(SETTLE_S)
    print(f"8 RGBA drawings of 7000x7000 at once ({len(big_url) / 2**10:.0f} KB each): {time.monotonic() - started:.1f} s, "
          f"predicted {shown}; server peak +{server.peak_mb - idle:.0f} MB, {server.rss_mb() - idle:+.0f} MB after")

    idle = server.reset_peak()
    boundary = "loaddemo"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + bytes(100 * 2**20) + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    started = time.monotonic()
    try:
        connection.request("POST", "/gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        status = connection.getresponse().status
    except OSError as error:  # the server may close the connection before reading everything
        status = type(error).__name__
    print(f"100 MB upload: {status} in {time.monotonic() - started:.1f} s; server peak +{server.peak_mb - idle:.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default: 20)")
    p.add_argument("--seconds", type=float, default=60, help="length of the load (default: 60)")
    p.add_argument("--server-args", default="", help="extra arguments for python -m demo")
    p.add_argument("--compare", nargs="+", metavar="ARGS",
                   help="instead: the load once per setting (python -m demo arguments), each twice, alternating")
    p.add_argument("--flat-out", action="store_true", help="no pauses: each session sends as soon as answered")
    p.add_argument("--skip-limits", action="store_true", help="skip the input-limit checks")
    args = p.parse_args()

    if args.compare:
        for round_ in (1, 2):
            for setting in args.compare:
                server = Server(shlex.split(setting))
                try:
                    report(f"[{setting or 'defaults'}, round {round_}]", load(server, args.sessions, args.seconds, args.flat_out),
                           args.sessions)
                finally:
                    server.stop()
        return
    server = Server(shlex.split(args.server_args))
    try:
        if not args.skip_limits:
            input_limits(server)
        report("load", load(server, args.sessions, args.seconds, args.flat_out), args.sessions)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
