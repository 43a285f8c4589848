"""The explainer views: what happens inside the capsules for the tab's current input. Plain functions, no Gradio.

They follow from the prediction's Result (readers.py), never from the image again: routing is re-run from its
primary capsules with `model.route` (with the iterations the page chose), and its poses are decoded. The
numbers come from `capsnet.figures`; this module only turns them into HTML, every size read from the
model's config. Colour maps are applied with numpy (no matplotlib figure) so that every view appears
within half a second of the prediction; Figure 4's download, with axes and labels, is drawn by
`capsnet.figures.figure4`.
"""

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.colors import Colormap, TwoSlopeNorm

from capsnet import CapsNet, CapsNetConfig, ImageError, figures

from .cores import CORE_TURNS
from .inputs import whole_number
from .memory import preprocess, read_image
from .pictures import gray, packed, png_url
from .readers import Reader, Result

TILE_COLUMNS = 8  # the primary capsule types' grids shown 8 to a row (the paper's 32: 4 rows)
GAP_GREY = 205  # between the grid tiles: a little darker than the scale's white centre
AGREEMENT_QUANTILE = 0.99  # the agreement colour scale ends at this quantile of |agreement|
ITERATIONS = range(1, 6)  # the page's choice of routing iterations to re-run (the model is trained with 3)
WAITING = "Draw a digit, upload an image or pick an example: this view then shows {}."


@dataclass
class Views:
    """The four explainer views for one input, in the order app.py lists the outputs."""

    routing: str  # HTML: #routing
    primary: str  # HTML: #primary
    figure4: dict  # numbers for #figure4 (figure4), which views.js draws
    all_capsules: dict  # numbers for #all-capsules (all_capsules), which views.js draws

    def outputs(self) -> tuple:
        return self.routing, self.primary, self.figure4, self.all_capsules


def waiting_views(cfg: CapsNetConfig) -> Views:
    return Views(waiting("routing by agreement, iteration by iteration"),
                 waiting(f"what the {cfg.primary_channels} primary capsule types say about the selected digit"),
                 {"waiting": WAITING.format("Figure 4 of the paper for your digit")},
                 {"waiting": WAITING.format("what every digit capsule would draw")})


def waiting(what: str) -> str:
    return f'<p class="waiting">{WAITING.format(what)}</p>'


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
    dimension j of capsule k in Figure 4 (transform.capsule_names).

    digit and iterations come from the page (or a script calling its events): anything but
    a digit capsule's number and 1-5 counts as not given. The prediction's own lengths and
    poses are shown; only routing is re-run, with the chosen iterations (default: the model's).
    """
    if result is None:
        return waiting_views(model.config)
    digit, iterations = result.capsule(digit), whole_number(iterations, ITERATIONS)
    with torch.inference_mode():
        trace = model.route(result.primary, iterations)
        return Views(routing_html(trace, result.x, digit), primary_html(trace, digit),
                     figure4(model, result.poses[digit], digit, names[digit] if names else None),
                     all_capsules(model, result, digit))


@dataclass
class Routing:
    """The numbers the routing view shows for one digit capsule, per iteration r."""

    coupling: torch.Tensor  # (r, 32, 6, 6) c_ij of every primary capsule to the digit
    votes: list[torch.Tensor]  # r x (28, 28) the digit's votes over the input, as fractions of all votes
    shares: list[float]  # r: the digit's share of all votes (each vote map's sum)
    lengths: torch.Tensor  # (r, 10) capsule lengths after each iteration


def routing_numbers(trace, digit: int) -> Routing:
    coupling = figures.coupling_mosaic(trace, digit)
    return Routing(coupling, list(figures.vote_maps(trace, digit)), figures.vote_shares(trace, digit).tolist(),
                   trace.lengths[:, 0])


def routing_html(trace, x: torch.Tensor, digit: int) -> str:
    """Per iteration: the coupling mosaic, the vote heat map over the input, the lengths and the digit's vote share."""
    routing = routing_numbers(trace, digit)
    heat_top = max(float(v.max()) for v in routing.votes) or 1.0  # one scale for all iterations, so they compare
    low, uniform, high = figures.coupling_range(trace.config)
    coupled = f"coupling of the {trace.config.num_primary_capsules} primary capsules to {digit}"
    columns = "".join(
        f'<div class="iteration"><h4>iteration {r + 1}</h4>'
        f'{mosaic_img(routing.coupling[r], trace.config, f"iteration {r + 1}: {coupled}")}'
        f'{heat_img(routing.votes[r], x, heat_top, f"iteration {r + 1}: where the votes for {digit} come from")}'
        f'<p class="share">votes for {digit}: <b>{routing.shares[r]:.1%}</b> of all</p>'
        f'{mini_lengths(routing.lengths[r], digit)}</div>'
        for r in range(len(routing.shares))
    )
    legend = (colour_legend(figures.COUPLING_COLORS, low, uniform, high,
                            f"coupling c<sub>ij</sub> to this digit (1/{trace.config.num_classes}: an even split)")
              + colour_legend(figures.VOTE_COLORS, 0.0, heat_top / 2, heat_top, "share of all votes, per input pixel",
                              "{:.3%}"))
    return (f'<p class="caption">{routing_caption(trace, digit, routing.shares)}</p>'
            f'<div class="iterations">{columns}</div>'
            f'<div class="routing-extras">{lengths_chart(routing.lengths, digit)}{legend}</div>')


def routing_caption(trace, digit: int, shares: list[float]) -> str:
    """An honest sentence on how much routing changed things for this input."""
    lengths = trace.lengths[:, 0]  # (r, 10)
    iterations = lengths.shape[0]
    first, last = lengths[0].tolist(), lengths[-1].tolist()
    if iterations == 1:
        return (f"With 1 iteration there is no routing: every coupling stays 1/{trace.config.num_classes}, capsule "
                f"{digit}'s length is {first[digit]:.2f} and it gets {shares[0]:.1%} of all votes. Choose 2 or more "
                f"to see routing work.")
    coupling = trace.coupling[-1, 0, :, digit]  # (1152,)
    text = (f"With {iterations} iterations, routing moved capsule {digit}'s length "
            f"from {first[digit]:.2f} (iteration 1, every coupling 1/{trace.config.num_classes}) to {last[digit]:.2f}, "
            f"and its share of all votes from {shares[0]:.1%} to {shares[-1]:.1%}; single couplings to {digit} now "
            f"range {float(coupling.min()):.2f}-{float(coupling.max()):.2f}, their mean {float(coupling.mean()):.2f}. ")
    before, after = int(np.argmax(first)), int(np.argmax(last))
    if before != after:
        return text + f"Routing changed the answer: without it the longest capsule was {before}, now it is {after}."
    return text + f"The longest capsule was {after} before routing too: routing sharpened the answer, not chose it."


def primary_html(trace, digit: int) -> str:
    """A signed grid map of u_hat_j|i . v_j/|v_j| per primary capsule type, most agreeing type first."""
    maps = figures.agreement_maps(trace, digit).numpy()  # (32, 6, 6)
    order = figures.types_by_agreement(trace, digit).tolist()  # most agreeing first
    # A few capsules at the border agree ten times more than the rest: clip them, or all else looks white.
    limit = float(np.quantile(np.abs(maps), AGREEMENT_QUANTILE)) or 1.0
    pixels = colour(maps, figures.AGREEMENT_COLORS, -limit, 0.0, limit)  # (32, 6, 6, 3)
    tiles = "".join(
        f'<figure>{img_tag(pixels[t], f"type {t}")}'
        f'<figcaption>type {t}<br>{maps[t].mean():+.3f}</figcaption></figure>'
        for t in order
    )
    legend = colour_legend(figures.AGREEMENT_COLORS, -limit, 0.0, limit,
                           f"agreement with capsule {digit}'s direction (the scale ends at this input's "
                           f"{AGREEMENT_QUANTILE:.0%} quantile; the few beyond are clipped)")
    return f'<div class="type-maps">{tiles}</div>{legend}'


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
    return {"images": packed(gray(images)), "lengths": [round(v, 4) for v in result.lengths.tolist()],
            "longest": result.longest, "selected": selected}


# ---- small charts, as HTML and SVG --------------------------------------------------------------------------------

def mini_lengths(lengths: torch.Tensor, digit: int) -> str:
    """Ten thin bars on a 0-1 scale, the selected digit marked."""
    bars = "".join(f'<span class="{"on" if d == digit else ""}" style="height:{100 * v:.0f}%" '
                   f'title="capsule {d}: {v:.3f}"></span>' for d, v in enumerate(lengths.tolist()))
    names = "".join(f"<i>{d}</i>" for d in range(len(lengths)))
    return f'<div class="mini-lengths">{bars}</div><div class="mini-names">{names}</div>'


def lengths_chart(lengths: torch.Tensor, digit: int, width: int = 260, height: int = 150) -> str:
    """Each capsule's length (0-1) after each iteration as a line; the selected digit thick and labelled."""
    count = lengths.shape[0]
    left, bottom, top, right = 30, height - 22, 8, width - 24

    def xy(r: int, value: float) -> str:
        x = left + (right - left) * (r / max(count - 1, 1))
        return f"{x:.1f},{bottom - (bottom - top) * value:.1f}"

    lines = "".join(
        f'<polyline class="{"on" if d == digit else ""}" points="{" ".join(xy(r, v) for r, v in enumerate(col))}">'
        f"<title>capsule {d}</title></polyline>"
        for d, col in enumerate(lengths.T.tolist()) if d != digit
    )
    on = lengths[:, digit].tolist()
    lines += f'<polyline class="on" points="{" ".join(xy(r, v) for r, v in enumerate(on))}"></polyline>'
    label_x, label_y = xy(count - 1, on[-1]).split(",")
    ticks = "".join(f'<text x="{left - 4}" y="{bottom - (bottom - top) * v + 4:.1f}" text-anchor="end">{v:g}</text>'
                    f'<line x1="{left}" x2="{right}" y1="{bottom - (bottom - top) * v:.1f}" '
                    f'y2="{bottom - (bottom - top) * v:.1f}"></line>' for v in (0, 0.5, 1))
    xticks = "".join(f'<text x="{xy(r, 0).split(",")[0]}" y="{height - 6}" text-anchor="middle">{r + 1}</text>'
                     for r in range(count))
    return (f'<figure class="lengths-per-iteration"><svg viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="capsule lengths after each iteration">{ticks}{xticks}{lines}'
            f'<text class="on" x="{float(label_x) + 4:.1f}" y="{float(label_y) + 4:.1f}">{digit}</text></svg>'
            f"<figcaption>lengths after each iteration (x), capsule {digit} thick</figcaption></figure>")


def colour_legend(colours: Colormap, low: float, centre: float, high: float, label: str,
                  number: str = "{:.2g}") -> str:
    """A colour ramp with its two ends and centre written under it (number: their format)."""
    ends = "".join(f"<span>{number.format(v)}</span>" for v in (low, centre, high))
    stops = ", ".join(f"rgb{tuple(int(c) for c in rgb)}"
                      for rgb in colour(np.linspace(low, high, 9), colours, low, centre, high).reshape(-1, 3))
    return (f'<div class="legend"><span class="label">{label}</span>'
            f'<span class="ramp" style="background:linear-gradient(to right, {stops})"></span>'
            f'<span class="ends">{ends}</span></div>')


# ---- pictures as data URLs ----------------------------------------------------------------------------------------

def colour(values, colours: Colormap, low: float, centre: float, high: float) -> np.ndarray:
    """values on a two-slope colour scale (low -> centre -> high, clipped) as uint8 RGB (..., 3)."""
    position = TwoSlopeNorm(centre, low, high)(np.clip(np.asarray(values, dtype=np.float64), low, high))
    return (np.asarray(colours(position))[..., :3] * 255).round().astype(np.uint8)


def mosaic_img(mosaic: torch.Tensor, cfg: CapsNetConfig, alt: str) -> str:
    """The coupling maps of the primary capsule types (types, grid, grid) as tiles, TILE_COLUMNS to a row, on the
    coupling scale, grey lines between them."""
    types, grid = mosaic.shape[0], mosaic.shape[-1]
    columns = min(types, TILE_COLUMNS)
    tiles = np.full((-(-types // columns) * columns, grid, grid), np.nan, np.float32)  # a last row's gaps stay NaN
    tiles[:types] = mosaic.numpy()
    picture = figures.tile(tiles.reshape(-1, columns, grid, grid))  # NaN between the tiles
    pixels = colour(picture, figures.COUPLING_COLORS, *figures.coupling_range(cfg))
    pixels[np.isnan(picture)] = GAP_GREY
    return img_tag(pixels, alt, "mosaic")


def heat_img(heat, x: torch.Tensor, top: float, alt: str) -> str:
    """The vote map in colour over the input's strokes (shown as a light veil)."""
    rgb = colour(heat, figures.VOTE_COLORS, 0.0, top / 2, top).astype(np.float32)
    ink = x.reshape(rgb.shape[:2]).numpy()[..., None]
    return img_tag((rgb * (1 - 0.35 * ink) + 255 * 0.35 * ink).round().astype(np.uint8), alt, "votes")


def img_tag(pixels: np.ndarray, alt: str, css_class: str = "") -> str:
    return f'<img class="{css_class}" src="{png_url(pixels)}" alt="{html.escape(alt)}" title="{html.escape(alt)}">'
