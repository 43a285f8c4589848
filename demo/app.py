"""The page: Gradio components, their element ids and their events. What each mode reads and shows is in
readers.py (a Reader per mode: the one-digit model, or the pair model for two digits over each other), the
views inside the capsules in explainer.py, turn and stretch in turn_and_stretch.py.

The data flow: an input (a drawing, an upload, an example) is read once, by the chosen mode's Reader. Its
Result goes into the tab's state, and a change of #new-result (a number, no image) asks for the four
explainer views, which read that state: the input never crosses the network twice, and the prediction
never waits for the views. The capsule choice, Reset, the iterations and Figure 4's download read the
same state, each with the Reader that made it (Result.mode): the wiring never asks which mode it is. Events
answer with {component: value}; what an answer leaves as it is, it does not name. Every size on the page
(capsules, pose dimensions) is the model's config.

#prediction and #lengths are numbers (a reading) that views.js draws, whether the server or the page's own
network computed them. #transform turns and stretches the input (turn_and_stretch.py): a slider move runs the network
once on the Result's framed 28x28, changed, without the drawing (in the page itself while it can: turn.js);
every new input starts with no change. #sweep, in the "Turn and stretch" tab, follows the Result with the views
(one request), and is made only while its tab is open.

While the pen moves and once it is lifted, the page reads the drawing by itself (canvas.js with network.js), views
and all, and answers a capsule choice, Reset and #iterations for it too: nothing is sent. What runs where:
docs/in-page-network.md.
"""

from dataclasses import asdict, fields
from pathlib import Path

import gradio as gr

from capsnet import CapsNet, CapsNetConfig

from .compute import explainer, turn_and_stretch
from .compute.inputs import POSE_RANGE
from .compute.readers import Example, Reader, load_examples, one_digit, two_digits
from .server.assets import onnx_routes
from .server.launch import EXAMPLES
from .wiring import (
    ONE,
    TWO,
    Asks,
    ExplainerViews,
    Page,
    TransformControls,
    classify_endpoint,
    wire_answers,
    wire_explainer,
    wire_inputs,
    wire_transform,
)

HERE = Path(__file__).resolve().parent
COMPONENTS = HERE / "static" / "components"  # the js_on_load scripts of the page's gr.HTML components
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
# A link to the lab as it is, beside Reset and play (share.js; below the first screen, which the sliders fill): the
# button, the link in a read-only box where the clipboard cannot be written, and one line on what the link holds or
# why one could not be read.
SHARE_HTML = ('<button id="copy-link" type="button">Copy link</button>'
              '<input id="link-text" type="text" readonly hidden aria-label="link to the lab as it is">'
              '<p id="link-status" role="status"></p>')
PAIR_EXAMPLES = EXAMPLES / "pairs.json"
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
def sizes(cfg: CapsNetConfig) -> dict:
    """The architecture's sizes that the page's texts name."""
    return {**asdict(cfg), "grid": cfg.primary_grid, "num_primary_capsules": cfg.num_primary_capsules}


def shows_local(key: str) -> str:
    """js_on_load for a view that shows the page's own prediction while the pen moves: canvas.js's "capsnet-local"
    event (local.js draws it as the server would) sets the value; the server's next answer replaces it."""
    return f'document.addEventListener("capsnet-local", (event) => {{ props.value = event.detail["{key}"]; }});'


def picture(elem_id: str, caption: str, blank: str, js_on_load: str | None = None) -> gr.HTML:
    """A 28x28 image (a PNG data URL as value) shown enlarged with crisp pixels."""
    template = '<figure><img src="${value}" alt="' + caption + '"><figcaption>' + caption + "</figcaption></figure>"
    return gr.HTML(blank, html_template=template, js_on_load=js_on_load, elem_id=elem_id)


def overlay_picture(reader: Reader) -> gr.HTML:
    """#overlay (two-digit mode): the network input, and over it the two capsules' drawings in red and green, one
    PNG (Reader.overlay); overlay.js redraws the red one for slider moves."""
    caption = "red: the selected capsule; green: the other digit"
    template = ('<figure><div class="stack"><img class="input" src="${value.input}" alt="">'
                f'<img class="drawings" src="${{value.drawings}}" alt="{caption}"></div>'
                f"<figcaption>{caption}</figcaption></figure>")
    return gr.HTML(reader.blank_overlay(), html_template=template, js_on_load=(COMPONENTS / "overlay.js").read_text(),
                   elem_id="overlay")


def mode_choice(why_no_pairs: str | None) -> gr.Radio:
    """#mode: one digit (the single model), or two digits over each other (the pair model), unless it is missing."""
    choices = [("one digit", ONE)] + ([] if why_no_pairs else [("two digits", TWO)])
    return gr.Radio(choices, value=ONE, label="digits to read", elem_id="mode",
                    info=f"two digits: unavailable ({why_no_pairs})" if why_no_pairs else None)


def play_control(dims: int) -> gr.HTML:
    """#play: a button and a dimension for decoder.js, which sweeps that dimension (enabled once the page can decode)."""
    options = "".join(f'<option value="{dim}">dim {dim}</option>' for dim in range(dims))
    return gr.HTML(f'<button type="button" disabled>&#9654; play</button> <select aria-label="dimension to play">'
                   f"{options}</select> <output></output>", js_on_load=None, elem_id="play")


def pose_sliders(dims: int, names: dict[str, list[list[str]]]) -> list[gr.Slider]:
    """#dim-0 ... #dim-15, four to a row; without Gradio's reset button, which would go to 0, not to the drawing.
    pose_names.js names each after what that dimension of the capsule on show tracks (names: mode -> capsule_names)."""
    sliders = []
    for first in range(0, dims, SLIDERS_PER_ROW):
        with gr.Row(elem_classes="pose-row"):
            sliders += [gr.Slider(*POSE_RANGE, value=0.0, step=0.01, label=turn_and_stretch.pose_name(dim),
                                  elem_id=f"dim-{dim}", min_width=120, buttons=[])
                        for dim in range(first, min(first + SLIDERS_PER_ROW, dims))]
    gr.HTML(names, js_on_load=(COMPONENTS / "pose_names.js").read_text(), visible="hidden", elem_id="pose-names")
    gr.Markdown(NAMES_CAPTION, elem_classes="section-caption", elem_id="names-caption")
    return sliders


def drawn_view(name: str, elem_id: str, blank: dict, css_class: str | None = None, asks: bool = False) -> gr.HTML:
    """A view that views.js draws from numbers (render's name for it): the server's or the page's (view.js). asks:
    the page does not make its numbers, so it asks the server for them (its input event) when the page reads a
    drawing itself while the view is seen."""
    script = f"const VIEW = {name!r};\nconst ASKS = {str(asks).lower()};\n" + (COMPONENTS / "view.js").read_text()
    return gr.HTML(blank, html_template='<div class="view"></div>', elem_classes=css_class, js_on_load=script,
                   elem_id=elem_id)


def build(model: CapsNet, pair_model: CapsNet | None = None, why_no_pairs: str = "no pair model loaded",
          folders: dict[str, Path] | None = None) -> gr.Blocks:
    """The page for model; pair_model reads two digits at once (#mode), else why_no_pairs says why it can't.
    folders: each mode's model folder, whose pose-dimensions.json names the pose dimensions (else "dim j")."""
    cfg = model.config
    folders = folders or {}
    pose_labels = turn_and_stretch.dimension_labels(folders[ONE], cfg.digit_dim) if ONE in folders else None
    names = {mode: turn_and_stretch.capsule_names(folders.get(mode), cfg.digit_dim, cfg.num_classes) for mode in (ONE, TWO)}
    readers = {ONE: one_digit(ONE, model, names[ONE])}
    if pair_model is not None:
        readers[TWO] = two_digits(TWO, pair_model, names[TWO])
    blank = readers[ONE].blank()
    with gr.Blocks(title="CapsNet lab", analytics_enabled=False) as blocks:
        gr.Markdown(f"{TITLE}\n\n{CAPTION.format(**sizes(cfg))}", elem_id="caption")
        result, new_result = gr.State(None), gr.Number(0, visible="hidden", elem_id="new-result")
        pen_down = gr.Checkbox(False, visible="hidden", elem_id="pen-down")
        with gr.Row(equal_height=False):
            with gr.Column(scale=0, min_width=CANVAS_SIZE + 16):
                canvas = gr.HTML("", html_template=CANVAS_HTML, js_on_load=(COMPONENTS / "canvas.js").read_text(),
                                 elem_id="canvas")
                mode = mode_choice(None if pair_model else why_no_pairs)
            with gr.Column(scale=2, min_width=300):  # the prediction, the pictures, and #transform under them
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=300):
                        prediction = drawn_view("prediction", "prediction", blank.reading)
                        lengths = drawn_view("lengths", "lengths", blank.reading)
                    with gr.Column(scale=1, min_width=360):
                        with gr.Row():
                            network_input = picture("input-28", "what the network sees (28x28)", blank.network_input,
                                                    js_on_load=shows_local("input-28"))
                            reconstruction = picture("reconstruction", "decoded from the selected capsule",
                                                     blank.reconstruction, js_on_load=(COMPONENTS / "decoder.js").read_text())
                            overlay = overlay_picture(readers[ONE])
                        digit = gr.Radio(list(range(cfg.num_classes)), label="capsule to decode (default: the longest)",
                                         elem_id="digit")
                turn = transform_controls()
        sliders = pose_sliders(cfg.digit_dim, names)
        with gr.Row(elem_classes="pose-row"):
            gr.Button("Reset to drawing", elem_id="reset", size="sm", scale=0, min_width=160)  # canvas.js
            play_control(cfg.digit_dim)
            gr.HTML(SHARE_HTML, js_on_load=(COMPONENTS / "share.js").read_text(), elem_id="share")
        page = Page(canvas, mode, prediction, lengths, network_input, reconstruction, overlay, digit, sliders,
                    asking_buttons(), result, new_result, pen_down)
        upload, examples, shipped = input_choices()
        pair_examples, shipped_pairs = pair_choices() if pair_model else (None, [])
        with gr.Tabs(elem_id="deeper"):  # the first tab is shown: the page's tests and bench read its views
            with gr.Tab("Inside the capsules", id="inside"):
                explained = explainer_views(cfg)
            with gr.Tab("Turn and stretch", id="turn", elem_id="turn-tab") as turn_tab:
                sweep_view = turn_and_stretch_tab(pose_labels)
        selected = wire_answers(page, readers)
        wire_inputs(page, readers, upload, examples, shipped, pair_examples, shipped_pairs)
        sweep = wire_transform(readers, turn, turn_tab, sweep_view, page,
                               [canvas.input, canvas.change, upload.upload, examples.select, mode.input])
        wire_explainer(readers, page, selected, explained, sweep)
        classify_endpoint(readers[ONE])
    # Served by launch(), for network.js: each model's live path, decoder and explain graphs (by #mode's value) and
    # the warp, exported in the background now, so that the first visitor does not wait for them; with each model,
    # how the page shows its predictions and the constants with which it makes the explainer views.
    blocks.network_routes = onnx_routes({name: r.model for name, r in readers.items()}, warm=True,
                                        reads={name: r.page() for name, r in readers.items()},
                                        views={name: explainer.page_constants(r.config, r.names)
                                               for name, r in readers.items()})
    return blocks


def asking_buttons() -> Asks:
    """wiring.Asks, hidden: #ask-select, #ask-reset and #ask-iterations, which canvas.js clicks."""
    return Asks(**{field.name: gr.Button(visible="hidden", elem_id=f"ask-{field.name}") for field in fields(Asks)})


def input_choices() -> tuple[gr.File, gr.Gallery, list[Example]]:
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
            shipped = load_examples(EXAMPLES / "index.json")
            examples = gr.Gallery([(str(e.path), e.caption) for e in shipped], columns=8, allow_preview=False,
                                  buttons=[], interactive=False, show_label=False, elem_id="examples", height="auto")
    return upload, examples, shipped


def pair_choices() -> tuple[gr.Gallery, list[Example]]:
    """#pair-examples, under the caption of two-digit mode: pairs of MNIST test digits over each other, as the pair
    model was trained on; one click reads them in two-digit mode."""
    with gr.Column(elem_id="pair-inputs"):
        gr.Markdown(PAIR_CAPTION, elem_classes="section-caption")
        shipped = load_examples(PAIR_EXAMPLES)
        gallery = gr.Gallery([(str(e.path), e.caption) for e in shipped], columns=8, allow_preview=False, buttons=[],
                             interactive=False, show_label=False, elem_id="pair-examples", height="auto")
    return gallery, shipped


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
            views.append(drawn_view(key, key, blank, "explainer"))
            if key == "figure4":
                with gr.Row(elem_id="figure4-download"):
                    controls["figure4_button"] = gr.Button("Make this figure as a PNG with labels (takes a second)",
                                                           size="sm", elem_id="figure4-png")
                    controls["figure4_file"] = gr.DownloadButton("Download the PNG", elem_id="figure4-file",
                                                                 size="sm", visible=False)
    return ExplainerViews(views, **controls)


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


def transform_controls() -> TransformControls:
    with gr.Row(elem_id="transform", elem_classes="pose-row"):
        sliders = [gr.Slider(c.low, c.high, value=c.none, step=c.step, label=c.label, elem_id=c.elem_id, min_width=120,
                             buttons=[]) for c in turn_and_stretch.CONTROLS]
        reset = gr.Button("Reset turn & stretch", elem_id="transform-reset", size="sm", scale=0, min_width=110)
    return TransformControls(sliders, reset, gr.Checkbox(False, visible="hidden", elem_id="transform-dragging"),
                             gr.HTML("", js_on_load=(COMPONENTS / "turn_and_stretch.js").read_text(), visible="hidden",
                                     elem_id="transform-live"))


def turn_and_stretch_tab(labels: list[dict] | None) -> gr.HTML:
    """The "Turn and stretch" tab: #sweep under its caption, and the table of what each pose dimension tracks."""
    gr.Markdown(TURN_CAPTION, elem_classes="section-caption")
    view = drawn_view("sweep", "sweep", turn_and_stretch.sweep_view(None, None, None), "explainer", asks=True)
    gr.Markdown(DIMENSIONS_CAPTION, elem_classes="section-caption")
    drawn_view("pose-dimensions", "pose-dimensions", turn_and_stretch.dimensions(labels))
    return view


