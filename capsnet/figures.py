"""Figures of a trained CapsNet and of its training: the numbers first (tensors anyone can test), then matplotlib pictures.

The explainer's numbers read every size from the model: a trace carries its config, which says how
its primary capsules lie (capsule i = type * grid**2 + row * grid + col). The page draws them
(demo/compute/explainer.py); Figure 4 is also a labelled matplotlib figure here, for its download.
Pictures are built on matplotlib.figure.Figure with the Agg canvas: no pyplot, so
no global state, and safe to draw from a web server's threads.
"""

import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .atomic import atomic_write
from .model import CapsNet, CapsNetConfig, CapsNetTrace
from .routing import capsule_length

# Explainer figures: what happens inside the capsules (routing, primary capsules, Figure 4)

# Figure 4 of the paper: every dimension of a digit capsule moved by -0.25 to +0.25 in steps of 0.05
PERTURBATIONS = tuple(round(0.05 * step, 2) for step in range(-5, 6))
DPI = 72  # small pictures render fast; the page shows them at about this size
GAP = 1  # pixels between the tiles of a composed picture
COUPLING_COLORS = colormaps["RdBu_r"].with_extremes(bad="white")  # red: routed toward the digit, blue: away
AGREEMENT_COLORS = COUPLING_COLORS
VOTE_COLORS = colormaps["inferno"]


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def uniform_coupling(config: CapsNetConfig) -> float:
    """The coupling c_ij before routing has seen any agreement: an even split over the digit capsules (1/10)."""
    return 1 / config.num_classes


def coupling_range(config: CapsNetConfig) -> tuple[float, float, float]:
    """The coupling colour scale (low, centre, high), the same for every input and iteration so that they compare:
    half to twice the uniform share, centred on it. On the shipped model 98% of c_ij fall in it."""
    uniform = uniform_coupling(config)
    return uniform / 2, uniform, 2 * uniform


def receptive_field(config: CapsNetConfig) -> tuple[int, int]:
    """(size, stride) in input pixels of a primary capsule's grid cell: conv1 (stride 1) then PrimaryCaps, both
    kernel_size wide, so cell (row, col) sees rows stride*row .. stride*row + size - 1: 17 px every 2 px."""
    return 2 * config.kernel_size - 1, config.primary_stride


def perturbed_poses(pose: torch.Tensor) -> torch.Tensor:
    """Figure 4's poses: pose (16,) with dimension d moved by PERTURBATIONS[k], row-major -> (16 * 11, 16)."""
    dims = pose.shape[-1]
    offsets = torch.eye(dims)[:, None, :] * torch.tensor(PERTURBATIONS)[None, :, None]  # (16, 11, 16)
    return (pose + offsets).reshape(dims * len(PERTURBATIONS), dims)  # (176, 16)


@torch.no_grad()
def perturbation_grid(model: CapsNet, pose: torch.Tensor, digit: int) -> torch.Tensor:
    """Figure 4's reconstructions: perturbed_poses of pose (16,) in capsule digit, decoded in one batch
    -> (16, 11, 28, 28); the middle column is the pose itself."""
    dims = model.config.digit_dim
    poses = perturbed_poses(torch.as_tensor(pose, dtype=torch.float32).reshape(dims))  # (176, 16)
    return perturbation_tiles(model.decode(poses, torch.full((len(poses),), int(digit))))


def perturbation_tiles(images: torch.Tensor) -> torch.Tensor:
    """Decoded perturbed_poses (176, 1, 28, 28) -> Figure 4's grid (16, 11, 28, 28), a row per pose dimension."""
    return images.view(-1, len(PERTURBATIONS), *images.shape[-2:])


@torch.no_grad()
def all_reconstructions(model: CapsNet, poses: torch.Tensor) -> torch.Tensor:
    """poses (10, 16) -> (10, 1, 28, 28): what every digit capsule would draw from its own pose."""
    return model.decode(poses, torch.arange(poses.shape[0]))


def on_grid(values: torch.Tensor, config: CapsNetConfig) -> torch.Tensor:
    """(..., 1152) values of the primary capsules -> (..., 32, 6, 6): by type, row and column."""
    grid = config.primary_grid
    return values.reshape(*values.shape[:-1], config.primary_channels, grid, grid)


def coupling_mosaic(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """c_ij of every primary capsule i to capsule digit, per iteration -> (r, 32, 6, 6)."""
    return on_grid(trace.coupling[:, sample, :, digit], trace.config)


def votes(trace: CapsNetTrace, sample: int = 0) -> torch.Tensor:
    """c_ij |u_hat_j|i|: how much of its prediction each primary capsule i sends to each digit j -> (r, 1152, 10)."""
    return trace.coupling[:, sample] * capsule_length(trace.predictions[sample])


def vote_shares(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """The digit's share of all votes, per iteration -> (r,): sum_i c_ij |u_hat_j|i| / sum_i sum_k c_ik |u_hat_k|i|."""
    v = votes(trace, sample)
    return v[..., digit].sum(1) / v.sum((1, 2))


def spread_over_input(cells: torch.Tensor, config: CapsNetConfig) -> torch.Tensor:
    """(..., 6, 6) values per grid cell -> (..., 28, 28): each cell's value divided evenly over the 17x17
    input pixels its receptive field sees, summed where fields overlap, so the sum is kept."""
    field, stride = receptive_field(config)
    grid, size = config.primary_grid, config.image_size
    kernel = torch.full((1, 1, field, field), 1.0 / field**2)
    spread = F.conv_transpose2d(cells.reshape(-1, 1, grid, grid).float(), kernel, stride=stride)  # (n, 1, 27, 27)
    missing = size - spread.shape[-1]  # the last rows and columns, which no grid cell sees
    return F.pad(spread, (0, missing, 0, missing)).view(*cells.shape[:-2], size, size)


def vote_maps(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """Where the votes for digit come from in the input, every iteration -> (r, 28, 28).

    Votes c_ij |u_hat_j|i| as a fraction of all votes, summed over the 32 types at each
    grid position and spread over that position's receptive field: the map of an
    iteration sums to the vote share of that iteration.
    """
    v = votes(trace, sample)  # (r, 1152, 10)
    cells = on_grid(v[..., digit] / v.sum((1, 2))[:, None], trace.config).sum(1)  # (r, 6, 6)
    return spread_over_input(cells, trace.config)


def vote_map(trace: CapsNetTrace, digit: int, iteration: int, sample: int = 0) -> torch.Tensor:
    """vote_maps at one iteration (0-based) -> (28, 28); it sums to vote_shares(trace, digit, sample)[iteration]."""
    return vote_maps(trace, digit, sample)[iteration]


def agreement_maps(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """u_hat_j|i . v_j / |v_j| with the final v_j -> (32, 6, 6): the agreement u_hat_j|i . v_j that routing adds
    to the logits b_ij, per unit length of v_j, so that maps of a long and a short capsule compare."""
    direction = F.normalize(trace.poses[-1, sample, digit], dim=0)  # v_j / |v_j|, (16,)
    agreement = trace.predictions[sample, :, digit].float() @ direction  # (1152,)
    return on_grid(agreement, trace.config)


def types_by_agreement(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """The 32 primary capsule types ordered by their agreement with digit summed over the grid, most first -> (32,)."""
    return agreement_maps(trace, digit, sample).sum((1, 2)).argsort(descending=True)


def tile(images: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """(..., rows, cols, h, w) -> (..., rows * (h + GAP) - GAP, cols * (w + GAP) - GAP): one picture of the tiles, GAP apart."""
    *lead, rows, cols, h, w = images.shape
    padded = np.pad(images.astype(np.float32), [(0, 0)] * (len(lead) + 2) + [(0, GAP), (0, GAP)], constant_values=fill)
    picture = padded.swapaxes(-3, -2).reshape(*lead, rows * (h + GAP), cols * (w + GAP))  # (..., rows, h, cols, w)
    return picture[..., :-GAP, :-GAP]


def tile_centres(count: int, size: int) -> list[float]:
    """Pixel coordinates of the middle of each of count tiles of size pixels in a tile() picture."""
    return [k * (size + GAP) + (size - 1) / 2 for k in range(count)]


def figure4(model: CapsNet, pose: torch.Tensor, digit: int) -> Figure:
    """The paper's Figure 4 for one capsule: 16 dimensions x 11 perturbations of its pose, reconstructed."""
    grid = to_numpy(perturbation_grid(model, pose, digit))  # (16, 11, 28, 28)
    dims, steps, size, _ = grid.shape
    fig = Figure(figsize=(6.4, 8.6), dpi=DPI)
    ax = fig.add_axes((0.13, 0.08, 0.84, 0.86))
    ax.imshow(tile(grid, fill=1.0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(tile_centres(steps, size), [f"{p:+.2f}" for p in PERTURBATIONS], rotation=90, fontsize=8)
    ax.set_yticks(tile_centres(dims, size), [str(d) for d in range(dims)], fontsize=8)
    ax.set_xlabel("perturbation added to the dimension")
    ax.set_ylabel("dimension of the pose")
    ax.set_title(f"Capsule {digit}: each of its {dims} dimensions moved by -0.25 to +0.25", fontsize=10)
    ax.tick_params(length=0)
    ax.set_frame_on(False)
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn by Agg at the figure's own dpi."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def save_figure(figure: Figure, path: str | Path) -> None:
    with atomic_write(path) as f:
        figure.savefig(f, format="png", dpi=120)


# Training figures


def curves_figure(history: list[dict], kept_epoch: int | None = None, pairs_per_epoch: int | None = None) -> Figure:
    """Train loss and validation/test error per epoch (errors on a log scale: they shrink by 10x over a run),
    with a dashed line at the epoch whose weights the checkpoint keeps. pairs_per_epoch: a MultiMNIST run,
    drawn against the number of pairs trained (how long to train)."""
    scale = 1 if pairs_per_epoch is None else pairs_per_epoch / 1000
    x_label = "epoch" if pairs_per_epoch is None else "pairs trained (thousands)"
    epochs = [e["epoch"] * scale for e in history]
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, error_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [e["train_loss"] for e in history], marker=".", label="train")
    loss_axes.set(title="training loss", xlabel=x_label, ylabel="margin + reconstruction loss", yscale="log")
    for split in ("val", "test"):
        points = [(e["epoch"] * scale, 100 * (1 - e[f"{split}_accuracy"])) for e in history if f"{split}_accuracy" in e]
        if points:
            error_axes.plot(*zip(*points), marker=".", label={"val": "validation", "test": "test"}[split])
    title = "classification error" if pairs_per_epoch is None else "pairs not both among the two longest capsules"
    error_axes.set(title=title, xlabel=x_label, ylabel="error (%)", yscale="log")
    error_axes.yaxis.set_major_formatter("{x:g}")
    error_axes.yaxis.set_minor_formatter("{x:g}")
    for axes in (loss_axes, error_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, which="both", alpha=0.3)
        if kept_epoch is not None:
            axes.axvline(kept_epoch * scale, color="grey", linestyle="--", linewidth=1, label=f"kept: epoch {kept_epoch}")
        axes.legend()
    return figure


def plot_curves(history: list[dict], path: str | Path, kept_epoch: int | None = None,
                pairs_per_epoch: int | None = None) -> None:
    save_figure(curves_figure(history, kept_epoch, pairs_per_epoch), path)


def plot_confusion(matrix, path: str | Path) -> None:
    """The 10x10 confusion matrix, counts written in the cells, colours on a log scale so single errors show."""
    matrix = np.asarray(matrix)
    classes = len(matrix)
    figure = Figure(figsize=(6.5, 5.5), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(np.maximum(matrix, 0.5), cmap="Blues", norm=LogNorm(vmin=0.5, vmax=matrix.max()))
    for row in range(classes):
        for col in range(classes):
            if matrix[row, col]:
                light = matrix[row, col] > matrix.max() ** 0.5
                axes.text(col, row, str(matrix[row, col]), ha="center", va="center", fontsize=8,
                          color="white" if light else "black")
    axes.set(xticks=range(classes), yticks=range(classes), xlabel="predicted digit", ylabel="true digit",
             title=f"confusion matrix: {matrix.trace()} of {matrix.sum()} right")
    figure.colorbar(image, ax=axes, label="images (log scale)")
    save_figure(figure, path)


def plot_misclassified(images, labels, predictions, path: str | Path, columns: int = 10) -> None:
    """Every image in images (N, 1, 28, 28) with its true and predicted label."""
    count = len(images)
    rows = max(1, -(-count // columns))
    figure = Figure(figsize=(columns * 1.1, rows * 1.3 + 0.4), layout="constrained")
    figure.suptitle(f"{count} misclassified test digits (true -> predicted)")
    for k, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        axes.set_axis_off()
        if k < count:
            axes.imshow(np.asarray(images[k]).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            axes.set_title(f"{int(labels[k])} -> {int(predictions[k])}", fontsize=9)
    save_figure(figure, path)


# MultiMNIST: two digits, two capsules


def two_colour_overlay(first: torch.Tensor, second: torch.Tensor) -> np.ndarray:
    """Two 28x28 drawings in [0, 1] as one RGB picture (28, 28, 3) uint8: the first red, the second green,
    where both draw, yellow (the paper's Figure 5)."""
    red, green = (to_numpy(t).reshape(t.shape[-2:]).clip(0, 1) for t in (first, second))
    return (np.stack([red, green, np.zeros_like(red)], axis=-1) * 255).round().astype(np.uint8)


def plot_pairs(pairs, reconstructions, labels, predicted, path: str | Path, columns: int = 8) -> None:
    """Figure 5 of the paper: each pair (N, 1, 28, 28) above the two longest capsules' reconstructions
    (N, 2, 1, 28, 28) overlaid in red and green, with the true (L) and predicted (R) digits."""
    count = len(pairs)
    rows = -(-count // columns)
    figure = Figure(figsize=(columns * 1.2, rows * 2.7 + 0.5), layout="constrained")
    figure.suptitle("MultiMNIST test pairs (top) and the two longest capsules' reconstructions, red and green")
    grid = figure.subplots(2 * rows, columns, squeeze=False)
    for k, (top, bottom) in enumerate(zip(grid[0::2].flat, grid[1::2].flat)):
        top.set_axis_off()
        bottom.set_axis_off()
        if k < count:
            first, second = (int(d) for d in predicted[k])
            top.imshow(to_numpy(pairs[k]).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            top.set_title("L:({},{})".format(*sorted(int(d) for d in labels[k])), fontsize=9)
            bottom.imshow(two_colour_overlay(reconstructions[k][0], reconstructions[k][1]))
            ok = sorted((first, second)) == sorted(int(d) for d in labels[k])
            bottom.set_title(f"R:({first},{second})", fontsize=9, color="black" if ok else "red")
    save_figure(figure, path)
