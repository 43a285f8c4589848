"""The page: Gradio components, their element ids and their events. The computing is in handlers.py."""

from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from capsnet import CapsNet
from capsnet.preprocessing import MAX_IMAGE_BYTES

from . import handlers
from .body_limit import BodyLimit
from .handlers import POSE_DIMS, POSE_RANGE

HERE = Path(__file__).resolve().parent
CANVAS_SIZE = 280
SLIDERS_PER_ROW = 4
TITLE = "## Capsule Network lab: draw a digit"
CAPTION = (
    "Each digit has a **capsule**: a vector of 16 numbers. Its **length** (0 to 1) says how sure the network is "
    "that this digit is present; the ten lengths are independent, so they need not add up to 1. Its **direction**, "
    "the pose, describes how the digit is drawn: the sliders set these 16 numbers one by one and the decoder redraws "
    "the digit from them, so you can see what each dimension has learned (stroke width, slant, size, ...)."
)
# The canvas and its Clear button; canvas.js draws on it. No ${value} here: sending a
# drawing sets props.value, and the template must then stay as it is.
CANVAS_HTML = (f'<canvas width="{CANVAS_SIZE}" height="{CANVAS_SIZE}" aria-label="drawing area: draw a digit">'
               '</canvas><button id="clear" type="button">Clear</button>')
# Events that must feel instant: no queue round trip, no progress overlay, and
# while one runs only the newest input waits, so the last one is always shown.
LIVE = {"queue": False, "show_progress": "hidden", "trigger_mode": "always_last"}
# The page's own events: callable by name (the load script uses them), but not listed under "Use via API".
# Their inputs reach the handlers unconverted: Gradio's own checks (a slider's range, a radio's
# choices) answer a bad value with HTTP 500, the handlers with a message or by ignoring it.
INTERNAL = {"api_visibility": "undocumented", "preprocess": False}
SESSIONS_KEPT = 1000
# An event's request body: a 280x280 canvas as a PNG data URL is at most about 0.4 MB.
MAX_EVENT_BYTES = 2 * 2**20


def picture(elem_id: str, caption: str) -> gr.HTML:
    """A 28x28 image (a PNG data URL as value) shown enlarged with crisp pixels."""
    template = '<figure><img src="${value}" alt="' + caption + '"><figcaption>' + caption + "</figcaption></figure>"
    return gr.HTML(handlers.image_url(None), html_template=template, js_on_load=None, elem_id=elem_id)


def pose_sliders() -> list[gr.Slider]:
    """#dim-0 ... #dim-15, four to a row; without Gradio's reset button, which would go to 0, not to the drawing."""
    sliders = []
    for first in range(0, POSE_DIMS, SLIDERS_PER_ROW):
        with gr.Row(elem_classes="pose-row"):
            sliders += [gr.Slider(*POSE_RANGE, value=0.0, step=0.01, label=f"dim {dim}", elem_id=f"dim-{dim}",
                                  min_width=120, buttons=[]) for dim in range(first, first + SLIDERS_PER_ROW)]
    return sliders


def build(model: CapsNet) -> gr.Blocks:
    blank = handlers.blank_view()
    with gr.Blocks(title="CapsNet lab", analytics_enabled=False) as page:
        gr.Markdown(f"{TITLE}\n\n{CAPTION}", elem_id="caption")
        poses = gr.State(None)  # this tab's (10, 16) capsule poses: every tab has its own
        with gr.Row(equal_height=False):
            with gr.Column(scale=0, min_width=CANVAS_SIZE + 16):
                canvas = gr.HTML("", html_template=CANVAS_HTML, js_on_load=(HERE / "canvas.js").read_text(),
                                 elem_id="canvas")
            with gr.Column(scale=1, min_width=300):
                prediction = gr.HTML(blank.prediction, js_on_load=None, elem_id="prediction")
                lengths = gr.HTML(blank.lengths, js_on_load=None, elem_id="lengths")
            with gr.Column(scale=1, min_width=360):
                with gr.Row():
                    network_input = picture("input-28", "what the network sees (28x28)")
                    reconstruction = picture("reconstruction", "decoded from the selected capsule")
                digit = gr.Radio(list(range(handlers.NUM_DIGITS)), label="capsule to decode (default: the longest)",
                                 elem_id="digit")
        sliders = pose_sliders()
        reset = gr.Button("Reset to drawing", elem_id="reset", size="sm")

        def on_draw(url):
            return handlers.predict_drawing(model, url).outputs()

        def on_pose(chosen, *pose):
            image = handlers.reconstruct(model, chosen, list(pose))
            return gr.skip() if image is None else image

        def on_select(chosen, all_poses):
            return handlers.select_capsule(model, chosen, all_poses)

        canvas.input(on_draw, inputs=canvas, outputs=[prediction, lengths, network_input, reconstruction, digit,
                                                      *sliders, poses], api_name="draw", **INTERNAL, **LIVE)
        # .input, not .change: setting the sliders from a prediction must not run the decoder 16 times.
        for slider in sliders:
            slider.input(on_pose, inputs=[digit, *sliders], outputs=reconstruction, api_name="pose", **INTERNAL, **LIVE)
        digit.input(on_select, inputs=[digit, poses], outputs=[reconstruction, *sliders], api_name="select", **INTERNAL,
                    **LIVE)
        reset.click(on_select, inputs=[digit, poses], outputs=[reconstruction, *sliders], api_name="reset", **INTERNAL,
                    **LIVE)
    return page


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
    return page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                       css=(HERE / "style.css").read_text(), ssr_mode=False, quiet=not block, run_history=False,
                       max_file_size=MAX_IMAGE_BYTES, max_threads=max_threads, state_session_capacity=SESSIONS_KEPT,
                       app_kwargs={"middleware": [Middleware(BodyLimit, max_bytes=MAX_EVENT_BYTES)]})
