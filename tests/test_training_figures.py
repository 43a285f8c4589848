import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from capsnet.figures import curves_figure, plot_confusion, plot_curves, plot_misclassified, plot_pairs, two_colour_overlay

SHIPPED_METRICS = Path(__file__).resolve().parent.parent / "checkpoints" / "capsnet-mnist" / "metrics.json"
VALIDATED_RUN = [{"epoch": k, "train_loss": 0.1 / k, "val_accuracy": 0.99, "test_accuracy": 0.995} for k in (1, 2, 3)]


def is_png(path) -> bool:
    with Image.open(path) as image:
        return image.format == "PNG" and min(image.size) > 100


def error_lines(figure) -> dict[str, list[float]]:
    """The error plot's lines by label: their y values (%)."""
    return {line.get_label(): [float(y) for y in line.get_ydata()] for line in figure.axes[1].lines}


def test_curves_of_a_run_without_validation_accuracy_draw_the_test_error_alone(tmp_path):
    history = json.loads(SHIPPED_METRICS.read_text())["history"]  # written before --val-size existed
    lines = error_lines(curves_figure(history))
    assert list(lines) == ["test"]
    assert lines["test"] == pytest.approx([100 * e["test_error"] for e in history])
    plot_curves(history, tmp_path / "curves.png")
    assert is_png(tmp_path / "curves.png")


def test_curves_draw_the_loss_and_both_errors_in_percent():
    figure = curves_figure(VALIDATED_RUN)
    assert [float(y) for y in figure.axes[0].lines[0].get_ydata()] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert error_lines(figure) == {"validation": pytest.approx([1.0] * 3), "test": pytest.approx([0.5] * 3)}


def test_curves_mark_the_kept_epoch_on_both_plots():
    for axes in curves_figure(VALIDATED_RUN, kept_epoch=2).axes:
        marks = [line for line in axes.lines if line.get_label() == "kept: epoch 2"]
        assert [list(mark.get_xdata()) for mark in marks] == [[2, 2]]


def test_curves_of_a_pair_run_are_drawn_against_the_pairs_trained():
    loss_axes, error_axes = curves_figure(VALIDATED_RUN, kept_epoch=2, pairs_per_epoch=20_000).axes
    assert error_axes.get_xlabel() == "pairs trained (thousands)"
    assert list(error_axes.lines[0].get_xdata()) == [20, 40, 60]
    assert [list(line.get_xdata()) for line in loss_axes.lines if line.get_label() == "kept: epoch 2"] == [[40, 40]]


def test_pair_figure_overlays_the_two_reconstructions_in_red_and_green(tmp_path):
    first, second = torch.zeros(1, 28, 28), torch.zeros(1, 28, 28)
    first[0, 5, 5], second[0, 9, 9] = 1, 1
    overlay = two_colour_overlay(first, second)
    assert overlay.shape == (28, 28, 3) and overlay[5, 5].tolist() == [255, 0, 0] and overlay[9, 9].tolist() == [0, 255, 0]
    pairs, drawings = torch.rand(5, 1, 28, 28), torch.rand(5, 2, 1, 28, 28)
    labels = torch.tensor([[1, 2]] * 5)
    plot_pairs(pairs, drawings, labels, labels.flip(1), tmp_path / "pairs.png")
    assert is_png(tmp_path / "pairs.png")


def test_confusion_matrix_with_empty_cells(tmp_path):
    matrix = np.diag(np.arange(10) + 1)
    matrix[3, 5] = 2
    plot_confusion(matrix, tmp_path / "confusion.png")
    assert is_png(tmp_path / "confusion.png")


def test_misclassified_grid_has_a_row_per_ten_digits(tmp_path):
    images = torch.rand(23, 1, 28, 28)
    plot_misclassified(images, torch.zeros(23, dtype=torch.long), torch.ones(23, dtype=torch.long), tmp_path / "wrong.png")
    with Image.open(tmp_path / "wrong.png") as grid:
        assert grid.height > grid.width * 0.25  # three rows of ten


def test_figures_leave_no_partial_files(tmp_path):
    plot_confusion(np.eye(10, dtype=int), tmp_path / "confusion.png")
    assert [p.name for p in tmp_path.iterdir()] == ["confusion.png"]
