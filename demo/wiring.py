"""The page's events: what each change on the page runs and what it answers, panel by panel. app.py lays the
components out and calls these; what is computed is in compute/ (a Reader per mode, the views' numbers).

Every event reads the tab's Result and asks the Reader that made it (Result.mode): the wiring never asks which
mode it is. Events answer {component: value}, naming only what they change (gr.skip() when nothing changes).
An input is read once: its Result goes into the tab's state, and a change of #new-result (a number, no image)
asks for the explainer views, which read that state, so the input never crosses the network twice and the
prediction never waits for the views.

A page with the network in it reads a drawing itself, views and all, and sends nothing (canvas.js): the drawing
only becomes the canvas's value. It answers a capsule choice, Reset and #iterations for that drawing itself too: those
controls have no event here, and canvas.js clicks a hidden button (Asks) only for what the page did not read (an
upload, an example, a turn, a page without the network). The events that need the tab's input take the canvas's
value too (Page.tab) and read the drawing the first time one does (current), so the server reads a drawing when
someone asks it something about it, not at every stroke.
"""

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from capsnet import ImageError

from .compute import explainer, turn_and_stretch
from .compute.inputs import POSE_RANGE
from .compute.readers import Answer, Example, Pose, Reader, Result
from .server.cores import CORE_TURNS

ONE, TWO = "one", "two"  # #mode's values: the single model, or the pair model

# Events that must feel instant: no queue round trip, no progress overlay, and
# while one runs only the newest input waits, so the last one is always shown.
INSTANT = {"queue": False, "show_progress": "hidden", "trigger_mode": "always_last"}
# The page's own events: callable by name (the load script uses them), but not listed under "Use via API".
# Their inputs reach the readers unconverted: Gradio's own checks (a slider's range, a radio's
# choices) answer a bad value with HTTP 500, the readers with a message or by ignoring it. Their
# outputs reach the page as the readers made them (numbers, data URLs, HTML): Gradio's postprocessing
# would pass each through unchanged, one worker-thread hop per output, 24 for a drawing.
INTERNAL = {"api_visibility": "undocumented", "preprocess": False, "postprocess": False}
# The explainer views follow a prediction (a change of #new-result, or .then): they never hold it up, and while
# they are being made only the newest input waits, so they never fall behind.
VIEWS = {"queue": False, "show_progress": "hidden", "trigger_mode": "always_last", **INTERNAL}
# Runs in the browser as a drawing is sent: is the pen still on the canvas (canvas.js)? Then the
# prediction comes alone: the views cost several predictions' time, and lifting the pen brings them.
PEN_DOWN = "(url, down, mode) => [url, document.querySelector('#canvas canvas').dataset.pen === 'down', mode]"

# Each new Result gets the next number, the value of #new-result: its change brings the explainer views.
RESULT_NUMBERS = itertools.count(1)
# Runs in the browser, with no request, when the page has read a drawing itself (the canvas's "change", canvas.js):
# the capsule it read and that capsule's pose onto #digit and the sliders, as inputs.slider_values puts them;
# undefined changes nothing (the canvas changed otherwise).
PAGE_READ = ("() => { const read = window.capsnetLocal?.read; if (!read) return undefined; "
             "window.capsnetLocal.read = null; return [read.digit, ...read.pose.map((v) => "
             f"Math.round(Math.min(Math.max(v, {POSE_RANGE[0]}), {POSE_RANGE[1]}) * 1e4) / 1e4)]; }}")


@dataclass
class Asks:
    """Hidden buttons, one per question the page asks the server when it did not read the tab's input itself
    (canvas.js clicks them): the capsule chosen on #digit, Reset, and the views with #iterations' count."""

    select: gr.Button  # #ask-select
    reset: gr.Button  # #ask-reset
    iterations: gr.Button  # #ask-iterations


@dataclass
class Page:
    """The components the events read and write."""

    canvas: gr.HTML
    mode: gr.Radio
    prediction: gr.HTML  # drawn by views.js from a reading (readers.Reader.reading)
    lengths: gr.HTML  # the same reading, as bars
    network_input: gr.HTML
    reconstruction: gr.HTML
    overlay: gr.HTML
    digit: gr.Radio
    sliders: list[gr.Slider]
    asks: Asks
    result: gr.State  # this tab's readers.Result: every tab has its own
    new_result: gr.Number  # a new number with each Result the views should show (not while the pen is down)
    pen_down: gr.Checkbox  # set by PEN_DOWN

    def tab(self) -> list:
        """What an event that needs the tab's input reads (current): the tab's Result, the canvas's drawing and
        #mode."""
        return [self.result, self.canvas, self.mode]

    def answered(self) -> list:
        """Every component an Answer sets."""
        return [self.prediction, self.lengths, self.network_input, self.reconstruction, self.overlay, self.digit,
                *self.sliders, self.result, self.new_result]

    def posed(self) -> list:
        """Every component a Pose sets, and the tab's Result it was made from."""
        return [self.reconstruction, *self.sliders, self.overlay, self.result]

    def shown(self, answer: Answer, views: bool = True) -> dict:
        """answer on the page; views: with a new number for #new-result, so that the views follow."""
        values = {self.prediction: answer.reading, self.lengths: answer.reading,
                  self.network_input: answer.network_input, self.reconstruction: answer.reconstruction,
                  self.digit: answer.digit, self.result: answer.result, **dict(zip(self.sliders, answer.pose))}
        if answer.overlay is not None:
            values[self.overlay] = answer.overlay
        if views:
            values[self.new_result] = next(RESULT_NUMBERS)
        return values

    def posed_as(self, pose: Pose, state: Result | None) -> dict:
        """pose, made from the tab's Result state, on the page: what it leaves as it is (None) is not sent."""
        values = {self.result: state}
        if pose.reconstruction is not None:
            values[self.reconstruction] = pose.reconstruction
        if pose.values is not None:
            values.update(zip(self.sliders, pose.values))
        if pose.overlay is not None:
            values[self.overlay] = pose.overlay
        return values


def reader_of(readers: dict[str, Reader], state: Result | None) -> Reader:
    """The reader that made the tab's Result (before any, one-digit mode's)."""
    return readers[state.mode] if state is not None else readers[ONE]


def reader_for(readers: dict[str, Reader], mode) -> Reader:
    """The reader of #mode's value mode, as the page sends it (anything but a mode's name: one-digit mode's)."""
    return readers.get(mode, readers[ONE]) if isinstance(mode, str) else readers[ONE]


def read_in_page(state: Result | None, drawing) -> bool:
    """Did the page read the canvas's drawing itself since the tab's Result was made? (The canvas's value, drawing, is
    another: "" an empty canvas. None: the page's input is not the canvas's, an upload or an example, and the state
    is current.)"""
    return drawing is not None and drawing != (state.drawing if state is not None else "")


def current(readers: dict[str, Reader], state: Result | None, drawing, mode) -> Result | None:
    """The tab's input as the page shows it (Page.tab): the drawing, read now by mode's reader, when the page read it
    itself (read_in_page); else the tab's Result."""
    return reader_for(readers, mode).drawing(drawing).result if read_in_page(state, drawing) else state


def wire_answers(page: Page, readers: dict[str, Reader]):
    """The drawing, the mode, the pose sliders, the capsule choice and Reset; returns the capsule choice's event,
    which the views follow."""

    def on_draw(url, pen_is_down, chosen_mode):
        return page.shown(reader_for(readers, chosen_mode).drawing(url), views=pen_is_down is not True)

    def on_mode(state, drawing, chosen_mode):
        """The tab's input read again by the chosen mode's reader, unturned: a drawing the page read, read once."""
        reader = reader_for(readers, chosen_mode)
        if read_in_page(state, drawing):
            return page.shown(reader.drawing(drawing))
        return page.shown(reader.blank() if state is None else reader.turned(state, None))

    def on_pose(chosen, *pose_and_tab):
        pose, state = pose_and_tab[:-3], current(readers, *pose_and_tab[-3:])
        return page.posed_as(reader_of(readers, state).pose(chosen, pose, state), state)

    def on_select(chosen, *tab):
        state = current(readers, *tab)
        return page.posed_as(reader_of(readers, state).select(chosen, state), state)

    page.canvas.input(on_draw, inputs=[page.canvas, page.pen_down, page.mode], js=PEN_DOWN, api_name="draw",
                      outputs=page.answered(), **INTERNAL, **INSTANT)
    # The page read the drawing itself (canvas.js): its capsule and pose onto the page, in the browser alone.
    page.canvas.change(None, js=PAGE_READ, outputs=[page.digit, *page.sliders], queue=False, show_progress="hidden",
                       api_visibility="private")
    page.mode.input(on_mode, inputs=page.tab(), outputs=page.answered(), api_name="mode", **INTERNAL, **INSTANT)
    # Slider moves are decoded in the browser (decoder.js, and overlay.js for two digits), with no event here.
    # The picture's input event is the server path: decoder.js fires it for a slider move while the page cannot
    # run the decoder's graph itself.
    page.reconstruction.input(on_pose, inputs=[page.digit, *page.sliders, *page.tab()],
                              outputs=[page.reconstruction, page.overlay, page.result], api_name="pose", **INTERNAL,
                              **INSTANT)
    selected = page.asks.select.click(on_select, inputs=[page.digit, *page.tab()], outputs=page.posed(),
                                      api_name="select", **INTERNAL, **INSTANT)
    page.asks.reset.click(on_select, inputs=[page.digit, *page.tab()], outputs=page.posed(), api_name="reset",
                          **INTERNAL, **INSTANT)
    return selected


def wire_inputs(page: Page, readers: dict[str, Reader], upload: gr.File, examples: gr.Gallery,
                shipped: list[Example], pair_examples: gr.Gallery | None, shipped_pairs: list[Example]) -> None:
    """An uploaded image, a shipped example (read in the chosen mode) and a shipped pair (read in two-digit mode)."""

    def shown(answer: Answer) -> dict:
        # None as the canvas's value: the page's input is this file now, not the drawing (current)
        return {page.canvas: None, **page.shown(answer)}

    def on_upload(path, chosen_mode):
        answer = reader_for(readers, chosen_mode).file(path)
        return {upload: None, **shown(answer)}  # None: the box is ready for the next file

    def on_example(chosen_mode, event: gr.SelectData):
        return shown(reader_for(readers, chosen_mode).file(str(shipped[event.index].path)))

    def on_pair_example(event: gr.SelectData):
        return {page.mode: TWO, **shown(readers[TWO].file(str(shipped_pairs[event.index].path)))}

    # preprocess: Gradio hands over the uploaded file's path only if the file is one of its own uploads.
    # The answer empties the box, so that choosing, dropping or pasting another image simply replaces this one.
    answered = [page.canvas, *page.answered()]
    upload.upload(on_upload, inputs=[upload, page.mode], outputs=[upload, *answered], api_name="upload",
                  **{**INTERNAL, **INSTANT, "preprocess": True})
    examples.select(on_example, inputs=page.mode, outputs=answered, api_name="example", **INTERNAL, **INSTANT)
    if pair_examples is not None:
        pair_examples.select(on_pair_example, inputs=None, outputs=[*answered, page.mode],
                             api_name="pair_example", **INTERNAL, **INSTANT)


@dataclass
class ExplainerViews:
    """The four views below the sliders and their controls."""

    views: list[gr.HTML]  # #routing, #primary, #figure4, #all-capsules, in explainer.Views' order
    iterations: gr.Radio  # #iterations: re-run routing with 1-5 iterations
    figure4_button: gr.Button  # #figure4-png: make the labelled matplotlib figure
    figure4_file: gr.DownloadButton  # #figure4-file: its download, once made


# Is #sweep on screen (its tab open)? The sweep costs about 50 predictions: it is made only where it is seen.
SWEEP_SHOWN = "(...values) => [...values.slice(0, -1), document.querySelector('#sweep')?.checkVisibility() === true]"


@dataclass
class SweepEvents:
    """#sweep ("Turn and stretch"), made with the views of each Result and capsule choice, in the same request."""

    view: gr.HTML
    shown: gr.Checkbox  # is #sweep on screen? (SWEEP_SHOWN)
    make: Callable  # (state, chosen capsule, shown) -> #sweep's numbers, or gr.skip() while it is not seen


def wire_explainer(readers: dict[str, Reader], page: Page, selected, explained: ExplainerViews, sweep: SweepEvents) -> None:
    """The four views follow the tab's Result: a new one (its number changes), a capsule choice (selected: that
    event, which the views follow) or a number of iterations; #sweep comes with them (not for iterations). Figure
    4's PNG is made from it too, each by the reader that made the Result (its model, its capsules' names)."""
    # A new input, or another capsule or iteration count, also takes away the last Figure 4 download.
    outputs, iterations = [*explained.views, explained.figure4_file], explained.iterations

    def views(state, chosen, rounds) -> tuple:
        reader = reader_of(readers, state)
        with CORE_TURNS.take(view=True):
            made = explainer.explain(reader.model, state, chosen, rounds, reader.names)
        return *made.outputs(), gr.DownloadButton(visible=False)

    def views_and_sweep(state, chosen, rounds, seen) -> tuple:
        return *views(state, chosen, rounds), sweep.make(state, chosen, seen)

    def new_views(state, rounds, seen) -> tuple:
        return views_and_sweep(state, None, rounds, seen)  # the longest capsule, as the prediction chose it

    def on_iterations(*tab_chosen_rounds) -> tuple:
        state = current(readers, *tab_chosen_rounds[:3])
        return *views(state, *tab_chosen_rounds[3:]), state

    def on_figure4(*tab_and_chosen):
        state = current(readers, *tab_and_chosen[:3])
        path = explainer.figure4_png(reader_of(readers, state).model, state, tab_and_chosen[3],
                                     Path(tempfile.mkdtemp(prefix="capsnet-figure4-")))
        return gr.DownloadButton(value=path, visible=path is not None), state

    followers = [*outputs, sweep.view]
    page.new_result.change(new_views, inputs=[page.result, iterations, sweep.shown], js=SWEEP_SHOWN,
                           outputs=followers, api_name="explain", **VIEWS)
    selected.then(views_and_sweep, inputs=[page.result, page.digit, iterations, sweep.shown], js=SWEEP_SHOWN,
                  outputs=followers, api_name="explain_selected", **VIEWS)
    page.asks.iterations.click(on_iterations, inputs=[*page.tab(), page.digit, iterations],
                               outputs=[*outputs, page.result], api_name="iterations", **VIEWS)
    explained.figure4_button.click(on_figure4, inputs=[*page.tab(), page.digit],
                                   outputs=[explained.figure4_file, page.result], api_name="figure4_png",
                                   **{**INTERNAL, "postprocess": True})  # a download


# Runs in the browser as a #transform slider sends its value: is the pointer still pressing it? Then the
# prediction comes alone, as while the pen is down; letting go (release) brings the views and the sweep.
DRAGGING = "(...values) => [...values.slice(0, -1), document.querySelector('#transform input:active') !== null]"

@dataclass
class TransformControls:
    """#transform: the sliders that turn and stretch the network's input, and their Reset."""

    sliders: list[gr.Slider]  # #rotate, #scale, #shear, #shift-x, #shift-y: turn_and_stretch.CONTROLS' order
    reset: gr.Button  # #transform-reset: back to no change
    dragging: gr.Checkbox  # set by DRAGGING
    moved: gr.HTML  # turn.js: predicts a slider move in the page, else fires its input event ("transform")


def wire_transform(readers: dict[str, Reader], controls: TransformControls, tab: gr.Tab, sweep_view: gr.HTML,
                   page: Page, new_inputs: list) -> SweepEvents:
    """A #transform slider re-runs the network on the tab's input as framed, turned and stretched (no drawing
    is sent); Reset and every new input (new_inputs: their triggers) put the sliders back to no change. #sweep
    follows its tab's opening here, and the tab's Result and capsule choice with the views (the Sweep returned),
    drawn only while it can be seen. Only a reader that turns (one-digit mode) does either."""
    baseline = turn_and_stretch.load_baseline()
    sliders = controls.sliders
    shown = gr.Checkbox(False, visible="hidden", elem_id="sweep-shown")  # set by SWEEP_SHOWN

    def turned(state, values, views: bool) -> dict:
        """The page for the tab's input changed by values; nothing (the page as it is) before an input, or in a mode
        that reads the input as drawn."""
        if state is None or not reader_of(readers, state).turns:
            return {}
        return page.shown(reader_of(readers, state).turned(state, turn_and_stretch.change(values)), views)

    def on_transform(*tab_values_and_dragging):
        *values, dragging = tab_values_and_dragging[3:]
        state = current(readers, *tab_values_and_dragging[:3])
        return turned(state, values, views=dragging is not True) or gr.skip()

    def on_reset(*tab):
        return {**turned(current(readers, *tab), [], views=True),
                **dict(zip(sliders, turn_and_stretch.NO_CHANGE_VALUES))}

    def on_sweep(state, chosen, seen):
        if seen is not True:
            return gr.skip()
        reader = reader_of(readers, state)
        if not reader.turns:
            return turn_and_stretch.ONE_DIGIT_ONLY
        with CORE_TURNS.take(view=True):
            return turn_and_stretch.sweep_view(reader.model, baseline, state, chosen, reader.names)

    def on_sweep_asked(*tab_and_chosen):
        """#sweep, seen: its tab opened, or asked for by view.js for a drawing the page read itself."""
        state = current(readers, *tab_and_chosen[:3])
        return on_sweep(state, tab_and_chosen[3], True), state

    gr.on([controls.moved.input], on_transform, inputs=[*page.tab(), *sliders, controls.dragging], js=DRAGGING,
          outputs=page.answered(), api_name="transform", **INTERNAL, **INSTANT)
    gr.on([s.release for s in sliders], on_transform, inputs=[*page.tab(), *sliders, controls.dragging],
          outputs=page.answered(), api_name="transform_released", **INTERNAL, **INSTANT)
    controls.reset.click(on_reset, inputs=page.tab(), outputs=[*page.answered(), *sliders],
                         api_name="transform_reset", **INTERNAL, **INSTANT)
    for trigger in new_inputs:  # in the browser only: a new input starts with no change
        trigger(None, js=f"() => {list(turn_and_stretch.NO_CHANGE_VALUES)}", outputs=sliders, queue=False,
                show_progress="hidden", api_visibility="private")
    tab.select(on_sweep_asked, inputs=[*page.tab(), page.digit], outputs=[sweep_view, page.result],
               api_name="sweep_shown", **VIEWS)
    sweep_view.input(on_sweep_asked, inputs=[*page.tab(), page.digit], outputs=[sweep_view, page.result],
                     api_name="sweep_asked", **VIEWS)
    return SweepEvents(sweep_view, shown, on_sweep)


def classify_endpoint(reader: Reader) -> None:
    """The one public endpoint, /classify: an image file in, {"digit": int, "lengths": [10 floats]} out."""

    def classify(image: gr.FileData) -> dict:
        """Classify one image of a handwritten digit: the digit and the ten capsule lengths (0-1, independent)."""
        try:
            return explainer.classify(reader, image["path"] if isinstance(image, dict) else image.path)
        except ImageError as error:
            raise gr.Error(str(error)) from None

    gr.api(classify, api_name="classify", queue=False)


