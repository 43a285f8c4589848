"""Turn and stretch: the #transform sliders, the #sweep chart and the pose dimensions' labels. Plain functions, no
Gradio.

A capsule's length should hold when the digit is turned or stretched a little (it is still there) while its
pose moves with the change (equivariance). The sliders change the network's 28x28 input after preprocess
framed it (capsnet.warp), so the framing cannot undo them: the tab's Result keeps the input as framed, and a
slider move runs the network once on the changed input, without the drawing. The sweep runs one batch over
-60..60 deg and one over scale 0.5..1.5 through the CapsNet and the CNN baseline (capsnet/cnn.py), and draws
the lengths, the selected capsule's pose and the CNN's probability against the change, as SVG.
"""

import html
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from capsnet import CheckpointError, load_model
from capsnet.checkpoints import CNN_CHECKPOINT, POSE_LABELS
from capsnet.cnn import class_scores
from capsnet.transforms import NO_CHANGE, RANGES, clamp_change, sweep

from .readers import Result

BASELINE = CNN_CHECKPOINT  # train.py --model cnn


@dataclass(frozen=True)
class Control:
    """One #transform slider: its element id, label, range, step and value for no change."""

    elem_id: str
    label: str
    low: float
    high: float
    step: float
    none: float


# In the order the sliders' values reach change(): rotate, scale, shear, shift x, shift y.
CONTROLS = [
    Control("rotate", "turn (deg)", *RANGES["rotate"], 1, NO_CHANGE["rotate"]),
    Control("scale", "scale", *RANGES["scale"], 0.05, NO_CHANGE["scale"]),
    Control("shear", "shear", *RANGES["shear"], 0.05, NO_CHANGE["shear"]),
    Control("shift-x", "shift x (px)", *RANGES["shift"], 0.5, NO_CHANGE["shift"][0]),
    Control("shift-y", "shift y (px)", *RANGES["shift"], 0.5, NO_CHANGE["shift"][1]),
]
NO_CHANGE_VALUES = tuple(control.none for control in CONTROLS)


def change(values) -> dict:
    """The sliders' five values (from the page or the API) as warp's arguments: clamped to RANGES, and anything
    that is not a finite number (NaN, None, text) left at no change; missing values count as no change."""
    values = list(values)[: len(CONTROLS)] if isinstance(values, (list, tuple)) else []
    rotate, scale, shear, shift_x, shift_y = values + list(NO_CHANGE_VALUES[len(values):])
    return clamp_change(rotate, scale, shear, (shift_x, shift_y))


# ---- the CNN baseline and the pose dimensions' labels -----------------------------------------------------------

def load_baseline(path: Path = BASELINE):
    """The CNN baseline for the sweep's comparison, or None when its checkpoint is missing or unreadable."""
    try:
        return load_model(path)
    except CheckpointError:
        return None


def dimension_labels(folder: Path, digit_dim: int) -> list[dict] | None:
    """What each pose dimension tracks, measured for the model in folder by bench/pose_dimensions.py (its
    pose-dimensions.json), or None when it was not measured or is for another pose size."""
    path = Path(folder) / POSE_LABELS
    if not path.is_file():
        return None
    try:
        measured = json.loads(path.read_text())
        dims = measured["dimensions"]
        if len(dims) != digit_dim or len(measured["correlations"]) == 0:
            return None
        return [{**d, "correlations": {k: v[d["dim"]] for k, v in measured["correlations"].items()}} for d in dims]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def pose_name(dim: int, label: str | None = None) -> str:
    """A pose dimension's name on the page: "dim 4 - slant" where it tracks a change strongly, else "dim 4"."""
    return f"dim {dim} - {label}" if label else f"dim {dim}"


def capsule_names(folder: Path | None, digit_dim: int, num_classes: int) -> list[list[str]]:
    """names[k][j]: what dimension j of capsule k tracks, measured within each digit's own capsule for the model
    in folder by bench/pose_dimensions.py (pose-dimensions.json's by_digit); "dim j" where it was not measured."""
    unnamed = [[pose_name(dim) for dim in range(digit_dim)] for _ in range(num_classes)]
    if folder is None:
        return unnamed
    try:
        by_digit = json.loads((Path(folder) / POSE_LABELS).read_text())["by_digit"]
        names = [[pose_name(d["dim"], d["label"]) for d in by_digit[str(k)]] for k in range(num_classes)]
    except (OSError, ValueError, KeyError, TypeError):
        return unnamed
    return names if all(len(row) == digit_dim for row in names) else unnamed


def dimensions_html(labels: list[dict] | None) -> str:
    """The per-dimension correlations as a small heat-map table (r in red for +, blue for -), or how to make them."""
    if not labels:
        return ('<p class="waiting">Not measured for this checkpoint: <code>python -m bench.pose_dimensions '
                '--checkpoint PATH</code> writes them beside it.</p>')
    changes = list(labels[0]["correlations"])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in changes)
    rows = "".join(
        f'<tr><th>dim {d["dim"]}</th>'
        + "".join(f'<td style="background:{r_colour(r)}">{r:+.2f}</td>' for r in d["correlations"].values())
        + f'<td class="tracks">{html.escape(d["label"] or "")}</td></tr>'
        for d in labels
    )
    return (f'<table class="dims-table"><thead><tr><th></th>{head}<th>label</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def r_colour(r: float) -> str:
    """A correlation as a colour: white at 0, red towards +1, blue towards -1."""
    strength = min(abs(r), 1.0)
    channel = round(255 * (1 - 0.75 * strength))
    return f"rgb(255,{channel},{channel})" if r >= 0 else f"rgb({channel},{channel},255)"


# ---- the sweep ----------------------------------------------------------------------------------------------------

AXES = {"rotate": ("turn", "deg", "{:+g} deg"), "scale": ("scale", "x", "{:g}x")}  # name, unit, how a value reads


@dataclass
class Sweep:
    """One axis of the sweep for the tab's input, every other change held at the sliders' values."""

    axis: str  # "rotate" or "scale"
    amounts: torch.Tensor  # (K,) capsnet.transforms.SWEEPS[axis]
    lengths: torch.Tensor  # (K, 10) every capsule's length
    pose: torch.Tensor  # (K, 16) the selected capsule's pose
    cnn: torch.Tensor | None  # (K,) the CNN's probability of the selected digit; None without the baseline
    cnn_top: torch.Tensor | None  # (K,) the CNN's most probable digit
    digit: int  # the selected capsule
    current: float  # the slider's value on this axis

    def kept(self, top: torch.Tensor) -> tuple[float, float] | None:
        """The stretch of amounts around the current value where top (K,) is the digit, or None when it isn't
        there at the amount nearest the current value."""
        start = int((self.amounts - self.current).abs().argmin())
        if int(top[start]) != self.digit:
            return None
        low = high = start
        while low > 0 and int(top[low - 1]) == self.digit:
            low -= 1
        while high < len(top) - 1 and int(top[high + 1]) == self.digit:
            high += 1
        return float(self.amounts[low]), float(self.amounts[high])


def sweeps(model, baseline, result: Result, digit: int) -> list[Sweep]:
    """Both axes for the tab's Result and capsule digit: one batch each through the CapsNet and the CNN."""
    framed, held = result.framed, result.change
    found = []
    for axis in AXES:
        others = {name: value for name, value in held.items() if name != axis}
        amounts, out = sweep(model, framed, axis, **others)  # lengths (K, 10), poses (K, 10, 16)
        cnn = top = None
        if baseline is not None:
            scores = class_scores(sweep(baseline, framed, axis, **others)[1])  # (K, 10)
            cnn, top = scores[:, digit], scores.argmax(dim=1)
        found.append(Sweep(axis, amounts, out.lengths, out.poses[:, digit], cnn, top, digit, float(held[axis])))
    return found


def stretch(kept: tuple[float, float], s: Sweep) -> str:
    """An interval of the sweep in words: "from -35 deg to +40 deg", or "over the whole sweep"."""
    read = AXES[s.axis][2]
    if kept == (float(s.amounts[0]), float(s.amounts[-1])):
        return "over the whole sweep"
    return f"from {read.format(kept[0])} to {read.format(kept[1])}"


def at_setting(top: torch.Tensor, s: Sweep) -> int:
    """The digit top (K,) names at the amount nearest the slider's value."""
    return int(top[int((s.amounts - s.current).abs().argmin())])


def caption(s: Sweep) -> str:
    """What this input shows along one axis, in words, from the numbers."""
    name = AXES[s.axis][0]
    longest = s.lengths.argmax(dim=1)  # (K,)
    kept, own = s.kept(longest), s.lengths[:, s.digit]
    if kept is None:
        text = (f"{name.capitalize()}: at this setting the {at_setting(longest, s)}, not the {s.digit}, is the longest "
                "capsule")
    else:
        text = f"{name.capitalize()}: the {s.digit} stays the longest capsule {stretch(kept, s)}"
        others = sorted(set(longest.tolist()) - {s.digit})
        text += f" (beyond, {' or '.join(f'the {d}' for d in others)})" if others else ""
    text += f"; capsule {s.digit}'s length goes {float(own.min()):.2f}-{float(own.max()):.2f} over the sweep."
    if s.cnn_top is not None:
        cnn_kept = s.kept(s.cnn_top)
        text += (f" At this setting the CNN picks the {at_setting(s.cnn_top, s)}." if cnn_kept is None else
                 f" The CNN picks the {s.digit} {stretch(cnn_kept, s)}.")
    follows = following(s, kept)
    return text + (f" Pose values that follow the {name} most closely: {follows}." if follows else "")


def following(s: Sweep, kept: tuple[float, float] | None, count: int = 2) -> str:
    """The pose dimensions whose value moves most in step with the amount (|Pearson r|) while the capsule stays the
    longest: "dim 4 (r +0.98), dim 9 (-0.95)"; empty when it is longest at fewer than 3 amounts."""
    inside = (s.amounts >= kept[0]) & (s.amounts <= kept[1]) if kept else torch.zeros_like(s.amounts, dtype=torch.bool)
    if int(inside.sum()) < 3:
        return ""
    a = s.amounts[inside].double() - s.amounts[inside].double().mean()  # (k,)
    p = s.pose[inside].double() - s.pose[inside].double().mean(dim=0)  # (k, 16)
    r = (a[:, None] * p).sum(0) / ((a**2).sum().sqrt() * (p**2).sum(0).sqrt()).clamp_min(1e-12)  # (16,)
    best = r.abs().argsort(descending=True)[:count].tolist()
    return ", ".join(f"dim {d} (r {float(r[d]):+.2f})" for d in best)


# ---- the chart, as SVG --------------------------------------------------------------------------------------------

WIDTH, HEIGHT = 330, 170
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 10, 26  # the plot's margins
POSE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]


class Axes:
    """An SVG plot area: amounts along x (the sweep's range), values along y (low..high)."""

    def __init__(self, amounts: torch.Tensor, low: float, high: float):
        self.x0, self.x1, self.low, self.high = float(amounts[0]), float(amounts[-1]), low, high

    def x(self, amount: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (amount - self.x0) / (self.x1 - self.x0)

    def y(self, value: float) -> float:
        value = min(max(value, self.low), self.high)
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (value - self.low) / (self.high - self.low)

    def line(self, amounts, values, css: str, title: str, colour: str | None = None) -> str:
        points = " ".join(f"{self.x(float(a)):.1f},{self.y(float(v)):.1f}" for a, v in zip(amounts, values))
        style = f' style="stroke:{colour}"' if colour else ""
        return f'<polyline class="{css}" points="{points}"{style}><title>{html.escape(title)}</title></polyline>'


def frame(axes: Axes, s: Sweep, y_ticks: list[float], kept: tuple[float, float] | None) -> str:
    """Grid lines, tick labels, the band where the capsule is longest and the slider's current value."""
    _, unit, read = AXES[s.axis]
    parts = []
    if kept is not None:
        parts.append(f'<rect class="kept" x="{axes.x(kept[0]):.1f}" y="{TOP}" '
                     f'width="{max(axes.x(kept[1]) - axes.x(kept[0]), 2):.1f}" height="{HEIGHT - TOP - BOTTOM}">'
                     f"<title>capsule {s.digit} longest</title></rect>")
    for v in y_ticks:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axes.y(v):.1f}" y2="{axes.y(v):.1f}"/>'
                     f'<text x="{LEFT - 4}" y="{axes.y(v) + 3:.1f}" text-anchor="end">{v:g}</text>')
    first, last = float(s.amounts[0]), float(s.amounts[-1])
    for v in torch.linspace(first, last, 5).tolist():
        parts.append(f'<text x="{axes.x(v):.1f}" y="{HEIGHT - 12}" text-anchor="middle">{v:g}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 1}" text-anchor="end">{unit}</text>')
    parts.append(f'<line class="now" x1="{axes.x(s.current):.1f}" x2="{axes.x(s.current):.1f}" y1="{TOP}" '
                 f'y2="{HEIGHT - BOTTOM}"><title>now: {read.format(s.current)}</title></line>')
    return "".join(parts)


def svg(body: str, label: str) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{html.escape(label)}">{body}</svg>')


def lengths_svg(s: Sweep) -> str:
    """Every capsule's length against the amount, the selected one thick; the CNN's probability of it dashed."""
    axes, name = Axes(s.amounts, 0.0, 1.0), AXES[s.axis][0]
    kept = s.kept(s.lengths.argmax(dim=1))
    lines = "".join(axes.line(s.amounts, s.lengths[:, d], "other", f"capsule {d}")
                    for d in range(s.lengths.shape[1]) if d != s.digit)
    lines += axes.line(s.amounts, s.lengths[:, s.digit], "on", f"capsule {s.digit}'s length")
    if s.cnn is not None:
        lines += axes.line(s.amounts, s.cnn, "cnn", f"CNN: probability of {s.digit}")
    body = frame(axes, s, [0, 0.5, 1], kept) + lines
    return svg(body, f"capsule lengths against the {name}; capsule {s.digit} thick, the CNN's probability dashed")


def pose_svg(s: Sweep, names: list[str] | None) -> str:
    """The selected capsule's pose values against the amount, one coloured line per dimension, named (names[d])."""
    top = max(float(s.pose.abs().max()), 0.05)
    axes, name = Axes(s.amounts, -top, top), AXES[s.axis][0]
    lines = "".join(axes.line(s.amounts, s.pose[:, d], "pose", names[d] if names else pose_name(d),
                              POSE_COLOURS[d % 16]) for d in range(s.pose.shape[1]))
    ticks = [round(-top, 2), 0, round(top, 2)]
    return svg(frame(axes, s, ticks, s.kept(s.lengths.argmax(dim=1))) + lines,
               f"capsule {s.digit}'s {s.pose.shape[1]} pose values against the {name}")


# In two-digit mode the pair model reads the input as drawn: turning is for one digit.
ONE_DIGIT_ONLY = ('<p class="waiting">Turn and stretch reads one digit: choose "one digit" above to turn and stretch '
                  "it and see its sweep.</p>")


def sweep_html(model, baseline, result: Result | None, digit=None, names: list[list[str]] | None = None) -> str:
    """#sweep for the tab's Result and the selected capsule (default: the longest); names: capsule_names."""
    if result is None:
        return ('<p class="waiting">Draw a digit, upload an image or pick an example: this view then shows how its '
                "capsules answer a turn and a stretch.</p>")
    digit = result.capsule(digit)
    with torch.inference_mode():
        found = sweeps(model, baseline, result, digit)
    legend = (f'<p class="legend-line"><span class="key on"></span> capsule {digit}\'s length '
              '<span class="key other"></span> the other capsules '
              + (f'<span class="key cnn"></span> CNN: probability of {digit} ' if baseline is not None else
                 "(no CNN baseline loaded: train it with <code>python train.py --model cnn</code>) ")
              + '<span class="key kept"></span> capsule longest <span class="key now"></span> the slider now</p>')
    panels = "".join(
        f'<div class="sweep-axis" data-axis="{s.axis}"><p class="caption">{html.escape(caption(s))}</p>'
        f'<div class="charts"><figure>{lengths_svg(s)}<figcaption>lengths against the {AXES[s.axis][0]}'
        f'</figcaption></figure><figure>{pose_svg(s, names[digit] if names else None)}<figcaption>capsule {digit}\'s '
        f'{s.pose.shape[1]} pose values (hover a line for its dimension)</figcaption></figure></div></div>'
        for s in found
    )
    return legend + panels
