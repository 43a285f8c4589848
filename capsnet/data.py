"""MNIST as in-memory tensors, and the paper's only augmentation: random shifts of up to 2 pixels."""

import gzip
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

IDX_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_DTYPE_UBYTE = 0x08
TRAIN_SIZE = 60_000

REPO = Path(__file__).resolve().parent.parent
DATA_ENV = "CAPSNET_DATA"  # where the tests (and train.py without --data-dir) look first
SHARED_MNIST = REPO.parent / "shared" / "mnist"  # this project's machines keep one copy for every work tree
LOCAL_MNIST = REPO / "data"  # anywhere else: torchvision downloads it here (git ignores it)


class DataError(RuntimeError):
    """MNIST could not be found, read or downloaded; the message says what to do."""


def _find_idx(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzipped or not) as a numpy array: magic 0 0 dtype ndim, then big-endian dims."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != IDX_DTYPE_UBYTE:
        raise DataError(f"{path} is not an unsigned-byte IDX file; replace it with the original MNIST file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated ({body.size} of {int(np.prod(shape))} bytes); replace it")
    return body.reshape(shape)


def _load_torchvision(root: Path, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(str(root), train=train, download=download)
    except Exception as e:  # torchvision raises RuntimeError, or URLError/OSError from its download
        reason = f"download failed: {str(e).strip().splitlines()[0]}" if download else "downloading is off"
        raise DataError(
            f"MNIST not found in {root} ({reason}). Put the four files "
            f"{', '.join(IDX_FILES[True] + IDX_FILES[False])} (.gz or not) in that folder, "
            "or point --data-dir at a folder that has them"
        ) from None
    return ds.data, ds.targets


def has_mnist(folder: Path) -> bool:
    """Whether folder holds all four MNIST files, as the original IDX files or in torchvision's layout."""
    names = IDX_FILES[True] + IDX_FILES[False]
    return any(all(_find_idx(place, name) for name in names) for place in (folder, folder / "MNIST" / "raw"))


def find_mnist(data_dir: str | Path | None = None) -> Path:
    """The folder to read MNIST from: data_dir when given, else the first of $CAPSNET_DATA,
    ../shared/mnist and data/ that has it; data/ (where torchvision downloads) when none has."""
    if data_dir is not None:
        return Path(data_dir)
    candidates = [Path(os.environ[DATA_ENV])] if os.environ.get(DATA_ENV) else []
    return next((folder for folder in [*candidates, SHARED_MNIST, LOCAL_MNIST] if has_mnist(folder)), LOCAL_MNIST)


def load_mnist(data_dir: str | Path, train: bool, download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, 28, 28) float in [0, 1] and labels (N,) int64.

    data_dir holds either the four original IDX files (gzipped or not) or
    torchvision's MNIST layout; in the latter case torchvision downloads
    what is missing when download is True.
    """
    folder = Path(data_dir)
    images_path, labels_path = (_find_idx(folder, name) for name in IDX_FILES[train])
    if images_path and labels_path:
        images, labels = torch.from_numpy(read_idx(images_path).copy()), torch.from_numpy(read_idx(labels_path).copy())
    else:
        images, labels = _load_torchvision(folder, train, download)
    if len(images) != len(labels):
        raise DataError(f"{folder}: {len(images)} images but {len(labels)} labels; the files do not belong together")
    return images.unsqueeze(1).float().div_(255), labels.long()


def split_validation(images: torch.Tensor, labels: torch.Tensor, val_size: int, seed: int):
    """((train images, labels), (validation images, labels)): val_size images drawn at random, fixed by seed;
    the training images keep the files' order."""
    held_out = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:val_size]
    train = torch.ones(len(images), dtype=torch.bool)
    train[held_out] = False
    return (images[train], labels[train]), (images[held_out], labels[held_out])


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Moves each image by its own random (dx, dy) in [-max_shift, max_shift], filling with zeros."""
    if max_shift == 0:
        return images
    batch, _, height, width = images.shape
    padded = F.pad(images, (max_shift,) * 4)  # (B, 1, H + 2s, W + 2s)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, batch, 1), generator=generator)
    rows = offsets[0] + torch.arange(height)  # (B, H)
    cols = offsets[1] + torch.arange(width)  # (B, W)
    index = torch.arange(batch)[:, None, None]
    return padded[:, 0][index, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def main() -> int:
    """`python -m capsnet.data`: make sure MNIST is somewhere find_mnist looks, downloading it into data/ if not."""
    folder = find_mnist()
    if has_mnist(folder):
        print(f"MNIST: {folder}")
        return 0
    print(f"MNIST not found in ${DATA_ENV}, {SHARED_MNIST} or {LOCAL_MNIST}; downloading it into {LOCAL_MNIST} with torchvision")
    try:
        for train in (True, False):
            _load_torchvision(LOCAL_MNIST, train, download=True)
    except DataError as e:
        print(f"error: {e}; or set {DATA_ENV} to a folder that has them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
