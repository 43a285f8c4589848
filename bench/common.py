"""What the bench scripts share: the --checkpoint and --data-dir flags, read with one-line errors."""

import argparse
import sys
from pathlib import Path

import torch

from capsnet import CapsNet, CheckpointError, load_model
from capsnet.data import DataError, find_mnist, load_mnist


def add_model_and_data_flags(p: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        p.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped checkpoint")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with MNIST (default: the first of $CAPSNET_DATA, ../shared/mnist, data/ that has it)")


def model_from(args: argparse.Namespace) -> CapsNet:
    try:
        return load_model(args.checkpoint)
    except CheckpointError as error:
        sys.exit(f"error: {error}")


def test_set(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's 10,000 test images (N, 1, 28, 28) and labels (N,)."""
    try:
        return load_mnist(find_mnist(args.data_dir), train=False)
    except DataError as error:
        sys.exit(f"error: {error}")
