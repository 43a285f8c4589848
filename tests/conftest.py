from pathlib import Path

import pytest
import torch

from capsnet import CapsNet

REPO = Path(__file__).resolve().parent.parent
MNIST_DIR = REPO.parent / "shared" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"MNIST IDX files not found in {MNIST_DIR}; these tests read the four original files from there")
    return MNIST_DIR


@pytest.fixture
def model() -> CapsNet:
    torch.manual_seed(0)
    return CapsNet()
