"""Two digits at once: what the page shows in two-digit mode, from the pair model. Plain functions, no Gradio.

A model trained on MultiMNIST pairs (capsnet.multimnist) reads two overlapping digits at once: the
two longest capsules are its two digits (Sabour et al. 2017, section 6). Each input is run once,
as in one-digit mode; its PairResult is the tab's state, so that the capsule choice, the sliders'
reset and the explainer views (which read any handlers.Result) follow from it with the pair model.
The overlay is the paper's Figure 5 for the input: the selected capsule's drawing in red, the other
digit's in green (capsnet.figures.two_colour_overlay), over the network's input. overlay.js redraws
its red drawing in the browser when a slider moves; the green one stays as sent.
"""

import html
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from capsnet import CapsNet, CapsNetConfig, CheckpointError, ImageError, load_model, model_folder, read_config
from capsnet.figures import two_colour_overlay

from . import explainer, handlers
from .cores import CORE_TURNS
from .handlers import Result, View, image_url, png_url
from .memory import preprocess

BLANK_MESSAGE = "Draw two digits over each other"
NO_DIGITS = "No digits found in this image: send dark digits on a light background (or light on dark)"
# A capsule counts as a digit that is there from this length: halfway between the margin loss's
# targets for absent (m- = 0.1) and present (m+ = 0.9) digits.
PRESENT = 0.5


def load_pair_model(path: Path, model: CapsNet) -> tuple[CapsNet | None, str]:
    """(the pair model in path, "") when it can serve two-digit mode beside model, else (None, one line saying why):
    a CapsNet trained on pairs (train.py --pairs) with model's digits, pose size and image size."""
    if not model_folder(path).exists():  # a shipped model's name is a folder too
        return None, f"{path}: no such model folder; train a pair model with `python train.py --pairs` (see README)"
    try:
        pair_model, task = load_model(path), read_config(path)["task"]
    except CheckpointError as error:
        return None, str(error)
    if not isinstance(pair_model, CapsNet) or task != "multimnist":
        return None, f"{path} is not a model trained on pairs (train.py --pairs)"
    sizes = ("num_classes", "digit_dim", "image_size")
    if any(getattr(pair_model.config, size) != getattr(model.config, size) for size in sizes):
        return None, f"{path}: its digits, pose or image size differ from the one-digit model's"
    return pair_model, ""


@dataclass
class PairResult(Result):
    """A Result of the pair model: its two longest capsules are the two digits it reads."""

    @property
    def digits(self) -> tuple[int, int]:
        """The two longest capsules, longest first."""
        first, second = self.lengths.topk(2).indices.tolist()
        return first, second

    def other(self, selected: int) -> int:
        """The digit that stays put while the sliders move capsule selected: the longer of the two that isn't it."""
        first, second = self.digits
        return second if selected == first else first


@dataclass
class PairView(View):
    """A two-digit prediction: View's outputs, and the overlay for #overlay."""

    overlay: dict  # {"input": PNG data URL of the network input, "drawings": red and green drawings as one PNG}


def blank_overlay(cfg: CapsNetConfig) -> dict:
    black = handlers.black(cfg)
    return {"input": black, "drawings": black}


def blank_view(cfg: CapsNetConfig, message: str = BLANK_MESSAGE) -> PairView:
    return PairView(**vars(handlers.blank_view(cfg, message)), overlay=blank_overlay(cfg))


def overlay(model: CapsNet, result: PairResult, selected: int, pose=None) -> dict:
    """#overlay's value: capsule selected's drawing (from pose, default its own) in red, the other digit's in
    green, each decoded from its capsule alone, and the network input they are drawn over."""
    other = result.other(selected)
    poses = torch.stack([result.poses[selected] if pose is None else torch.as_tensor(pose, dtype=torch.float32),
                         result.poses[other]])  # (2, 16)
    with torch.inference_mode():
        red, green = model.decode(poses, torch.tensor([selected, other]))  # (2, 1, 28, 28)
    return {"input": image_url(result.x), "drawings": png_url(two_colour_overlay(red, green))}


def prediction_html(lengths: torch.Tensor) -> str:
    """Both digits, large, with their lengths; only the first, and why, when the second capsule is short."""
    (first, second, third), (a, b, c) = (part.tolist() for part in lengths.topk(3))
    if second < PRESENT:
        return (f'<div class="predicted-digit">{a}</div>'
                f'<div class="margin">{html.escape(one_digit_message(a, first, b, second))}</div>')
    return (f'<div class="predicted-digit pair">{a} <small>and</small> {b}</div>'
            f'<div class="margin">capsules {a}: length {first:.2f} and {b}: {second:.2f}; '
            f'next longest {c}: {third:.2f}</div>')


def one_digit_message(a: int, first: float, b: int, second: float) -> str:
    return (f"one digit: {a} (length {first:.2f}; the next, {b}: {second:.2f}, is under {PRESENT}). "
            "Draw a second digit over it for two.")


def predict_input(model: CapsNet, x: torch.Tensor) -> PairView:
    """The two-digit page for a network input x (1, 1, 28, 28), as preprocess framed it."""
    with CORE_TURNS.take(), torch.inference_mode():
        out = model(x)
    result = PairResult(x, out.lengths[0], out.poses[0], out.primary)
    selected = result.digits[0]
    return PairView(prediction_html(result.lengths), handlers.lengths_html(result.lengths, marked=2),
                    image_url(x), image_url(out.reconstruction), selected,
                    handlers.slider_values(result.poses[selected]), result, overlay(model, result, selected))


def predict(model: CapsNet, image, blank_message: str = BLANK_MESSAGE) -> PairView:
    """The two-digit page for an image (PIL or array); blank, with blank_message, when there's no ink in it."""
    try:
        x = preprocess(image)
    except ImageError as error:
        return blank_view(model.config, f"Cannot read this image: {error}")
    return blank_view(model.config, blank_message) if x is None else predict_input(model, x)


def predict_drawing(model: CapsNet, url) -> PairView:
    """The two-digit page for the canvas's data URL; an empty canvas is blank, anything not an image says why."""
    try:
        image = handlers.read_data_url(url)
    except ImageError as error:
        return blank_view(model.config, f"Cannot read this drawing: {error}")
    return blank_view(model.config) if image is None else predict(model, image)


def select_capsule(model: CapsNet, digit, result: PairResult) -> tuple:
    """handlers.select_capsule's (reconstruction, slider values), and the overlay with that capsule in red."""
    return *handlers.select_capsule(model, digit, result), overlay(model, result, result.capsule(digit))


def reconstruct(model: CapsNet, digit, pose, result: PairResult) -> tuple:
    """A slider move drawn by the server (decoder.js has no weights): (reconstruction, overlay); None for either
    leaves it as it is, as handlers.reconstruct does for a pose that is not 16 finite numbers."""
    picture = handlers.reconstruct(model, digit, pose)
    pose = handlers.as_pose(pose, model.config.digit_dim)
    digit = handlers.whole_number(digit, range(model.config.num_classes))
    if picture is None or pose is None or digit is None:
        return picture, None
    return picture, overlay(model, result, digit, pose)



def predict_file(model: CapsNet, path: str | None) -> PairView:
    """The two-digit page for an uploaded image file or a shipped pair: like a drawing, or blank with a message."""
    image, message = explainer.read_upload(path)
    return blank_view(model.config, message) if message else predict(model, image, NO_DIGITS)


@dataclass
class Example:
    """A shipped pair of MNIST test digits over each other (scripts/make_examples.py)."""

    path: Path
    labels: tuple[int, int]  # the two true digits

    @property
    def caption(self) -> str:
        return "{} and {}".format(*self.labels)


def load_examples(index: Path) -> list[Example]:
    """The pairs listed in index (a JSON list of {"file", "labels"}, files beside it); none when it is missing."""
    if not index.exists():
        return []
    return [Example(index.parent / e["file"], tuple(e["labels"])) for e in json.loads(index.read_text())]
