"""Serving the page: Gradio's server with the demo's limits and middleware, and a queue that sleeps when idle."""

import threading
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from capsnet.preprocessing import MAX_IMAGE_BYTES

from .body_limit import BodyLimit
from .idle_trim import TrimWhenIdle
from .isolation import CrossOriginIsolation

STATIC = Path(__file__).resolve().parents[1] / "static"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

SESSIONS_KEPT = 1000
# An event's request body: a 280x280 canvas as a PNG data URL is at most about 0.4 MB.
MAX_EVENT_BYTES = 2 * 2**20

# While it has nothing to do, Gradio's queue looks for work every 1 ms and for progress every 10 ms: about 50 ms of
# CPU a second on a server nobody uses (bench/idle_server.py). Only the Figure 4 PNG goes through the queue here
# (the page's events skip it), and it takes a second anyway: looking every QUEUE_POLL_S is soon enough.
QUEUE_POLL_S = 0.25
# The page's icon, a capsule (an orange ring), in the page itself: see launch.
ICON = ('<link rel="icon" href="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22>'
        '<circle cx=%228%22 cy=%228%22 r=%226%22 fill=%22none%22 stroke=%22%23f97316%22 stroke-width=%223%22/></svg>">')


def quiet_queue(page: gr.Blocks, poll_s: float = QUEUE_POLL_S) -> None:
    """Gradio's queue looks for work and progress every poll_s while free (Gradio's own loops read these each turn)."""
    page._queue.sleep_when_free = page._queue.progress_update_sleep_when_free = poll_s


def launch(page: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True,
           max_threads: int = 40):
    """Serve the page; with block=False return at once (tests), leaving the server running until page.close().

    max_threads: events served at once (the page's events skip Gradio's queue: they wait for a thread).
    """
    # run_history=False: Gradio would otherwise copy every event's inputs and outputs (drawings as data URLs,
    # up to 100 runs) into localStorage, re-encoding all of it on each event: most of a slider event's time.
    # max_file_size: Gradio's upload route refuses larger files (HTTP 413) before they reach a handler.
    # state_session_capacity: Gradio keeps every session's state (about 0.1 MB, measured) for an hour
    # after its tab closes, and forever for API callers; beyond this many, the oldest go first.
    # BodyLimit: events' bodies (JSON) over MAX_EVENT_BYTES are refused with HTTP 413.
    # TrimWhenIdle: what a burst of requests freed goes back to the OS once the server is idle.
    # CrossOriginIsolation: the page may run the network in it on several threads.
    # app_kwargs' routes come before Gradio's own in the FastAPI app it creates.
    # allowed_paths: the examples are served from the package, wherever the server was started.
    # head: the page's icon is in the page, so that the address changing as the page is shared (share.js) does not
    # have the browser ask the server for /favicon.ico each time (Gradio sends it uncached).
    quiet_queue(page)
    served = page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True,
                         css=(STATIC / "style.css").read_text(), js=(STATIC / "components" / "paste.js").read_text(),
                         ssr_mode=False, quiet=not block, run_history=False, allowed_paths=[str(EXAMPLES)], head=ICON,
                         max_file_size=MAX_IMAGE_BYTES, max_threads=max_threads, state_session_capacity=SESSIONS_KEPT,
                         app_kwargs={"routes": page.network_routes,
                                     "middleware": [Middleware(BodyLimit, max_bytes=MAX_EVENT_BYTES),
                                                    Middleware(TrimWhenIdle), Middleware(CrossOriginIsolation)]})
    if block:
        sleep_until_interrupted(page)
    return served


def sleep_until_interrupted(page: gr.Blocks) -> None:
    """Gradio's own wait (Blocks.block_thread) wakes ten times a second, a sixth of an idle server's CPU
    (docs/in-page-network.md, "A lecture hall"): this one sleeps until Ctrl+C, then closes the server as Gradio's
    does."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Keyboard interruption in main thread... closing server.")
        page.close()
