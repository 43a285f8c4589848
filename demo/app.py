"""The page: Gradio components, their element ids and their events. The computing is in handlers.py
(prediction, sliders) and explainer.py (uploads, examples, the views inside the capsules).

#mode switches to two digits over each other, read by the pair model (pairs.py): the tab's Result is
then a pairs.PairResult, and every event that reads it uses the model that made it (model_of).

The data flow: an input (a drawing, an upload, an example) is predicted once. The prediction's
handlers.Result goes into the tab's state, and a change of #new-result (a number, no image) asks for
the four explainer views, which read that state: the input never crosses the network twice, and the
prediction never waits for the views. The capsule choice, Reset, the iterations and Figure 4's
download read the same state. Every size on the page (capsules, pose dimensions) is the model's config.

#transform turns and stretches that input (transform.py): a slider move runs the network once on the
Result's framed 28x28, changed, without the drawing (in the page itself while it can: turn.js); every new input
starts with no change. #sweep, in the "Turn and stretch" tab, follows the Result with the views (one request), and
is made only while its tab is open.

While the pen moves, the page predicts by itself (canvas.js with network.js): the drawing is sent once, as the pen
is lifted. What runs where: docs/in-page-network.md.
"""

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from capsnet import CapsNet, CapsNetConfig, ImageError
from capsnet.preprocessing import MAX_IMAGE_BYTES

from . import explainer, handlers, pairs, transform
from .body_limit import BodyLimit
from .cores import CORE_TURNS
from .handlers import POSE_RANGE
from .idle_trim import TrimWhenIdle
from .isolation import CrossOriginIsolation
from .onnx_routes import onnx_routes

HERE = Path(__file__).resolve().parent
CANVAS_SIZE = 280
SLIDERS_PER_ROW = 4
TITLE = "## Capsule Network lab: draw a digit"
CAPTION = (
    "Each digit has a **capsule**: a vector of {digit_dim} numbers. Its **length** (0 to 1) says how sure the network "
    "is that this digit is present; the {num_classes} lengths are independent, so they need not add up to 1. Its "
    "**direction**, the pose, describes how the digit is drawn: the sliders set these {digit_dim} numbers one by one "
    "and the decoder redraws the digit from them, so you can see what each dimension has learned (stroke width, "
    "slant, size, ...)."
)
# The canvas and its Clear button; canvas.js draws on it, and says in #live-status when the network cannot run in
# the page. No ${value} here: sending a drawing sets props.value, and the template must then stay as it is.
CANVAS_HTML = (f'<canvas width="{CANVAS_SIZE}" height="{CANVAS_SIZE}" aria-label="drawing area: draw a digit">'
               '</canvas><button id="clear" type="button">Clear</button><p id="live-status" role="status"></p>')
# Events that must feel instant: no queue round trip, no progress overlay, and
# while one runs only the newest input waits, so the last one is always shown.
LIVE = {"queue": False, "show_progress": "hidden", "trigger_mode": "always_last"}
# The page's own events: callable by name (the load script uses them), but not listed under "Use via API".
# Their inputs reach the handlers unconverted: Gradio's own checks (a slider's range, a radio's
# choices) answer a bad value with HTTP 500, the handlers with a message or by ignoring it. Their
# outputs reach the page as the handlers made them (HTML, data URLs, numbers): Gradio's postprocessing
# would pass each through unchanged, one worker-thread hop per output, 24 for a drawing.
INTERNAL = {"api_visibility": "undocumented", "preprocess": False, "postprocess": False}
# The explainer views follow a prediction (a change of #new-result, or .then): they never hold it up, and while
# they are being made only the newest input waits, so they never fall behind.
VIEWS = {"queue": False, "show_progress": "hidden", "trigger_mode": "always_last", **INTERNAL}
# Runs in the browser as a drawing is sent: is the pen still on the canvas (canvas.js)? Then the
# prediction comes alone: the views cost several predictions' time, and lifting the pen brings them.
PEN_DOWN = "(url, down, mode) => [url, document.querySelector('#canvas canvas').dataset.pen === 'down', mode]"
EXAMPLES = HERE / "examples"
PAIR_EXAMPLES = EXAMPLES / "pairs.json"
ONE, TWO = "one", "two"  # #mode's values: the single model, or the pair model
PAIR_CAPTION = (
    "### Two digits at once\nChoose *two digits* beside the canvas and draw two digits over each other, or click a "
    "pair below: a model trained on pairs of overlapping MNIST digits reads both (its two longest capsules) and draws "
    "each from its own capsule, red and green over the network's input, as in Figure 5 of the paper. Capsules can "
    "pull them apart because each digit capsule takes only the votes that agree with it (routing by agreement): the "
    "strokes of one digit do not blur the other. The sliders move the capsule chosen above; the other stays put."
)
# Each view's element id: (heading, two sentences: what it shows and how to read it), sizes from the model's config.
SECTIONS = {
    "routing": ("Routing by agreement, iteration by iteration",
                "Each of the {num_primary_capsules} primary capsules ({primary_channels} types x {grid}x{grid} "
                "places) splits its vote over the {num_classes} digit capsules by its coupling c<sub>ij</sub>: at "
                "iteration 1 every coupling is 1/{num_classes} (white); red means routing sent it more toward the "
                "selected digit, blue less. Below each mosaic, the votes for the digit summed over the input pixels "
                "each place sees: bright parts of your drawing are the ones that voted for it."),
    "primary": ("Primary capsules: which parts agree with the digit",
                "Each small map is one of the {primary_channels} primary capsule types, and each cell one capsule of "
                "that type at one place on a {grid}x{grid} grid; its colour is how well its prediction for the "
                "selected digit points the same way as the digit capsule (red agrees, blue disagrees), which is what "
                "routing adds up. Their lengths are not shown: on MNIST they are almost all 0.95-1.0, so a length map "
                "would be uniform."),
    "figure4": ("Figure 4: what each of the {digit_dim} dimensions does",
                "Each row moves one of the selected capsule's {digit_dim} pose values from -0.25 to +0.25 (the middle "
                "column is your digit's own pose) and decodes it, as in Figure 4 of the paper. Rows that change the "
                "stroke width, slant or size show what that dimension has learned."),
    "all-capsules": ("What every capsule would draw",
                     "The decoder's drawing from each of the {num_classes} digit capsules' own pose, with its length. "
                     "A wrong prediction often shows here: the longest capsule draws something close to your digit."),
}
SESSIONS_KEPT = 1000
# An event's request body: a 280x280 canvas as a PNG data URL is at most about 0.4 MB.
MAX_EVENT_BYTES = 2 * 2**20
# Each new Result gets the next number, the value of #new-result: its change brings the explainer views.
RESULT_NUMBERS = itertools.count(1)


def sizes(cfg: CapsNetConfig) -> dict:
    """The architecture's sizes that the page's texts name."""
    return {**asdict(cfg), "grid": cfg.primary_grid, "num_primary_capsules": cfg.num_primary_capsules}


def shows_local(key: str) -> str:
    """js_on_load for a view that shows the page's own prediction while the pen moves: canvas.js's "capsnet-local"
    event (live.js draws it as the server would) sets the value; the server's next answer replaces it."""
    return f'document.addEventListener("capsnet-local", (event) => {{ props.value = event.detail["{key}"]; }});'


def picture(elem_id: str, caption: str, blank: str, js_on_load: str | None = None) -> gr.HTML:
    """A 28x28 image (a PNG data URL as value) shown enlarged with crisp pixels."""
    template = '<figure><img src="${value}" alt="' + caption + '"><figcaption>' + caption + "</figcaption></figure>"
    return gr.HTML(blank, html_template=template, js_on_load=js_on_load, elem_id=elem_id)


def overlay_picture(cfg: CapsNetConfig) -> gr.HTML:
    """#overlay (two-digit mode): the network input, and over it the two capsules' drawings in red and green, one
    PNG (pairs.overlay); overlay.js redraws the red one for slider moves."""
    caption = "red: the selected capsule; green: the other digit"
    template = ('<figure><div class="stack"><img class="input" src="${value.input}" alt="">'
                f'<img class="drawings" src="${{value.drawings}}" alt="{caption}"></div>'
                f"<figcaption>{caption}</figcaption></figure>")
    return gr.HTML(pairs.blank_overlay(cfg), html_template=template, js_on_load=(HERE / "overlay.js").read_text(),
                   elem_id="overlay")


def mode_choice(why_no_pairs: str | None) -> gr.Radio:
    """#mode: one digit (the single model), or two digits over each other (the pair model), unless it is missing."""
    choices = [("one digit", ONE)] + ([] if why_no_pairs else [("two digits", TWO)])
    return gr.Radio(choices, value=ONE, label="digits to read", elem_id="mode",
                    info=f"two digits: unavailable ({why_no_pairs})" if why_no_pairs else None)


def play_control(dims: int) -> gr.HTML:
    """#play: a button and a dimension for decoder.js, which sweeps that dimension (enabled once it has the weights)."""
    options = "".join(f'<option value="{dim}">dim {dim}</option>' for dim in range(dims))
    return gr.HTML(f'<button type="button" disabled>&#9654; play</button> <select aria-label="dimension to play">'
                   f"{options}</select> <output></output>", js_on_load=None, elem_id="play")


def pose_sliders(dims: int, names: dict[str, list[list[str]]]) -> list[gr.Slider]:
    """#dim-0 ... #dim-15, four to a row; without Gradio's reset button, which would go to 0, not to the drawing.
    pose_names.js names each after what that dimension of the capsule on show tracks (names: mode -> capsule_names)."""
    sliders = []
    for first in range(0, dims, SLIDERS_PER_ROW):
        with gr.Row(elem_classes="pose-row"):
            sliders += [gr.Slider(*POSE_RANGE, value=0.0, step=0.01, label=transform.pose_name(dim),
                                  elem_id=f"dim-{dim}", min_width=120, buttons=[])
                        for dim in range(first, min(first + SLIDERS_PER_ROW, dims))]
    gr.HTML(names, js_on_load=(HERE / "pose_names.js").read_text(), visible="hidden", elem_id="pose-names")
    gr.Markdown(NAMES_CAPTION, elem_classes="section-caption", elem_id="names-caption")
    return sliders


def build(model: CapsNet, pair_model: CapsNet | None = None, why_no_pairs: str = "no pair model loaded",
          folders: dict[str, Path] | None = None) -> gr.Blocks:
    """The page for model; pair_model reads two digits at once (#mode), else why_no_pairs says why it can't.
    folders: each mode's model folder, whose pose-dimensions.json names the pose dimensions (else "dim j")."""
    cfg = model.config
    folders = folders or {}
    pose_labels = transform.dimension_labels(folders[ONE], cfg.digit_dim) if ONE in folders else None
    names = {mode: transform.capsule_names(folders.get(mode), cfg.digit_dim, cfg.num_classes)
             for mode in (ONE, TWO)}
    blank = handlers.blank_view(cfg)
    with gr.Blocks(title="CapsNet lab", analytics_enabled=False) as page:
        gr.Markdown(f"{TITLE}\n\n{CAPTION.format(**sizes(cfg))}", elem_id="caption")
        result = gr.State(None)  # this tab's handlers.Result: every tab has its own
        # A new number with each Result the views should show (not while the pen is down): its change brings them.
        new_result = gr.Number(0, visible="hidden", elem_id="new-result")
        pen_down = gr.Checkbox(False, visible="hidden", elem_id="pen-down")  # set by PEN_DOWN
        with gr.Row(equal_height=False):
            with gr.Column(scale=0, min_width=CANVAS_SIZE + 16):
                canvas = gr.HTML("", html_template=CANVAS_HTML, js_on_load=(HERE / "canvas.js").read_text(),
                                 elem_id="canvas")
                mode = mode_choice(None if pair_model else why_no_pairs)
            with gr.Column(scale=2, min_width=300):  # the prediction, the pictures, and #transform under them
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=300):
                        prediction = gr.HTML(blank.prediction, js_on_load=shows_local("prediction"),
                                             elem_id="prediction")
                        lengths = gr.HTML(blank.lengths, js_on_load=shows_local("lengths"), elem_id="lengths")
                    with gr.Column(scale=1, min_width=360):
                        with gr.Row():
                            network_input = picture("input-28", "what the network sees (28x28)", blank.network_input,
                                                    js_on_load=shows_local("input-28"))
                            reconstruction = picture("reconstruction", "decoded from the selected capsule",
                                                     blank.reconstruction, js_on_load=(HERE / "decoder.js").read_text())
                            overlay = overlay_picture(cfg)
                        digit = gr.Radio(list(range(cfg.num_classes)), label="capsule to decode (default: the longest)",
                                         elem_id="digit")
                turn = transform_controls()
        sliders = pose_sliders(cfg.digit_dim, names)
        with gr.Row(elem_classes="pose-row"):
            reset = gr.Button("Reset to drawing", elem_id="reset", size="sm", scale=0, min_width=160)
            play_control(cfg.digit_dim)
        upload, examples, shipped = input_choices()
        pair_examples, shipped_pairs = pair_choices() if pair_model else (None, [])
        with gr.Tabs(elem_id="deeper"):  # the first tab is shown: the page's tests and bench read its views
            with gr.Tab("Inside the capsules", id="inside"):
                explained = explainer_views(cfg)
            with gr.Tab("Turn and stretch", id="turn", elem_id="turn-tab") as turn_tab:
                sweep_view = turn_and_stretch(pose_labels)
        predicted = [prediction, lengths, network_input, reconstruction, digit, *sliders, result, new_result, overlay]

        def model_of(state) -> CapsNet:
            """The model that made the tab's Result: the pair model made the PairResults."""
            return pair_model if isinstance(state, pairs.PairResult) else model

        def names_of(state) -> list[list[str]]:
            return names[TWO if isinstance(state, pairs.PairResult) else ONE]

        def two(chosen_mode) -> bool:
            return chosen_mode == TWO and pair_model is not None

        def overlay_of(view: handlers.View):
            return view.overlay if isinstance(view, pairs.PairView) else gr.skip()

        def shown(view: handlers.View) -> tuple:
            """A prediction's outputs, with a new number for #new-result (the views follow) and its #overlay."""
            return *view.outputs(), next(RESULT_NUMBERS), overlay_of(view)

        def on_draw(url, pen_is_down, chosen_mode):
            view = pairs.predict_drawing(pair_model, url) if two(chosen_mode) else handlers.predict_drawing(model, url)
            return (*view.outputs(), gr.skip(), overlay_of(view)) if pen_is_down is True else shown(view)

        def on_pose(chosen, *pose_and_state):
            *pose, state = pose_and_state
            if isinstance(state, pairs.PairResult):
                image, drawings = pairs.reconstruct(pair_model, chosen, pose, state)
            else:
                image, drawings = handlers.reconstruct(model, chosen, pose), None
            return tuple(gr.skip() if value is None else value for value in (image, drawings))

        def on_select(chosen, state):
            if isinstance(state, pairs.PairResult):
                return pairs.select_capsule(pair_model, chosen, state)
            return *handlers.select_capsule(model, chosen, state), gr.skip()

        def on_mode(chosen_mode, state):
            """The tab's input read again by the chosen mode's model."""
            framed = None if state is None else transform.untransformed(state)  # a new mode starts unturned
            if two(chosen_mode):
                return shown(pairs.blank_view(cfg) if state is None else pairs.predict_input(pair_model, framed))
            return shown(handlers.blank_view(cfg) if state is None else handlers.predict_input(model, framed))

        def predict_file(path, chosen_mode) -> handlers.View:
            return pairs.predict_file(pair_model, path) if two(chosen_mode) else explainer.predict_file(model, path)

        def on_upload(path, chosen_mode):
            return None, *shown(predict_file(path, chosen_mode))  # None: the box is ready for the next file

        def on_example(chosen_mode, event: gr.SelectData):
            return shown(predict_file(str(shipped[event.index].path), chosen_mode))

        def on_pair_example(event: gr.SelectData):
            return *shown(pairs.predict_file(pair_model, str(shipped_pairs[event.index].path))), TWO

        canvas.input(on_draw, inputs=[canvas, pen_down, mode], js=PEN_DOWN, api_name="draw", outputs=predicted,
                     **INTERNAL, **LIVE)
        mode.input(on_mode, inputs=[mode, result], outputs=predicted, api_name="mode", **INTERNAL, **LIVE)
        # Slider moves are decoded in the browser (decoder.js, and overlay.js for two digits), with no event here.
        # The picture's input event is the server path: decoder.js fires it for a slider move while it has no
        # weights of its own.
        reconstruction.input(on_pose, inputs=[digit, *sliders, result], outputs=[reconstruction, overlay],
                             api_name="pose", **INTERNAL, **LIVE)
        selected = digit.input(on_select, inputs=[digit, result], outputs=[reconstruction, *sliders, overlay],
                               api_name="select", **INTERNAL, **LIVE)
        reset.click(on_select, inputs=[digit, result], outputs=[reconstruction, *sliders, overlay], api_name="reset",
                    **INTERNAL, **LIVE)
        # preprocess: Gradio hands over the uploaded file's path only if the file is one of its own uploads.
        # The answer empties the box, so that choosing, dropping or pasting another image simply replaces this one.
        upload.upload(on_upload, inputs=[upload, mode], outputs=[upload, *predicted], api_name="upload",
                      **{**INTERNAL, **LIVE, "preprocess": True})
        examples.select(on_example, inputs=mode, outputs=predicted, api_name="example", **INTERNAL, **LIVE)
        if pair_examples is not None:
            pair_examples.select(on_pair_example, inputs=None, outputs=[*predicted, mode], api_name="pair_example",
                                 **INTERNAL, **LIVE)
        sweep = wire_transform(model, names[ONE], turn, turn_tab, sweep_view, result, predicted, digit,
                               [canvas.input, upload.upload, examples.select, mode.input])
        wire_explainer(model_of, names_of, result, new_result, selected, digit, explained, sweep)
        classify_endpoint(model)
    # Served by launch(), for network.js: each model's live path and decoder (by #mode's value) and the warp,
    # exported in the background now, so that the first visitor does not wait for them.
    page.decoder_routes = onnx_routes({ONE: model, **({TWO: pair_model} if pair_model else {})}, warm=True)
    return page


def input_choices() -> tuple[gr.File, gr.Gallery, list[explainer.Example]]:
    """#upload, a file drop (or paste) area, and #examples, MNIST test digits that load with one click."""
    with gr.Row(equal_height=False, elem_id="inputs"):
        with gr.Column(scale=1, min_width=280):
            gr.Markdown("### Your own image\nA photo or scan of one handwritten digit (PNG, JPEG, GIF, WebP, BMP): "
                        "drop it here, click to choose it, or paste it with Ctrl+V; another one replaces it. It is "
                        "cropped, centred and scaled to 28x28 like a drawing.", elem_classes="section-caption")
            # type="filepath" and no file_types: the file reaches capsnet.read_image untouched, which
            # checks its size and format and says in one line what is wrong.
            upload = gr.File(label="image of a digit", type="filepath", elem_id="upload", height=120)
        with gr.Column(scale=2, min_width=280):
            gr.Markdown("### Examples\nDigits from the MNIST test set: click one to load it. Each is labelled with "
                        "its digit; \"true 5\" marks a 5 that the shipped model gets wrong.",
                        elem_classes="section-caption")
            shipped = explainer.load_examples(EXAMPLES)
            examples = gr.Gallery([(str(e.path), e.caption) for e in shipped], columns=8, allow_preview=False,
                                  buttons=[], interactive=False, show_label=False, elem_id="examples", height="auto")
    return upload, examples, shipped


def pair_choices() -> tuple[gr.Gallery, list[pairs.Example]]:
    """#pair-examples, under the caption of two-digit mode: pairs of MNIST test digits over each other, as the pair
    model was trained on; one click reads them in two-digit mode."""
    with gr.Column(elem_id="pair-inputs"):
        gr.Markdown(PAIR_CAPTION, elem_classes="section-caption")
        shipped = pairs.load_examples(PAIR_EXAMPLES)
        gallery = gr.Gallery([(str(e.path), e.caption) for e in shipped], columns=8, allow_preview=False, buttons=[],
                             interactive=False, show_label=False, elem_id="pair-examples", height="auto")
    return gallery, shipped


@dataclass
class ExplainerViews:
    """The four views below the sliders and their controls."""

    views: list[gr.HTML]  # #routing, #primary, #figure4, #all-capsules, in explainer.Views' order
    iterations: gr.Radio  # #iterations: re-run routing with 1-5 iterations
    figure4_button: gr.Button  # #figure4-png: make the labelled matplotlib figure
    figure4_file: gr.DownloadButton  # #figure4-file: its download, once made


def explainer_views(cfg: CapsNetConfig) -> ExplainerViews:
    """#routing, #primary, #figure4 and #all-capsules, each under a heading and a two-sentence caption."""
    waiting = explainer.waiting_views(cfg).outputs()
    views, controls = [], {}
    for (key, (heading, caption)), blank in zip(SECTIONS.items(), waiting):
        with gr.Column(elem_id=f"{key}-section"):  # what scripts/screenshot.py photographs
            gr.Markdown(f"### {heading}\n{caption}".format(**sizes(cfg)), elem_classes="section-caption")
            if key == "routing":
                trained = cfg.routing_iterations
                controls["iterations"] = gr.Radio(
                    list(explainer.ITERATIONS), value=trained, elem_id="iterations",
                    label=f"routing iterations: re-run routing on the same weights (trained with {trained})")
            views.append(gr.HTML(blank, js_on_load=None, elem_id=key, elem_classes="explainer"))
            if key == "figure4":
                with gr.Row(elem_id="figure4-download"):
                    controls["figure4_button"] = gr.Button("Make this figure as a PNG with labels (takes a second)",
                                                           size="sm", elem_id="figure4-png")
                    controls["figure4_file"] = gr.DownloadButton("Download the PNG", elem_id="figure4-file",
                                                                 size="sm", visible=False)
    return ExplainerViews(views, **controls)


# Is #sweep on screen (its tab open)? The sweep costs about 50 predictions: it is made only where it is seen.
SWEEP_SHOWN = "(...values) => [...values.slice(0, -1), document.querySelector('#sweep')?.checkVisibility() === true]"


@dataclass
class Sweep:
    """#sweep ("Turn and stretch"), made with the views of each Result and capsule choice, in the same request."""

    view: gr.HTML
    shown: gr.Checkbox  # is #sweep on screen? (SWEEP_SHOWN)
    make: Callable  # (state, chosen capsule, shown) -> #sweep's HTML, or gr.skip() while it is not seen


def wire_explainer(model_of, names_of, result: gr.State, new_result: gr.Number, selected, digit: gr.Radio,
                   page: ExplainerViews, sweep: Sweep) -> None:
    """The four views follow the tab's Result: a new one (its number changes), a capsule choice (selected: that
    event, which the views follow) or a number of iterations; #sweep comes with them (not for iterations). Figure
    4's PNG is made from it too, each with model_of(the Result): the model that made it, whose capsules' dimensions
    names_of(the Result) names."""
    # A new input, or another capsule or iteration count, also takes away the last Figure 4 download.
    outputs, iterations = [*page.views, page.figure4_file], page.iterations

    def views(state, chosen, rounds) -> tuple:
        with CORE_TURNS.take(view=True):
            made = explainer.explain(model_of(state), state, chosen, rounds, names_of(state))
        return *made.outputs(), gr.DownloadButton(visible=False)

    def views_and_sweep(state, chosen, rounds, seen) -> tuple:
        return *views(state, chosen, rounds), sweep.make(state, chosen, seen)

    def new_views(state, rounds, seen) -> tuple:
        return views_and_sweep(state, None, rounds, seen)  # the longest capsule, as the prediction chose it

    def on_figure4(state, chosen):
        path = explainer.figure4_png(model_of(state), state, chosen, Path(tempfile.mkdtemp(prefix="capsnet-figure4-")))
        return gr.DownloadButton(value=path, visible=path is not None)

    followers = [*outputs, sweep.view]
    new_result.change(new_views, inputs=[result, iterations, sweep.shown], js=SWEEP_SHOWN, outputs=followers,
                      api_name="explain", **VIEWS)
    selected.then(views_and_sweep, inputs=[result, digit, iterations, sweep.shown], js=SWEEP_SHOWN,
                  outputs=followers, api_name="explain_selected", **VIEWS)
    iterations.input(views, inputs=[result, digit, iterations], outputs=outputs, api_name="iterations", **VIEWS)
    page.figure4_button.click(on_figure4, inputs=[result, digit], outputs=page.figure4_file, api_name="figure4_png",
                              **{**INTERNAL, "postprocess": True})  # Gradio makes the file a download


# Runs in the browser as a #transform slider sends its value: is the pointer still pressing it? Then the
# prediction comes alone, as while the pen is down; letting go (release) brings the views and the sweep.
DRAGGING = "(...values) => [...values.slice(0, -1), document.querySelector('#transform input:active') !== null]"
TURN_CAPTION = (
    "### Turn and stretch\nThe sliders above turn, scale, shear and move the 28x28 input the network sees, and the "
    "prediction follows: a capsule's **length** should hold while the digit is still there, and its **pose** should "
    "move with the change (equivariance). Below, one batch over -60..60 deg and one over scale 0.5..1.5: every "
    "capsule's length, the selected capsule's pose and a CNN's probability for the same digit, against the change."
)
NAMES_CAPTION = (
    "Each slider is named by what that dimension of the selected capsule tracks in the input: over 1,000 MNIST test "
    "digits turned, scaled, sheared or thickened a little, its value follows the change with |r| >= 0.5 (the table in "
    "*Turn and stretch*); \"dim j\" alone tracks none of them strongly."
)
DIMENSIONS_CAPTION = (
    "### What each pose dimension tracks\nOver 1,000 MNIST test digits, each turned, scaled, sheared and thinned or "
    "thickened a little, the correlation of each pose value of the true digit's capsule with the change (within "
    "digits; bench/pose_dimensions.py). A dimension that tracks one change strongly (|r| >= 0.5) names its slider."
)


@dataclass
class TransformControls:
    """#transform: the sliders that turn and stretch the network's input, and their Reset."""

    sliders: list[gr.Slider]  # #rotate, #scale, #shear, #shift-x, #shift-y: transform.CONTROLS' order
    reset: gr.Button  # #transform-reset: back to no change
    dragging: gr.Checkbox  # set by DRAGGING
    moved: gr.HTML  # turn.js: predicts a slider move in the page, else fires its input event ("transform")


def transform_controls() -> TransformControls:
    with gr.Row(elem_id="transform", elem_classes="pose-row"):
        sliders = [gr.Slider(c.low, c.high, value=c.none, step=c.step, label=c.label, elem_id=c.elem_id, min_width=120,
                             buttons=[]) for c in transform.CONTROLS]
        reset = gr.Button("Reset turn & stretch", elem_id="transform-reset", size="sm", scale=0, min_width=110)
    return TransformControls(sliders, reset, gr.Checkbox(False, visible="hidden", elem_id="transform-dragging"),
                             gr.HTML("", js_on_load=(HERE / "turn.js").read_text(), visible="hidden",
                                     elem_id="transform-live"))


def turn_and_stretch(labels: list[dict] | None) -> gr.HTML:
    """The "Turn and stretch" tab: #sweep under its caption, and the table of what each pose dimension tracks."""
    gr.Markdown(TURN_CAPTION, elem_classes="section-caption")
    view = gr.HTML(transform.sweep_html(None, None, None), js_on_load=None, elem_id="sweep", elem_classes="explainer")
    gr.Markdown(DIMENSIONS_CAPTION, elem_classes="section-caption")
    gr.HTML(transform.dimensions_html(labels), elem_id="pose-dimensions")
    return view


def wire_transform(model: CapsNet, names: list[list[str]], controls: TransformControls, tab: gr.Tab, sweep_view: gr.HTML,
                   result: gr.State, predicted: list, digit: gr.Radio, new_inputs: list) -> Sweep:
    """A #transform slider re-runs the network on the tab's input as framed, turned and stretched (no drawing
    is sent); Reset and every new input (new_inputs: their triggers) put the sliders back to no change. #sweep
    follows its tab's opening here, and the tab's Result and capsule choice with the views (the Sweep returned),
    drawn only while it can be seen."""
    baseline = transform.load_baseline()
    sliders = controls.sliders
    shown = gr.Checkbox(False, visible="hidden", elem_id="sweep-shown")  # set by SWEEP_SHOWN

    def outputs(view: handlers.View, number) -> tuple:
        """view on the page, with number for #new-result; what else a prediction shows (#overlay) stays."""
        values = (*view.outputs(), number)
        return values + (gr.skip(),) * (len(predicted) - len(values))

    def on_transform(state, *values_and_dragging):
        *values, dragging = values_and_dragging
        view = None if isinstance(state, pairs.PairResult) else transform.turned(model, state, values)
        if view is None:  # nothing to turn yet, or two digits (the pair model reads them as drawn)
            return (gr.skip(),) * len(predicted)
        return outputs(view, gr.skip() if dragging is True else next(RESULT_NUMBERS))

    def on_reset(state):
        view = None if isinstance(state, pairs.PairResult) else transform.turned(model, state, [])
        page = (gr.skip(),) * len(predicted) if view is None else outputs(view, next(RESULT_NUMBERS))
        return *page, *transform.NO_CHANGE_VALUES

    def on_sweep(state, chosen, seen):
        if seen is not True:
            return gr.skip()
        if isinstance(state, pairs.PairResult):
            return transform.ONE_DIGIT_ONLY
        with CORE_TURNS.take(view=True):
            return transform.sweep_html(model, baseline, state, chosen, names)

    gr.on([controls.moved.input], on_transform, inputs=[result, *sliders, controls.dragging], js=DRAGGING,
          outputs=predicted, api_name="transform", **INTERNAL, **LIVE)
    gr.on([s.release for s in sliders], on_transform, inputs=[result, *sliders, controls.dragging],
          outputs=predicted, api_name="transform_released", **INTERNAL, **LIVE)
    controls.reset.click(on_reset, inputs=result, outputs=[*predicted, *sliders], api_name="transform_reset",
                         **INTERNAL, **LIVE)
    for trigger in new_inputs:  # in the browser only: a new input starts with no change
        trigger(None, js=f"() => {list(transform.NO_CHANGE_VALUES)}", outputs=sliders, queue=False,
                show_progress="hidden", api_visibility="private")
    tab.select(on_sweep, inputs=[result, digit, shown], js="(state, chosen) => [state, chosen, true]",
               outputs=sweep_view, api_name="sweep_shown", **VIEWS)
    return Sweep(sweep_view, shown, on_sweep)


def classify_endpoint(model: CapsNet) -> None:
    """The one public endpoint, /classify: an image file in, {"digit": int, "lengths": [10 floats]} out."""

    def classify(image: gr.FileData) -> dict:
        """Classify one image of a handwritten digit: the digit and the ten capsule lengths (0-1, independent)."""
        try:
            return explainer.classify(model, image["path"] if isinstance(image, dict) else image.path)
        except ImageError as error:
            raise gr.Error(str(error)) from None

    gr.api(classify, api_name="classify", queue=False)


# While it has nothing to do, Gradio's queue looks for work every 1 ms and for progress every 10 ms: about 50 ms of
# CPU a second on a server nobody uses (bench/idle_server.py). Only the Figure 4 PNG goes through the queue here
# (the page's events skip it), and it takes a second anyway: looking every QUEUE_POLL_S is soon enough.
QUEUE_POLL_S = 0.25


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
    quiet_queue(page)
    return page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                       css=(HERE / "style.css").read_text(), js=(HERE / "paste.js").read_text(), ssr_mode=False,
                       quiet=not block, run_history=False, allowed_paths=[str(EXAMPLES)],
                       max_file_size=MAX_IMAGE_BYTES, max_threads=max_threads, state_session_capacity=SESSIONS_KEPT,
                       app_kwargs={"routes": page.decoder_routes,
                                   "middleware": [Middleware(BodyLimit, max_bytes=MAX_EVENT_BYTES),
                                                  Middleware(TrimWhenIdle), Middleware(CrossOriginIsolation)]})
