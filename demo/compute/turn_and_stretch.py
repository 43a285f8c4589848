"""Turn and stretch: the #transform sliders, the #sweep chart and the pose dimensions' labels. Plain functions, no
Gradio.

A capsule's length should hold when the digit is turned or stretched a little (it is still there) while its
pose moves with the change (equivariance). The sliders change the network's 28x28 input after preprocess
framed it (capsnet.warp), so the framing cannot undo them: the tab's Result keeps the input as framed, and a
slider move runs the network once on the changed input, without the drawing. The sweep runs one batch over
-60..60 deg and one over scale 0.5..1.5 through the CapsNet and the CNN baseline (capsnet/cnn.py): the lengths,
the selected capsule's pose and the CNN's probability against the change, and what its caption says, as numbers
that the page draws (demo/static/modules/views/sweep.js); the pose dimensions' table likewise (demo/static/modules/views/dimensions.js).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from capsnet import CheckpointError, load_model
from capsnet.checkpoints import CNN_CHECKPOINT, POSE_LABELS
from capsnet.cnn import class_scores
from capsnet.transforms import NO_CHANGE, RANGES, clamp_change, sweep

from .explainer import WAITING
from .pictures import packed_numbers
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


def dimensions(labels: list[dict] | None) -> dict:
    """#pose-dimensions' numbers: each dimension's correlation r with each change (dimension_labels), its colour
    (r_colour) and its label; or, where they were not measured, how to measure them."""
    if not labels:
        return {"waiting": "Not measured for this checkpoint: python -m bench.pose_dimensions --checkpoint PATH "
                           "writes them beside it."}
    return {"changes": list(labels[0]["correlations"]), "dims": [d["dim"] for d in labels],
            "r": [rounded(list(d["correlations"].values())) for d in labels],
            "colours": [[r_colour(r) for r in d["correlations"].values()] for d in labels],
            "labels": [d["label"] for d in labels]}


def r_colour(r: float) -> list[int]:
    """A correlation as an RGB colour: white at 0, red towards +1, blue towards -1."""
    strength = min(abs(r), 1.0)
    channel = round(255 * (1 - 0.75 * strength))
    return [255, channel, channel] if r >= 0 else [channel, channel, 255]


# ---- the sweep ----------------------------------------------------------------------------------------------------

AXES = ("rotate", "scale")  # the sweep's axes, the sliders' first two changes
POSE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]
DECIMALS = 4  # the numbers sent to the page


def rounded(values) -> list | float | None:
    """A tensor (or a number) as the page gets it: nested lists of floats rounded to DECIMALS; None stays None."""
    if values is None:
        return None
    values = torch.as_tensor(values, dtype=torch.float64)
    return values.round(decimals=DECIMALS).tolist()


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
        start = self.now()
        if int(top[start]) != self.digit:
            return None
        low = high = start
        while low > 0 and int(top[low - 1]) == self.digit:
            low -= 1
        while high < len(top) - 1 and int(top[high + 1]) == self.digit:
            high += 1
        return float(self.amounts[low]), float(self.amounts[high])

    def now(self) -> int:
        """The index of the amount nearest the slider's value."""
        return int((self.amounts - self.current).abs().argmin())

    def following(self, kept: tuple[float, float] | None, count: int = 2) -> list[tuple[int, float]]:
        """The count pose dimensions whose value moves most in step with the amount (|Pearson r|) while the capsule
        stays the longest, with their r: [(4, 0.98), (9, -0.95)]; none when it is longest at fewer than 3 amounts."""
        inside = ((self.amounts >= kept[0]) & (self.amounts <= kept[1]) if kept
                  else torch.zeros_like(self.amounts, dtype=torch.bool))
        if int(inside.sum()) < 3:
            return []
        a = self.amounts[inside].double() - self.amounts[inside].double().mean()  # (k,)
        p = self.pose[inside].double() - self.pose[inside].double().mean(dim=0)  # (k, 16)
        r = (a[:, None] * p).sum(0) / ((a**2).sum().sqrt() * (p**2).sum(0).sqrt()).clamp_min(1e-12)  # (16,)
        return [(d, float(r[d])) for d in r.abs().argsort(descending=True)[:count].tolist()]

    def numbers(self) -> dict:
        """This axis as the page draws it: the curves (lengths and pose packed, pictures.packed_numbers), and the
        numbers its caption says. kept: where the capsule is the longest around the slider's value ([low, high] of
        the amounts, or null: then longest_now is the longest capsule at the slider's value), others: the capsules
        longest elsewhere in the sweep, length_range: the capsule's length's least and most, cnn_kept and cnn_now the
        same for the CNN's choice (null without it), following: the pose dimensions that follow the change most
        while the capsule is longest, with their r."""
        longest = self.lengths.argmax(dim=1)  # (K,)
        kept, own = self.kept(longest), self.lengths[:, self.digit]
        has_cnn = self.cnn_top is not None
        return {"axis": self.axis, "amounts": rounded(self.amounts), "current": rounded(self.current),
                "lengths": packed_numbers(self.lengths), "pose": packed_numbers(self.pose), "cnn": rounded(self.cnn),
                "cnn_top": self.cnn_top.tolist() if has_cnn else None,
                "kept": rounded(kept), "longest_now": int(longest[self.now()]),
                "others": sorted(set(longest.tolist()) - {self.digit}),
                "length_range": rounded(torch.stack([own.min(), own.max()])),
                "cnn_kept": rounded(self.kept(self.cnn_top)) if has_cnn else None,
                "cnn_now": int(self.cnn_top[self.now()]) if has_cnn else None,
                "following": [{"dim": d, "r": rounded(r)} for d, r in self.following(kept)]}


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


# In two-digit mode the pair model reads the input as drawn: turning is for one digit.
ONE_DIGIT_ONLY = {"waiting": 'Turn and stretch reads one digit: choose "one digit" above to turn and stretch it and '
                             "see its sweep."}


def sweep_view(model, baseline, result: Result | None, digit=None, names: list[list[str]] | None = None) -> dict:
    """#sweep's numbers for the tab's Result and the selected capsule (default: the longest): each axis's
    (Sweep.numbers), whether the CNN baseline is loaded, and the pose lines' names (names: capsule_names) and
    colours."""
    if result is None:
        return {"waiting": WAITING.format("how its capsules answer a turn and a stretch")}
    digit = result.capsule(digit)
    with torch.inference_mode():
        found = sweeps(model, baseline, result, digit)
    dims = found[0].pose.shape[1]
    return {"digit": digit, "baseline": baseline is not None,
            "names": names[digit] if names else [pose_name(d) for d in range(dims)],
            "colours": [POSE_COLOURS[d % len(POSE_COLOURS)] for d in range(dims)],
            "axes": [s.numbers() for s in found]}
