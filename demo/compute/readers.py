"""The page's modes as readers: a model and what it reads an input as. Plain Python, no Gradio.

One-digit mode reads the longest capsule as the digit; two-digit mode reads a model trained on
MultiMNIST pairs (capsnet.multimnist), whose two longest capsules are its two digits (Sabour et al.
2017, section 6). A Reader does everything a mode does, so the page's wiring never asks which mode it
is in: it looks the tab's Result's reader up by name (`Result.mode`).

Each input is run through the network once (`Reader.read`): its Result, the tab's state, keeps what
the network saw and made of it, and the capsule choice, the sliders' reset, the turn-and-stretch
sliders and the explainer views follow from that Result. What the page shows is an Answer: numbers
for the views that the page draws itself (demo/static/modules/views.js), and pictures. Every size is the model's config.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from capsnet import CapsNet, CapsNetConfig, CheckpointError, ImageError, load_model, model_folder, read_config, warp
from capsnet.figures import two_colour_overlay
from capsnet.transforms import NO_CHANGE

from ..server.cores import CORE_TURNS
from .inputs import as_pose, read_data_url, read_upload, slider_values, whole_number
from ..server.memory import preprocess
from .pictures import black, image_url, png_url

# A capsule counts as a digit that is there from this length: halfway between the margin loss's
# targets for absent (m- = 0.1) and present (m+ = 0.9) digits.
PRESENT = 0.5


@dataclass
class Result:
    """One input as the network read it: a tab's state, made once per input (and per turn of it)."""

    mode: str  # the name of the Reader that made it
    x: torch.Tensor  # (1, 1, 28, 28) the network input: framed, then turned and stretched by change
    framed: torch.Tensor  # (1, 1, 28, 28) the input as preprocess framed it, before any change
    change: dict  # warp's arguments (capsnet.clamp_change); NO_CHANGE for none
    lengths: torch.Tensor  # (10,) the digit capsules' lengths
    poses: torch.Tensor  # (10, 16) the digit capsules v_j
    primary: torch.Tensor  # (1, 1152, 8) the primary capsules u_i: the views re-run only routing from them
    drawing: str | None = None  # the canvas's data URL it was read from (wiring.current); None: not a drawing

    @property
    def longest(self) -> int:
        return int(self.lengths.argmax())

    def capsule(self, chosen) -> int:
        """The capsule chosen on the page (a digit capsule's number), or the longest when none or no such one."""
        digit = whole_number(chosen, range(len(self.lengths)))
        return self.longest if digit is None else digit

    def longest_two(self) -> tuple[int, int]:
        """The two longest capsules, longest first: two-digit mode's digits."""
        first, second = self.lengths.topk(2).indices.tolist()
        return first, second

    def other(self, selected: int) -> int:
        """The digit that stays put while the sliders move capsule selected: the longer of the two that isn't it."""
        first, second = self.longest_two()
        return second if selected == first else first


@dataclass
class Answer:
    """Everything a new input changes on the page."""

    reading: dict  # numbers for #prediction and #lengths, which demo/static/modules/views.js draws (Reader.reading)
    network_input: str  # PNG data URL of the 28x28 image the network received
    reconstruction: str  # PNG data URL of the decoder's output for the selected capsule
    digit: int | None  # the selected capsule
    pose: list[float]  # its 16 values, for the sliders
    result: Result | None  # the tab's state; None when there is no digit to show
    overlay: dict | None = None  # two-digit mode's #overlay (Reader.overlay); None in one-digit mode


@dataclass
class Pose:
    """What a capsule choice, a Reset or a pose moved on the server changes."""

    reconstruction: str | None  # PNG data URL; None leaves the picture as it is
    values: list[float] | None  # the sliders' values; None leaves them
    overlay: dict | None = None  # None leaves #overlay as it is (and one-digit mode has none)


@dataclass(frozen=True)
class Reader:
    """A mode of the page: its model, how many digits it reads (its longest capsules), its messages, and the
    names of its capsules' pose dimensions (names[k][j]: dimension j of capsule k)."""

    mode: str
    model: CapsNet
    digits: int
    blank_message: str  # an empty canvas
    no_digit_message: str  # an image with nothing to read in it
    names: list[list[str]] = field(default_factory=list)
    turns: bool = True  # do the turn-and-stretch sliders apply? (the pair model reads the input as drawn)

    @property
    def config(self) -> CapsNetConfig:
        return self.model.config

    def reading(self, lengths: torch.Tensor | None = None, message: str | None = None) -> dict:
        """#prediction's and #lengths' numbers: the lengths (zeros and a message when there is nothing to read),
        how many of the longest capsules are digits, and from which length a capsule counts as one."""
        values = [0.0] * self.config.num_classes if lengths is None else [round(v, 4) for v in lengths.tolist()]
        return {"lengths": values, "digits": self.digits, "present": PRESENT,
                "message": (message or self.blank_message) if lengths is None else None}

    def page(self) -> dict:
        """What the page needs to draw this reader's predictions itself (network.js's manifest)."""
        return {"digits": self.digits, "present": PRESENT, "blank_message": self.blank_message}

    def blank(self, message: str | None = None) -> Answer:
        cfg = self.config
        return Answer(self.reading(None, message), black(cfg), black(cfg), None, [0.0] * cfg.digit_dim, None,
                      self.blank_overlay() if self.digits == 2 else None)

    def read(self, framed: torch.Tensor, change: dict | None = None) -> Answer:
        """The page for a network input as preprocess framed it (1, 1, 28, 28), turned and stretched by change
        (warp's arguments): one pass of the network."""
        change = dict(NO_CHANGE) if change is None else change
        x = framed if change == NO_CHANGE else warp(framed, **change)
        with CORE_TURNS.take(), torch.inference_mode():
            out = self.model(x)
        result = Result(self.mode, x, framed, change, out.lengths[0], out.poses[0], out.primary)
        selected = result.longest
        return Answer(self.reading(result.lengths), image_url(x), image_url(out.reconstruction), selected,
                      slider_values(result.poses[selected]), result, self.overlay(result, selected))

    def image(self, image, blank_message: str | None = None) -> Answer:
        """The page for an image (PIL or array, as capsnet.preprocess takes); blank, with blank_message, when
        there is nothing to read in it."""
        try:
            x = preprocess(image)
        except ImageError as error:
            return self.blank(f"Cannot read this image: {error}")
        return self.blank(blank_message) if x is None else self.read(x)

    def drawing(self, url) -> Answer:
        """The page for the canvas's data URL; an empty canvas is blank, anything else not an image says why."""
        try:
            image = read_data_url(url)
        except ImageError as error:
            return self.blank(f"Cannot read this drawing: {error}")
        answer = self.blank() if image is None else self.image(image)
        if answer.result is not None:
            answer.result.drawing = url
        return answer

    def file(self, path: str | None) -> Answer:
        """The page for an uploaded image file or a shipped example."""
        image, message = read_upload(path)
        return self.blank(message) if message else self.image(image, self.no_digit_message)

    def turned(self, result: Result, change: dict | None) -> Answer:
        """The tab's input as framed, turned and stretched by change (from the input as framed, not the last turn;
        None: unturned), by this reader, whichever made result."""
        answer = self.read(result.framed, change)
        answer.result.drawing = result.drawing
        return answer

    def decode(self, digit: int, pose) -> str:
        """The decoder's image of pose (16 values) placed in capsule digit."""
        with torch.inference_mode():
            image = self.model.decode(torch.as_tensor([pose], dtype=torch.float32), torch.tensor([digit]))
        return image_url(image)

    def select(self, chosen, result: Result | None) -> Pose:
        """Capsule chosen's own pose from the tab's Result: its picture and slider values; Reset does the same."""
        digit = whole_number(chosen, range(self.config.num_classes))
        if digit is None or result is None:
            return Pose(black(self.config), [0.0] * self.config.digit_dim)
        pose = result.poses[digit]
        return Pose(self.decode(digit, pose.tolist()), slider_values(pose), self.overlay(result, digit))

    def pose(self, chosen, values, result: Result | None) -> Pose:
        """A slider move drawn by the server (the page could not run the decoder's graph): black without a capsule; the
        picture left as it is for a pose that is not 16 finite numbers. Values beyond the sliders are clamped."""
        digit, pose = whole_number(chosen, range(self.config.num_classes)), as_pose(values, self.config.digit_dim)
        if digit is None:
            return Pose(black(self.config), None)
        if pose is None:
            return Pose(None, None)
        return Pose(self.decode(digit, pose), None, None if result is None else self.overlay(result, digit, pose))

    def overlay(self, result: Result, selected: int, pose=None) -> dict | None:
        """Two-digit mode's #overlay, the paper's Figure 5 for the input: capsule selected's drawing (from pose,
        default its own) in red, the other digit's in green, each decoded from its capsule alone, and the network
        input they are drawn over. None for a reader of one digit."""
        if self.digits != 2:
            return None
        other = result.other(selected)
        poses = torch.stack([result.poses[selected] if pose is None else torch.as_tensor(pose, dtype=torch.float32),
                             result.poses[other]])  # (2, 16)
        with torch.inference_mode():
            red, green = self.model.decode(poses, torch.tensor([selected, other]))  # (2, 1, 28, 28)
        return {"input": image_url(result.x), "drawings": png_url(two_colour_overlay(red, green))}

    def blank_overlay(self) -> dict:
        return {"input": black(self.config), "drawings": black(self.config)}


def one_digit(mode: str, model: CapsNet, names: list[list[str]]) -> Reader:
    return Reader(mode, model, 1, "Draw a digit",
                  "No digit found in this image: send one dark digit on a light background (or light on dark)", names)


def two_digits(mode: str, model: CapsNet, names: list[list[str]]) -> Reader:
    return Reader(mode, model, 2, "Draw two digits over each other",
                  "No digits found in this image: send dark digits on a light background (or light on dark)", names,
                  turns=False)


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
class Example:
    """A shipped MNIST test image (scripts/make_examples.py): one digit, or two over each other."""

    path: Path
    labels: tuple[int, ...]  # the true digits
    predicted: int | None = None  # what the shipped one-digit model says (one-digit examples)

    @property
    def caption(self) -> str:
        if len(self.labels) == 2:
            return "{} and {}".format(*self.labels)
        return str(self.labels[0]) if self.predicted == self.labels[0] else f"true {self.labels[0]}"


def load_examples(index: Path) -> list[Example]:
    """The examples listed in index (a JSON list of {"file", "label" and "prediction", or "labels"}, files beside
    it); none when it is missing."""
    if not index.exists():
        return []
    return [Example(index.parent / e["file"], tuple(e["labels"]) if "labels" in e else (int(e["label"]),),
                    e.get("prediction")) for e in json.loads(index.read_text())]


def warm_up(model: CapsNet) -> None:
    """One run on an empty image, so that the first drawing doesn't wait for PyTorch's lazy set-up."""
    size = model.config.image_size
    with torch.inference_mode():
        model(torch.zeros(1, 1, size, size))

