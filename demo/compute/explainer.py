"""The explainer views' numbers: what happens inside the capsules for the tab's current input. Plain functions, no
Gradio, no HTML: the page draws every view from these numbers (demo/static/modules/views/, docs/demo-code.md).

They follow from the prediction's Result (readers.py), never from the image again: routing is re-run from its
primary capsules with `model.route` (with the iterations the page chose), and its poses are decoded. The
numbers come from `capsnet.figures`; pictures travel as packed uint8 pixels, colours as colour scales the page
applies. Figure 4's download, with axes and labels, is drawn by `capsnet.figures.figure4` (matplotlib).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from capsnet import CapsNet, CapsNetConfig, ImageError, figures

from ..server.cores import CORE_TURNS
from .inputs import whole_number
from ..server.memory import preprocess, read_image
from .pictures import colour_scale, gray, packed
from .readers import Reader, Result

AGREEMENT_QUANTILE = 0.99  # the agreement colour scale ends at this quantile of |agreement|
# The views' numbers travel rounded to 4 decimals (rounded), well within a step of the colour scales, but for
WRITTEN_DECIMALS = 6  # numbers the page writes out with up to 3 decimals (rounding them twice rarely shifts one)
VOTE_DECIMALS = 7  # a vote map's pixels: fractions of all votes, 4e-4 at most on the shipped model
ITERATIONS = range(1, 6)  # the page's choice of routing iterations to re-run (the model is trained with 3)
WAITING = "Draw a digit, upload an image or pick an example: this view then shows {}."


@dataclass
class Views:
    """The four explainer views for one input, in the order app.py lists the outputs."""

    routing: dict  # numbers for #routing (routing), which views.js draws
    primary: dict  # numbers for #primary (primary), which views.js draws
    figure4: dict  # numbers for #figure4 (figure4), which views.js draws
    all_capsules: dict  # numbers for #all-capsules (all_capsules), which views.js draws

    def outputs(self) -> tuple:
        return self.routing, self.primary, self.figure4, self.all_capsules


def waiting_views(cfg: CapsNetConfig) -> Views:
    return Views({"waiting": WAITING.format("routing by agreement, iteration by iteration")},
                 {"waiting": WAITING.format(f"what the {cfg.primary_channels} primary capsule types say about the "
                                            "selected digit")},
                 {"waiting": WAITING.format("Figure 4 of the paper for your digit")},
                 {"waiting": WAITING.format("what every digit capsule would draw")})


# ---- the API ----------------------------------------------------------------------------------------------------

def classify(reader: Reader, path: str) -> dict:
    """The /classify endpoint: {"digit": int, "lengths": [10 floats]}; ImageError when there is no digit to see."""
    x = preprocess(read_image(path))
    if x is None:
        raise ImageError(reader.no_digit_message)
    with CORE_TURNS.take(), torch.inference_mode():
        lengths = reader.model(x).lengths[0]
    return {"digit": int(lengths.argmax()), "lengths": lengths.tolist()}


# ---- the views ----------------------------------------------------------------------------------------------------

def explain(model: CapsNet, result: Result | None, digit=None, iterations=None, names=None) -> Views:
    """All four views of the tab's Result for digit capsule digit (default: the longest); names[k][j] names
    dimension j of capsule k in Figure 4 (turn_and_stretch.capsule_names).

    digit and iterations come from the page (or a script calling its events): anything but
    a digit capsule's number and 1-5 counts as not given. The prediction's own lengths and
    poses are shown; only routing is re-run, with the chosen iterations (default: the model's).
    """
    if result is None:
        return waiting_views(model.config)
    digit, iterations = result.capsule(digit), whole_number(iterations, ITERATIONS)
    with torch.inference_mode():
        trace = model.route(result.primary, iterations)
        return Views(routing(trace, result.x, digit), primary(trace, digit),
                     figure4(model, result.poses[digit], digit, names[digit] if names else None),
                     all_capsules(model, result, digit))


def routing(trace, x: torch.Tensor, digit: int) -> dict:
    """#routing's numbers for digit capsule digit, per iteration: the coupling c_ij of every primary capsule to it
    (r, 32, 6, 6), where its votes come from in the input x (r, 28, 28; each map sums to its share of all votes),
    that share (r,) and the ten lengths (r, 10); x as grey pixels (28, 28), to show the votes over its strokes;
    the colour scales, the votes' one scale for all iterations so that they compare; and what the caption says
    routing did: the last iteration's couplings to the digit (min, max, mean) and the longest capsule at the
    first and last iteration."""
    votes = figures.vote_maps(trace, digit)  # (r, 28, 28)
    top = float(votes.max()) or 1.0
    lengths = trace.lengths[:, 0]  # (r, 10)
    coupling = trace.coupling[-1, 0, :, digit]  # (1152,) in the last iteration
    return {"digit": digit,
            "coupling": rounded(figures.coupling_mosaic(trace, digit)),
            "coupling_scale": colour_scale(figures.COUPLING_COLORS, *figures.coupling_range(trace.config)),
            "votes": rounded(votes, VOTE_DECIMALS),
            "vote_scale": colour_scale(figures.VOTE_COLORS, 0.0, top / 2, top),
            "input": packed(gray(x)),
            "shares": rounded(figures.vote_shares(trace, digit), WRITTEN_DECIMALS),
            "lengths": rounded(lengths, WRITTEN_DECIMALS),
            "last_coupling": {"min": rounded(coupling.min(), WRITTEN_DECIMALS),
                              "max": rounded(coupling.max(), WRITTEN_DECIMALS),
                              "mean": rounded(coupling.mean(), WRITTEN_DECIMALS)},
            "longest": {"first": int(lengths[0].argmax()), "last": int(lengths[-1].argmax())}}


def primary(trace, digit: int) -> dict:
    """#primary's numbers: the agreement u_hat_j|i . v_j/|v_j| of every primary capsule with digit capsule digit
    (32, 6, 6), its mean per type (32,), the types most agreeing first, and the agreement colour scale, whose ends
    are this input's AGREEMENT_QUANTILE of |agreement| (quantile)."""
    maps = figures.agreement_maps(trace, digit)  # (32, 6, 6)
    # A few capsules at the border agree ten times more than the rest: clip them, or all else looks white.
    limit = float(np.quantile(maps.abs().numpy(), AGREEMENT_QUANTILE)) or 1.0
    return {"digit": digit, "maps": rounded(maps), "means": rounded(maps.mean((1, 2)), WRITTEN_DECIMALS),
            "order": figures.types_by_agreement(trace, digit).tolist(),
            "scale": colour_scale(figures.AGREEMENT_COLORS, -limit, 0.0, limit), "quantile": AGREEMENT_QUANTILE}


def figure4(model: CapsNet, pose: torch.Tensor, digit: int, names: list[str] | None = None) -> dict:
    """#figure4's numbers, the paper's Figure 4 for this capsule: its pose (16,) with each dimension j moved by each
    of figures.PERTURBATIONS, decoded as grey pixels (16, 11, 28, 28) (the middle column is the pose itself), the
    rows' names (names[j]: what dimension j does, else "dim j") and the tiles' gap (figures.tile's).

    capsnet.figures.figure4 draws the same grid as a matplotlib figure, with axes, in about a second: the
    download (figure4_png), made only when asked for.
    """
    grid = figures.perturbation_grid(model, pose, digit)  # (16, 11, 28, 28)
    return {"images": packed(gray(grid)), "perturbations": list(figures.PERTURBATIONS),
            "names": names or [f"dim {j}" for j in range(len(grid))], "digit": digit, "gap": figures.GAP}


def figure4_png(model: CapsNet, result: Result | None, digit, folder: Path) -> str | None:
    """capsnet.figures.figure4 for the tab's Result and the chosen capsule as a PNG file in folder (the download)."""
    if result is None:
        return None
    digit = result.capsule(digit)
    with torch.inference_mode():
        png = figures.figure_png(figures.figure4(model, result.poses[digit], digit))
    path = folder / f"capsnet-figure4-digit{digit}.png"
    path.write_bytes(png)
    return str(path)


def all_capsules(model: CapsNet, result: Result, selected: int) -> dict:
    """#all-capsules' numbers: each digit capsule decoded from its own pose (10, 28, 28), its length, the longest and
    the selected capsule."""
    images = figures.all_reconstructions(model, result.poses)  # (10, 1, 28, 28)
    return {"images": packed(gray(images)), "lengths": rounded(result.lengths),
            "longest": result.longest, "selected": selected}


def rounded(values, decimals: int = 4) -> list:
    """A tensor or array as (nested) lists of floats rounded to decimals (a float for a single number), as the
    views' JSON carries numbers."""
    return np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


# ---- pictures as data URLs ----------------------------------------------------------------------------------------
