from pathlib import Path

import pytest
import torch

from capsnet import CapsNet
from capsnet.data import DATA_ENV, find_mnist, has_mnist


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = find_mnist()
    if not has_mnist(folder):
        pytest.fail(f"MNIST not found (${DATA_ENV}, ../shared/mnist, data/); `bash tests/run.sh` downloads it into data/")
    return folder


@pytest.fixture
def model() -> CapsNet:
    torch.manual_seed(0)
    return CapsNet()
