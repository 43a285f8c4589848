"""Measuring a model folder on the MNIST test set (`python train.py --eval --checkpoint FOLDER`).

Single digits: accuracy, the confusion matrix and the misclassified digits. A
CapsNet trained on pairs (or any CapsNet with pairs=True) is also measured the
paper's way on one fixed pair per test image (both digits among the two
longest capsules), with Figure 5 for the first pairs, and on how often a
single digit has exactly one capsule longer than 0.5 (what "one digit" means
on the page). Figures go to PNG files.
"""

import json
from pathlib import Path

import torch
from tqdm import tqdm

from .checkpoints import METRICS, load_model, model_folder, read_config
from .cnn import CNN, class_scores
from .device import autocast
from .figures import plot_confusion, plot_curves, plot_misclassified, plot_pairs
from .model import CapsNet
from .multimnist import TEST_PAIR_SEED, fixed_pairs, recognised

FIGURE5_PAIRS = 16
PRESENT = 0.5  # a capsule this long says "this digit is here" (the margin loss's m+ and m- lie either side)


class EvaluationError(RuntimeError):
    """The evaluation asked for does not fit the model; one line for the user."""


@torch.inference_mode()
def scores_of(model: CapsNet | CNN, images: torch.Tensor, device, precision: str, batch_size: int = 500, desc="test") -> torch.Tensor:
    """The 10 class scores of each image (class_scores) -> (N, 10)."""
    model.eval()
    scores = []
    for start in tqdm(range(0, len(images), batch_size), desc=desc, leave=False, unit="batch"):
        with autocast(device, precision):
            scores.append(class_scores(model(images[start : start + batch_size].to(device))).float().cpu())
    return torch.cat(scores)


def accuracy(model, images, labels, device, precision, desc) -> float:
    """The share of images whose labelled digits (one, or both of a pair) score highest."""
    return recognised(scores_of(model, images, device, precision, desc=desc), labels).double().mean().item()


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, classes: int = 10) -> torch.Tensor:
    return torch.bincount(labels * classes + predictions, minlength=classes * classes).view(classes, classes)


def format_confusion(matrix: torch.Tensor) -> str:
    header = "true\\pred " + " ".join(f"{k:>5}" for k in range(len(matrix)))
    rows = [f"{k:>9} " + " ".join(f"{int(n):>5}" for n in row) for k, row in enumerate(matrix)]
    return "\n".join([header, *rows])


def pairs_per_epoch(metrics: dict) -> int | None:
    """How many pairs a MultiMNIST run trains per epoch (its curves are drawn against pairs trained); None otherwise."""
    if metrics.get("task") != "multimnist":
        return None
    return min(metrics["args"]["epoch_size"] or metrics["train_images"], metrics["train_images"])


def evaluate(checkpoint, images, labels, figures_dir: Path, device, precision: str, pairs: bool = False) -> list[Path]:
    """Prints the figures of the model folder on the test images and returns the PNG files written."""
    folder = model_folder(checkpoint)
    model = load_model(folder, device)
    task = read_config(folder)["task"]
    if (pairs or task == "multimnist") and not isinstance(model, CapsNet):
        raise EvaluationError(f"--pairs: {folder} holds the CNN baseline, which has no capsules to name two digits; "
                              "give a CapsNet or drop --pairs")
    scores = scores_of(model, images, device, precision)
    predictions = scores.argmax(dim=1)
    correct = int((predictions == labels).sum())
    print(f"test accuracy: {correct / len(labels):.4%} ({correct}/{len(labels)} images, {len(labels) - correct} errors)"
          + (" of single digits" if task == "multimnist" else ""))
    matrix = confusion_matrix(labels, predictions)
    print(format_confusion(matrix))
    written = [figures_dir / f"{folder.name}.{name}.png" for name in ("confusion", "misclassified")]
    plot_confusion(matrix.numpy(), written[0])
    wrong = predictions != labels
    plot_misclassified(images[wrong], labels[wrong], predictions[wrong], written[1])
    if (folder / METRICS).is_file():  # the training curves of the run that made this model
        run = json.loads((folder / METRICS).read_text())
        written.append(figures_dir / f"{folder.name}.curves.png")
        plot_curves(run["history"], written[-1], run.get("best_epoch"), pairs_per_epoch(run))
    if pairs or task == "multimnist":
        alone = int(((scores > PRESENT).sum(dim=1) == 1).sum())
        print(f"single digits with exactly one capsule longer than {PRESENT}: {alone / len(labels):.2%} "
              f"({alone}/{len(labels)})")
        written.append(evaluate_pairs(model, folder, images, labels, figures_dir, device, precision))
    return written


def evaluate_pairs(model: CapsNet, folder: Path, images, labels, figures_dir: Path, device, precision) -> Path:
    """The paper's MultiMNIST measure on one fixed pair per test image, and Figure 5 for the first pairs."""
    pairs, pair_labels, _ = fixed_pairs(images, labels, TEST_PAIR_SEED)
    lengths = scores_of(model, pairs, device, precision, desc="test pairs")
    hits = recognised(lengths, pair_labels)
    print(f"test pairs: both digits among the two longest capsules in {hits.double().mean():.2%} "
          f"({int(hits.sum())}/{len(hits)} pairs)")
    shown, predicted = pairs[:FIGURE5_PAIRS], lengths[:FIGURE5_PAIRS].topk(2, dim=1).indices
    with torch.inference_mode():
        reconstructions = model(shown.to(device), predicted.to(device)).reconstruction.cpu()  # (16, 2, 1, 28, 28)
    path = figures_dir / f"{folder.name}.pairs.png"
    plot_pairs(shown, reconstructions, pair_labels[:FIGURE5_PAIRS], predicted, path)
    return path
