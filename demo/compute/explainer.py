"""The explainer views' numbers: what happens inside the capsules for the tab's current input. Plain functions, no
Gradio, no HTML: the page draws every view from these numbers (demo/static/modules/views/, docs/demo-code.md).

They follow from the prediction's Result (readers.py), never from the image again: its primary capsules' predictions
u_hat_j|i go through `capsnet.explain.Explain`, which re-runs routing (with the iterations the page chose) and says
which poses to decode, and the model decodes them. The page computes the same views itself from the same module,
exported as an ONNX graph, and the same constants (page_constants, in its manifest), assembling them as views()
does. Pictures travel as packed uint8 pixels, maps of numbers as packed float32, colours as colour scales the
page applies. Figure 4's download, with axes and labels, is drawn by `capsnet.figures.figure4` (matplotlib).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from capsnet import CapsNet, CapsNetConfig, ImageError, figures
from capsnet.explain import AGREEMENT_QUANTILE, EXPLAIN_OUTPUTS, ITERATIONS, Explain

from ..server.cores import CORE_TURNS
from .inputs import whole_number
from ..server.memory import preprocess, read_image
from .pictures import colour_scale, gray, packed, packed_numbers
from .readers import Reader, Result

# The views' few numbers travel rounded to 4 decimals (rounded), well within a step of the colour scales, but for
WRITTEN_DECIMALS = 6  # numbers the page writes out with up to 3 decimals (rounding them twice rarely shifts one)
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

    def by_name(self) -> dict:
        """The views by the names views.js draws them by (the page's element ids)."""
        return dict(zip(("routing", "primary", "figure4", "all-capsules"), self.outputs()))


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
    constants = page_constants(model.config, names)
    with torch.inference_mode():
        numbers = explained(model, result, digit, iterations or constants["iterations"])
        decoded = model.decode(numbers["decode_poses"], numbers["decode_digits"])  # (186, 1, 28, 28)
    return views(numbers, decoded, result, digit, constants)


def page_constants(config: CapsNetConfig, names: list[list[str]] | None = None) -> dict:
    """What the views need besides the explain graph's numbers and the decoded poses, the same for every input:
    the colour scales (the votes' and agreement's ends are each input's: views() sets them), the agreement's
    quantile, Figure 4's perturbations and the tiles' gap, each capsule's dimension names (names[k][j], else
    "dim j"), the model's own routing iterations and each view's line while there is nothing to show. The page has
    them from the manifest, to make the views as views() does."""
    dims = range(config.digit_dim)
    return {"coupling_scale": colour_scale(figures.COUPLING_COLORS, *figures.coupling_range(config)),
            "vote_colours": colour_scale(figures.VOTE_COLORS, 0.0, 0.5, 1.0),
            "agreement_colours": colour_scale(figures.AGREEMENT_COLORS, -1.0, 0.0, 1.0),
            "quantile": AGREEMENT_QUANTILE, "perturbations": list(figures.PERTURBATIONS), "gap": figures.GAP,
            "names": names or [[f"dim {j}" for j in dims] for _ in range(config.num_classes)],
            "iterations": config.routing_iterations,
            "waiting": {name: view["waiting"] for name, view in waiting_views(config).by_name().items()}}


def explained(model: CapsNet, result: Result, digit: int, iterations: int) -> dict[str, torch.Tensor]:
    """capsnet.explain.Explain's numbers, by name, for the Result's capsule digit with routing re-run from its
    primary capsules for iterations: what the page's explain graph computes from its live path's outputs."""
    predictions = model.digit_capsules.predictions(result.primary)  # (1, 1152, 10, 16)
    outputs = Explain(model.config, iterations)(predictions, result.poses[None], torch.tensor([digit]))
    return dict(zip(EXPLAIN_OUTPUTS, outputs))


def views(numbers: dict, decoded: torch.Tensor, result: Result, digit: int, constants: dict) -> Views:
    """The four views from Explain's numbers, its decode_poses decoded (186, 1, 28, 28): Figure 4's then each
    capsule's own, and page_constants: what the page does with its graphs' outputs, the same way."""
    own = len(result.poses)  # the last decoded: each capsule from its own pose
    return Views(routing(numbers, result.x, digit, constants), primary(numbers, digit, constants),
                 figure4(figures.perturbation_tiles(decoded[:-own]), digit, constants),
                 all_capsules(decoded[-own:], result, digit))


def routing(numbers: dict, x: torch.Tensor, digit: int, constants: dict) -> dict:
    """#routing's numbers for digit capsule digit, per iteration: the coupling c_ij of every primary capsule to it
    (r, 32, 6, 6), where its votes come from in the input x (r, 28, 28; each map sums to its share of all votes),
    that share (r,) and the ten lengths (r, 10); x as grey pixels (28, 28), to show the votes over its strokes;
    the colour scales, the votes' one scale for all iterations so that they compare; and what the caption says
    routing did: the last iteration's couplings to the digit (min, max, mean) and the longest capsule at the
    first and last iteration."""
    top = float(numbers["vote_top"])
    first, last = numbers["longest"].tolist()
    return {"digit": digit,
            "coupling": packed_numbers(numbers["coupling"]),
            "coupling_scale": constants["coupling_scale"],
            "votes": packed_numbers(numbers["votes"]),
            "vote_scale": scale_from(constants["vote_colours"], 0.0, top / 2, top),
            "input": packed(gray(x)),
            "shares": rounded(numbers["shares"], WRITTEN_DECIMALS),
            "lengths": rounded(numbers["lengths"], WRITTEN_DECIMALS),
            "last_coupling": dict(zip(("min", "max", "mean"), rounded(numbers["last_coupling"], WRITTEN_DECIMALS))),
            "longest": {"first": first, "last": last}}


def primary(numbers: dict, digit: int, constants: dict) -> dict:
    """#primary's numbers: the agreement u_hat_j|i . v_j/|v_j| of every primary capsule with digit capsule digit
    (32, 6, 6), its mean per type (32,), the types most agreeing first, and the agreement colour scale, whose ends
    are this input's AGREEMENT_QUANTILE of |agreement| (quantile)."""
    limit = float(numbers["agreement_limit"])
    return {"digit": digit, "maps": packed_numbers(numbers["agreement"]),
            "means": rounded(numbers["agreement_means"], WRITTEN_DECIMALS),
            "order": numbers["agreement_order"].tolist(),
            "scale": scale_from(constants["agreement_colours"], -limit, 0.0, limit), "quantile": constants["quantile"]}


def figure4(grid: torch.Tensor, digit: int, constants: dict) -> dict:
    """#figure4's numbers, the paper's Figure 4 for capsule digit: its pose with each dimension j moved by each of
    figures.PERTURBATIONS, decoded (grid, (16, 11, 28, 28)), as grey pixels (the middle column is the pose
    itself), the rows' names (what dimension j does, else "dim j") and the tiles' gap (figures.tile's).

    capsnet.figures.figure4 draws the same grid as a matplotlib figure, with axes, in about a second: the
    download (figure4_png), made only when asked for.
    """
    return {"images": packed(gray(grid)), "perturbations": constants["perturbations"],
            "names": constants["names"][digit], "digit": digit, "gap": constants["gap"]}


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


def all_capsules(images: torch.Tensor, result: Result, selected: int) -> dict:
    """#all-capsules' numbers: each digit capsule decoded from its own pose (images, (10, 1, 28, 28)), its length,
    the longest and the selected capsule."""
    return {"images": packed(gray(images)), "lengths": rounded(result.lengths),
            "longest": result.longest, "selected": selected}


def scale_from(scale: dict, low: float, centre: float, high: float) -> dict:
    """A colour scale of page_constants with this input's low, centre and high."""
    return scale | {"low": float(low), "centre": float(centre), "high": float(high)}


def rounded(values, decimals: int = 4) -> list:
    """A tensor or array as (nested) lists of floats rounded to decimals (a float for a single number), as the
    views' JSON carries numbers."""
    return np.round(np.asarray(values, dtype=np.float64), decimals).tolist()


# ---- pictures as data URLs ----------------------------------------------------------------------------------------
