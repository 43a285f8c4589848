"""The demo's HTTP API, as a script or an attacker calls it: no input makes it answer HTTP 500.

The page's events are called by name (api_name) on a server in this process,
on a free loopback port: with gradio_client, as the load script does, and with
raw JSON, which can carry what gradio_client refuses to send (NaN).

An answer lists the page's outputs in app.Page.answered()'s order; #prediction and
#lengths answer with a reading (readers.Reader.reading: the numbers views.js draws),
not HTML, and an output the answer leaves as it is comes as an update with no value.
"""

import asyncio
import base64
import io
import json
import math
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from bench.pagedriver.digit_strokes import render
from bench.pagedriver.page import free_port
from capsnet import CapsNet
from capsnet.preprocessing import MAX_IMAGE_BYTES
from demo.compute import explainer
from demo.app import build
from demo.server.launch import MAX_EVENT_BYTES, launch
from demo.server.body_limit import BodyLimit
from demo.server.cores import CORES

POSE_DIMS = 16  # the shipped model's
SLIDERS = [0.1] * POSE_DIMS
ONE_DIGIT = "one"  # #mode's value for one digit, the draw event's third value
NO_TURN = [0.0, 1.0, 0.0, 0.0, 0.0]  # the #transform sliders' values: rotate, scale, shear, shift x and y
# An answer's places (app.Page.answered): #prediction, #lengths, #input-28, #reconstruction, #overlay, #digit, the
# pose sliders, the tab's state (gradio_client leaves it out) and #new-result.
PREDICTION, DIGIT, FIRST_SLIDER = 0, 5, 6


@pytest.fixture(scope="module")
def server():
    from capsnet import load_model

    page = build(load_model())
    port = free_port()
    launch(page, port=port, block=False)
    yield f"http://127.0.0.1:{port}"
    page.close()


def data_url(digit: int) -> str:
    buffer = io.BytesIO()
    render(digit).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def longest(reading: dict) -> int:
    """The digit a one-digit reading shows: its longest capsule."""
    return max(range(len(reading["lengths"])), key=reading["lengths"].__getitem__)


def unchanged(value) -> bool:
    """Is an answer's value for an output an update that leaves it as it is?"""
    return isinstance(value, dict) and value.get("__type__") == "update" and "value" not in value


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def call(server: str, event: str, *values) -> tuple[int, dict]:
    """The event by name with raw JSON values (Python's json writes NaN and Infinity as JavaScript does)."""
    status, body = post(f"{server}/gradio_api/run/{event}", json.dumps({"data": list(values)}).encode())
    return status, json.loads(body)


BAD_DRAWINGS = [7, 3.5, None, True, [1, 2], {"a": 1}, "", "hello", "data:image/png;base64,!!!",
                "data:image/png;base64,aGVsbG8=", "data:," + "A" * 40]


@pytest.mark.parametrize("drawing", BAD_DRAWINGS, ids=[repr(d)[:20] for d in BAD_DRAWINGS])
def test_a_drawing_that_is_no_image_is_answered_not_failed(server, drawing):
    status, answer = call(server, "draw", drawing, None, ONE_DIGIT)
    assert status == 200
    message = answer["data"][PREDICTION]["message"]  # shown instead of a digit
    assert message.startswith("Cannot read this drawing") or message == "Draw a digit"


@pytest.mark.parametrize("pen_down", [True, False])
def test_a_drawing_is_predicted_with_the_pen_down_and_its_views_asked_for_once_it_is_lifted(server, pen_down):
    status, answer = call(server, "draw", data_url(4), pen_down, ONE_DIGIT)
    assert status == 200 and longest(answer["data"][PREDICTION]) == 4
    new_result = answer["data"][-1]  # a change of it brings the explainer views
    assert (new_result == {"__type__": "update"}) == pen_down
    if not pen_down:
        assert isinstance(new_result, int)


# wiring.Page.tab's values for an event that reads the tab's input: the tab's state (None: the server's own), the
# canvas's drawing (None: the state is current) and #mode.
CURRENT = (None, None, ONE_DIGIT)
BAD_SLIDERS = {"nan": math.nan, "infinity": math.inf, "text": "x", "null": None, "out of range": 1e9,
               "list": [0.1]}


@pytest.mark.parametrize("name", BAD_SLIDERS)
def test_a_bad_slider_value_is_answered_not_failed(server, name):
    status, _ = call(server, "pose", 3, *([BAD_SLIDERS[name]] + SLIDERS[1:]), *CURRENT)
    assert status == 200


@pytest.mark.parametrize("event", ["transform", "transform_released"])
def test_a_turn_before_any_input_leaves_the_page_as_it_is(server, event):
    status, answer = call(server, event, *CURRENT, 30.0, *NO_TURN[1:], False)  # no input yet; turned 30 deg
    assert status == 200 and unchanged(answer["data"][PREDICTION])


@pytest.mark.parametrize("digit", [-1, 10, 99, 3.5, "x", None, math.nan, [3]])
@pytest.mark.parametrize("event", ["pose", "select", "reset"])
def test_a_capsule_outside_0_to_9_is_answered_not_failed(server, event, digit):
    values = [digit, *SLIDERS, *CURRENT] if event == "pose" else [digit, *CURRENT]
    status, _ = call(server, event, *values)
    assert status == 200


def test_an_upload_over_the_size_limit_is_refused(server):
    boundary = "capsnet"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + bytes(MAX_IMAGE_BYTES + 2**20) + f"\r\n--{boundary}--\r\n".encode()
    status, _ = post(f"{server}/gradio_api/upload", body, f"multipart/form-data; boundary={boundary}")
    assert status == 413


def test_an_event_body_over_the_limit_is_refused_before_it_is_parsed(server):
    drawing = "data:image/png;base64," + "A" * MAX_EVENT_BYTES
    status, body = post(f"{server}/gradio_api/run/draw", json.dumps({"data": [drawing]}).encode())
    assert status == 413 and "upload" in json.loads(body)["error"]


def test_gradio_client_draws_by_name_and_each_session_keeps_its_own_pose(server):
    first, second = Client(server + "/", verbose=False), Client(server + "/", verbose=False)
    pen_down = False
    drawn = {client: client.predict(data_url(digit), pen_down, ONE_DIGIT, api_name="/draw")
             for client, digit in ((first, 2), (second, 7))}
    assert longest(drawn[first][PREDICTION]) == 2 and longest(drawn[second][PREDICTION]) == 7
    for client in (first, second):
        pose = drawn[client][FIRST_SLIDER:FIRST_SLIDER + POSE_DIMS]
        # None: no drawing of the page's own (the session's state is current); gradio_client leaves the state out
        _, *reset, _overlay = client.predict(drawn[client][DIGIT], None, ONE_DIGIT, api_name="/reset")
        assert reset == pytest.approx(pose)


def test_the_views_come_from_the_sessions_last_prediction_without_the_drawing(server):
    client = Client(server + "/", verbose=False)
    client.predict(data_url(2), False, ONE_DIGIT, api_name="/draw")
    routing, primary, figure4, all_capsules, *_ = client.predict(5, False, api_name="/explain")  # 5 iterations
    assert len(routing["shares"]) == 5 and figure4["digit"] == 2
    *views, _, _ = Client(server + "/", verbose=False).predict(3, False, api_name="/explain")  # no drawing yet
    said = [view["waiting"] if isinstance(view, dict) else view for view in views]  # HTML, or numbers for views.js
    assert all("Draw a digit, upload an image or pick an example" in text for text in said)


def test_the_views_event_brings_the_sweep_in_the_same_answer_only_while_it_is_shown(server):
    client = Client(server + "/", verbose=False)
    client.predict(data_url(2), False, ONE_DIGIT, api_name="/draw")
    *_, hidden = client.predict(3, False, api_name="/explain")
    *_, shown = client.predict(3, True, api_name="/explain")
    assert shown["digit"] == 2 and len(shown["axes"]) == 2 and "axes" not in (hidden or {})


def test_a_body_without_a_length_is_cut_off_at_the_limit():
    seen = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message["type"])
            if not message.get("more_body"):
                return

    async def chunks():
        return {"type": "http.request", "body": b"x" * 600, "more_body": True}

    scope = {"type": "http", "path": "/gradio_api/run/draw", "headers": []}
    # A thread of its own: Playwright's sync API keeps an event loop running in this one when browser tests ran first.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, BodyLimit(app, max_bytes=1000)(scope, chunks, None)).result()
    assert seen == ["http.request", "http.disconnect"]


class AtOnce:
    """A slow stand-in for a function that counts how many calls run at once."""

    def __init__(self, function):
        self.function, self.running, self.most, self.lock = function, 0, 0, threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.2)  # long enough for every request to arrive while the first ones run
        with self.lock:
            self.running -= 1
        return self.function(*args, **kwargs)


def many_at_once(server: str, event: str, *values) -> list[int]:
    """The event called 3 times per core at once; their HTTP statuses."""
    with ThreadPoolExecutor(3 * CORES) as pool:
        return [status for status, _ in pool.map(lambda _: call(server, event, *values), range(3 * CORES))]


def test_no_more_views_are_made_at_once_than_there_are_cores(server, monkeypatch):
    explain = AtOnce(explainer.explain)
    monkeypatch.setattr(explainer, "explain", explain)
    assert set(many_at_once(server, "explain", None, 3, False)) == {200}
    assert explain.most == CORES


def test_no_more_drawings_are_run_through_the_network_at_once_than_there_are_cores(server, monkeypatch):
    forward = AtOnce(CapsNet.forward)
    monkeypatch.setattr(CapsNet, "forward", lambda model, *args, **kwargs: forward(model, *args, **kwargs))
    assert set(many_at_once(server, "draw", data_url(4), False, ONE_DIGIT)) == {200}
    assert forward.most == CORES


def test_a_mode_change_reads_a_drawing_the_page_read_once(server, monkeypatch):
    calls = []
    forward = CapsNet.forward
    monkeypatch.setattr(CapsNet, "forward", lambda model, *args, **kwargs: calls.append(1) or forward(model, *args,
                                                                                                        **kwargs))
    status, answer = call(server, "mode", None, data_url(4), ONE_DIGIT)  # the tab's state, the page's drawing, #mode
    assert status == 200 and longest(answer["data"][PREDICTION]) == 4
    assert len(calls) == 1
