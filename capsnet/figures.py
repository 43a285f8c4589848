"""Figures as PNG files, drawn with matplotlib's object API (no pyplot, no display: safe in servers and threads)."""

from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .atomic import atomic_write


def save_figure(figure: Figure, path: str | Path) -> None:
    with atomic_write(path) as f:
        figure.savefig(f, format="png", dpi=120)


# Training figures


def plot_curves(history: list[dict], path: str | Path) -> None:
    """Train loss and validation/test error per epoch (errors on a log scale: they shrink by 10x over a run)."""
    epochs = [e["epoch"] for e in history]
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, error_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [e["train_loss"] for e in history], marker=".", label="train")
    loss_axes.set(title="training loss", xlabel="epoch", ylabel="margin + reconstruction loss", yscale="log")
    for split in ("val", "test"):
        points = [(e["epoch"], 100 * (1 - e[f"{split}_accuracy"])) for e in history if f"{split}_accuracy" in e]
        if points:
            error_axes.plot(*zip(*points), marker=".", label={"val": "validation", "test": "test"}[split])
    error_axes.set(title="classification error", xlabel="epoch", ylabel="error (%)", yscale="log")
    error_axes.yaxis.set_major_formatter("{x:g}")
    error_axes.yaxis.set_minor_formatter("{x:g}")
    for axes in (loss_axes, error_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    save_figure(figure, path)


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
