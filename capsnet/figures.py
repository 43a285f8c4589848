"""Figures of a trained CapsNet and of its training: the numbers first (tensors anyone can test), then matplotlib pictures.

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
from matplotlib.cm import ScalarMappable
from matplotlib.colors import CenteredNorm, LogNorm, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .atomic import atomic_write
from .model import CapsNet, CapsNetConfig, CapsNetOutput, CapsNetTrace
from .routing import capsule_length

# Explainer figures: what happens inside the capsules (routing, primary capsules, Figure 4)

CONFIG = CapsNetConfig()  # the figures draw the architecture of the paper, as the shipped model has it
TYPES = CONFIG.primary_channels  # 32 primary capsule types
GRID = CONFIG.primary_grid  # on a 6x6 grid: capsule i = type * 36 + row * 6 + col
# conv1 (9x9, stride 1) then PrimaryCaps (9x9, stride 2): grid cell (row, col) sees input
# rows 2*row .. 2*row + 16 and the same columns, 17x17 pixels
FIELD_STRIDE = CONFIG.primary_stride
FIELD = CONFIG.kernel_size + (CONFIG.kernel_size - 1)  # conv1 has stride 1
# Figure 4 of the paper: every dimension of a digit capsule moved by -0.25 to +0.25 in steps of 0.05
PERTURBATIONS = tuple(round(0.05 * step, 2) for step in range(-5, 6))
UNIFORM = 1 / CONFIG.num_classes  # the coupling c_ij before routing has seen any agreement
DPI = 72  # small pictures render fast; the page shows them at about this size
GAP = 1  # pixels between the tiles of a composed picture
COUPLING_COLORS = colormaps["RdBu_r"].with_extremes(bad="white")  # red: routed toward the digit, blue: away
# Half to twice the uniform share: on the shipped model 98% of c_ij fall in it; the few beyond are clipped
COUPLING_NORM = TwoSlopeNorm(vcenter=UNIFORM, vmin=UNIFORM / 2, vmax=2 * UNIFORM)
AGREEMENT_COLORS = COUPLING_COLORS
PANEL, PANEL_GAP = 56, 4  # pixels per iteration in the routing picture: a 27x55 mosaic over a 2x vote map
VOTE_COLORS = colormaps["inferno"]


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


@torch.no_grad()
def perturbation_grid(model: CapsNet, pose: torch.Tensor, digit: int) -> torch.Tensor:
    """Figure 4's reconstructions: pose (16,) in capsule digit with dimension d moved by PERTURBATIONS[k],
    decoded in one batch -> (16, 11, 28, 28); the middle column is the pose itself."""
    pose = torch.as_tensor(pose, dtype=torch.float32).reshape(CONFIG.digit_dim)
    dims, steps = CONFIG.digit_dim, len(PERTURBATIONS)
    offsets = torch.eye(dims)[:, None, :] * torch.tensor(PERTURBATIONS)[None, :, None]  # (16, 11, 16)
    poses = (pose + offsets).view(dims * steps, dims)  # (176, 16)
    images = model.decode(poses, torch.full((dims * steps,), int(digit)))  # (176, 1, 28, 28)
    return images.view(dims, steps, *images.shape[-2:])


@torch.no_grad()
def all_reconstructions(model: CapsNet, poses: torch.Tensor) -> torch.Tensor:
    """poses (10, 16) -> (10, 1, 28, 28): what every digit capsule would draw from its own pose."""
    return model.decode(poses, torch.arange(poses.shape[0]))


def coupling_mosaic(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """c_ij of every primary capsule i to capsule digit, per iteration -> (r, 32, 6, 6)."""
    return trace.coupling[:, sample, :, digit].reshape(-1, TYPES, GRID, GRID)


def votes(trace: CapsNetTrace, sample: int = 0) -> torch.Tensor:
    """c_ij |u_hat_j|i|: how much of its prediction each primary capsule i sends to each digit j -> (r, 1152, 10)."""
    return trace.coupling[:, sample] * capsule_length(trace.predictions[sample])


def vote_shares(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """The digit's share of all votes, per iteration -> (r,): sum_i c_ij |u_hat_j|i| / sum_i sum_k c_ik |u_hat_k|i|."""
    v = votes(trace, sample)
    return v[..., digit].sum(1) / v.sum((1, 2))


def spread_over_input(cells: torch.Tensor) -> torch.Tensor:
    """(..., 6, 6) values per grid cell -> (..., 28, 28): each cell's value divided evenly over the 17x17
    input pixels its receptive field sees, summed where fields overlap, so the sum is kept."""
    kernel = torch.full((1, 1, FIELD, FIELD), 1.0 / FIELD**2)
    flat = cells.reshape(-1, 1, GRID, GRID).float()
    spread = F.conv_transpose2d(flat, kernel, stride=FIELD_STRIDE)  # (n, 1, 27, 27)
    missing = CONFIG.image_size - spread.shape[-1]  # the last row and column no grid cell sees
    return F.pad(spread, (0, missing, 0, missing)).view(*cells.shape[:-2], CONFIG.image_size, CONFIG.image_size)


def vote_maps(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """Where the votes for digit come from in the input, every iteration -> (r, 28, 28).

    Votes c_ij |u_hat_j|i| as a fraction of all votes, summed over the 32 types at each
    grid position and spread over that position's receptive field: the map of an
    iteration sums to the vote share of that iteration.
    """
    v = votes(trace, sample)  # (r, 1152, 10)
    cells = (v[..., digit] / v.sum((1, 2))[:, None]).view(-1, TYPES, GRID, GRID).sum(1)  # (r, 6, 6)
    return spread_over_input(cells)


def vote_map(trace: CapsNetTrace, digit: int, iteration: int, sample: int = 0) -> torch.Tensor:
    """vote_maps at one iteration (0-based) -> (28, 28); it sums to vote_shares(trace, digit, sample)[iteration]."""
    return vote_maps(trace, digit, sample)[iteration]


def agreement_maps(trace: CapsNetTrace, digit: int, sample: int = 0) -> torch.Tensor:
    """u_hat_j|i . v_j / |v_j| with the final v_j -> (32, 6, 6): the agreement u_hat_j|i . v_j that routing adds
    to the logits b_ij, per unit length of v_j, so that maps of a long and a short capsule compare."""
    direction = F.normalize(trace.poses[-1, sample, digit], dim=0)  # v_j / |v_j|, (16,)
    agreement = trace.predictions[sample, :, digit].float() @ direction  # (1152,)
    return agreement.view(TYPES, GRID, GRID)


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
    ax.set_title(f"Capsule {digit}: each of its 16 dimensions moved by -0.25 to +0.25", fontsize=10)
    ax.tick_params(length=0)
    ax.set_frame_on(False)
    return fig


def routing_picture(trace: CapsNetTrace, digit: int, image: torch.Tensor, sample: int = 0) -> np.ndarray:
    """The pictures of routing_figure as one RGB array (H, W, 3), one column per iteration: on top the
    coupling mosaic (32 types as 4 x 8 tiles of 6x6 positions), below it the votes over the input."""
    mosaic = to_numpy(coupling_mosaic(trace, digit, sample))  # (r, 32, 6, 6)
    iterations = mosaic.shape[0]
    maps = to_numpy(vote_maps(trace, digit, sample))  # (r, 28, 28)
    gray = np.clip(to_numpy(torch.as_tensor(image)).reshape(maps.shape[1:]), 0, 1)[..., None]
    strength = maps[..., None] / maps.max()  # one scale for all iterations, so they compare
    votes_rgb = (1 - 0.75 * strength) * gray + 0.75 * strength * VOTE_COLORS(strength[..., 0])[..., :3]
    votes_rgb = votes_rgb.repeat(PANEL // maps.shape[1], axis=1).repeat(PANEL // maps.shape[2], axis=2)
    coupling_rgb = COUPLING_COLORS(COUPLING_NORM(tile(mosaic.reshape(iterations, 4, TYPES // 4, GRID, GRID))))
    height = coupling_rgb.shape[1] + PANEL_GAP + PANEL
    picture = np.ones((height, iterations * (PANEL + PANEL_GAP) - PANEL_GAP, 3), dtype=np.float32)
    for k in range(iterations):
        left = k * (PANEL + PANEL_GAP)
        picture[:coupling_rgb.shape[1], left: left + coupling_rgb.shape[2]] = coupling_rgb[k, ..., :3]
        picture[-PANEL:, left: left + PANEL] = votes_rgb[k]
    return picture


def routing_figure(trace: CapsNetTrace, digit: int, image: torch.Tensor, sample: int = 0) -> Figure:
    """What routing did for digit, one column per iteration: the coupling c_ij of every primary capsule
    on a colour scale centred on 1/10 and the votes c_ij |u_hat_j|i| as a heat map over the input
    image (28, 28); beside them the ten capsule lengths and the digit's vote share per iteration."""
    shares = to_numpy(vote_shares(trace, digit, sample))  # (r,)
    lengths = to_numpy(trace.lengths[:, sample])  # (r, 10)
    picture = routing_picture(trace, digit, image, sample)
    iterations = len(shares)
    width = 1.3 * iterations + 2.6
    fig = Figure(figsize=(width, 3.3), dpi=DPI)
    ax = fig.add_axes((0.5 / width, 0.08, 1.3 * iterations / width, 0.72))
    ax.imshow(picture, interpolation="nearest")
    ax.set_axis_off()
    for k in range(iterations):
        ax.text(k * (PANEL + PANEL_GAP) + PANEL / 2, -2, f"iteration {k + 1}\nshare {shares[k]:.3f}",
                ha="center", va="bottom", fontsize=8)
    ax.text(-3, 13, "coupling", rotation=90, ha="right", va="center", fontsize=8)
    ax.text(-3, picture.shape[0] - PANEL / 2, "votes", rotation=90, ha="right", va="center", fontsize=8)
    colorbar = fig.colorbar(ScalarMappable(COUPLING_NORM, COUPLING_COLORS), cax=fig.add_axes((0.5 / width, 0.06, 1.3 * iterations / width, 0.03)),
                            orientation="horizontal", extend="both")
    colorbar.set_ticks([COUPLING_NORM.vmin, UNIFORM, COUPLING_NORM.vmax])
    colorbar.ax.tick_params(labelsize=7)

    steps = np.arange(1, iterations + 1)
    runner_up = int(np.argsort(lengths[-1])[-2 if lengths[-1].argmax() == digit else -1])
    charts = [fig.add_axes(((1.3 * iterations + 1.0) / width, y, 1.4 / width, 0.3)) for y in (0.55, 0.12)]
    for d in range(lengths.shape[1]):
        shown = d in (digit, runner_up)
        color = "tab:red" if d == digit else "0.3" if shown else "0.8"
        charts[0].plot(steps, lengths[:, d], color=color, lw=2 if d == digit else 1)
        if shown:
            charts[0].text(steps[-1] + 0.1, lengths[-1, d], str(d), color=color, fontsize=7, va="center")
    charts[0].set(ylim=(0, 1), yticks=(0, 0.5, 1))
    charts[0].set_title("capsule lengths", fontsize=8)
    charts[1].plot(steps, shares, "o-", color="tab:red", ms=3)
    charts[1].axhline(UNIFORM, color="0.6", ls="--", lw=1)
    charts[1].set_xlabel("iteration")
    charts[1].set_title(f"vote share of {digit}", fontsize=8)
    charts[1].yaxis.set_major_locator(MaxNLocator(3))
    charts[1].yaxis.set_major_formatter("{x:.3f}")
    for chart in charts:
        chart.set_xticks(steps)
        chart.tick_params(labelsize=7)
        chart.xaxis.label.set_size(8)
    fig.text(0.5 / width, 0.97, f"Routing toward capsule {digit}: coupling c_ij (1/10 = uniform) and votes",
             fontsize=9, va="top")
    return fig


def primary_figure(trace: CapsNetTrace, digit: int, sample: int = 0) -> Figure:
    """32 signed 6x6 maps of agreement with capsule digit, one per primary capsule type, most agreeing first."""
    maps = to_numpy(agreement_maps(trace, digit, sample))
    order = to_numpy(types_by_agreement(trace, digit, sample)).astype(int)
    tiles = maps[order].reshape(4, TYPES // 4, GRID, GRID)
    # a few capsules agree far more than the rest: clip them rather than wash out the others
    norm = CenteredNorm(0, halfrange=max(float(np.quantile(np.abs(maps), 0.99)), 1e-6))
    fig = Figure(figsize=(6.4, 3.6), dpi=DPI)
    ax = fig.add_axes((0.02, 0.04, 0.8, 0.8))
    shown = ax.imshow(tile(tiles), cmap=AGREEMENT_COLORS, norm=norm, interpolation="nearest")
    for rank, kind in enumerate(order):
        row, col = divmod(rank, TYPES // 4)
        ax.text(col * (GRID + GAP) - 0.4, row * (GRID + GAP) - 0.4, str(kind), fontsize=6, va="top", color="0.2")
    ax.set_axis_off()
    fig.colorbar(shown, ax=ax, fraction=0.05, pad=0.02, extend="both", label="u_hat . v / |v|").ax.tick_params(labelsize=7)
    fig.text(0.02, 0.97, f"Agreement with capsule {digit}: 32 types (number top left), most agreeing first",
             fontsize=9, va="top")
    return fig


def all_capsules_figure(model: CapsNet, out: CapsNetOutput, sample: int = 0) -> Figure:
    """The ten reconstructions, each digit capsule decoded from its own pose, labelled with its length."""
    images = to_numpy(all_reconstructions(model, out.poses[sample]))  # (10, 1, 28, 28)
    lengths = to_numpy(out.lengths[sample])
    count, size = images.shape[0], images.shape[-1]
    winner = int(lengths.argmax())
    fig = Figure(figsize=(6.4, 1.5), dpi=DPI)
    ax = fig.add_axes((0.01, 0.3, 0.98, 0.55))
    ax.imshow(tile(images.reshape(1, count, size, size), fill=1.0), cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks(tile_centres(count, size), [f"{d}: {lengths[d]:.2f}" for d in range(count)], fontsize=8)
    ax.get_xticklabels()[winner].set(color="tab:red", fontweight="bold")
    ax.set_yticks([])
    ax.tick_params(length=0)
    ax.set_frame_on(False)
    ax.set_title("What each digit capsule would draw (digit: capsule length)", fontsize=9)
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
