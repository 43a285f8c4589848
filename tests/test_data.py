import gzip

import numpy as np
import pytest
import torch

from capsnet import data
from capsnet.data import DataError, load_mnist, random_shift, split_validation


def write_idx(path, array: np.ndarray, gz: bool):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    (gzip.open if gz else open)(path, "wb").write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("gz", [True, False])
def test_reads_a_folder_of_idx_files_gzipped_or_not(tmp_path, gz):
    suffix = ".gz" if gz else ""
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.array([7, 2, 1]), gz)
    x, y = load_mnist(tmp_path, train=False, download=False)
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0] * 255, torch.from_numpy(images).float())
    assert y.tolist() == [7, 2, 1]


def test_truncated_idx_file_is_a_data_error(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28)), gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3), gz=False)
    data = (tmp_path / "t10k-images-idx3-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(data[:-100])
    with pytest.raises(DataError, match="truncated"):
        load_mnist(tmp_path, train=False, download=False)


def test_missing_data_says_which_files_to_put_where(tmp_path):
    with pytest.raises(DataError) as error:
        load_mnist(tmp_path, train=True, download=False)
    message = str(error.value)
    assert str(tmp_path) in message and "train-images-idx3-ubyte" in message
    assert "\n" not in message


def test_real_mnist_test_set(mnist_dir):
    x, y = load_mnist(mnist_dir, train=False)
    assert x.shape == (10_000, 1, 28, 28)
    assert 0 <= x.min() and x.max() == 1
    assert torch.bincount(y).tolist()[:3] == [980, 1135, 1032]


def test_random_shift_moves_each_image_by_at_most_max_shift():
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 14, 14] = 1
    shifted = random_shift(image.repeat(200, 1, 1, 1), max_shift=2, generator=torch.Generator().manual_seed(0))
    positions = shifted.flatten(1).argmax(dim=1)
    rows, cols = positions // 28, positions % 28
    assert shifted.shape == (200, 1, 28, 28) and torch.equal(shifted.sum((1, 2, 3)), torch.ones(200))
    assert set(rows.tolist()) == set(range(12, 17)) and set(cols.tolist()) == set(range(12, 17))


def test_random_shift_fills_with_zeros():
    shifted = random_shift(torch.ones(50, 1, 28, 28), max_shift=2, generator=torch.Generator().manual_seed(1))
    assert shifted.sum() < 50 * 28 * 28  # some border rows or columns are now empty


def test_zero_shift_returns_images_unchanged():
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(random_shift(x, max_shift=0), x)


def test_validation_split_is_disjoint_fixed_by_the_seed_and_keeps_the_training_order():
    images, labels = torch.arange(100).float().view(100, 1, 1, 1), torch.arange(100)
    (train_x, train_y), (val_x, val_y) = split_validation(images, labels, 10, seed=0)
    assert len(val_y) == 10 and len(train_y) == 90
    assert set(train_y.tolist()).isdisjoint(val_y.tolist()) and torch.equal(train_x.flatten().long(), train_y)
    assert train_y.tolist() == sorted(train_y.tolist())
    assert torch.equal(split_validation(images, labels, 10, seed=0)[1][1], val_y)
    assert not torch.equal(split_validation(images, labels, 10, seed=1)[1][1], val_y)


def test_empty_validation_split_trains_on_everything():
    images, labels = torch.zeros(5, 1, 28, 28), torch.arange(5)
    (_, train_y), (val_x, _) = split_validation(images, labels, 0, seed=0)
    assert train_y.tolist() == [0, 1, 2, 3, 4] and len(val_x) == 0


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Three candidate folders, none with MNIST; find_mnist looks at them instead of the real ones."""
    env, shared, local = tmp_path / "env", tmp_path / "shared", tmp_path / "data"
    monkeypatch.setenv(data.DATA_ENV, str(env))
    monkeypatch.setattr(data, "SHARED_MNIST", shared)
    monkeypatch.setattr(data, "LOCAL_MNIST", local)
    return env, shared, local


def put_mnist(folder):
    folder.mkdir(parents=True)
    for name in data.IDX_FILES[True] + data.IDX_FILES[False]:
        (folder / f"{name}.gz").write_bytes(b"")


def test_find_mnist_prefers_the_environment_then_shared_then_data(places):
    env, shared, local = places
    assert data.find_mnist() == local  # nowhere yet: where torchvision will download it
    put_mnist(local)
    assert data.find_mnist() == local
    put_mnist(shared)
    assert data.find_mnist() == shared
    put_mnist(env)
    assert data.find_mnist() == env


def test_find_mnist_takes_an_explicit_folder_as_given(places, tmp_path):
    put_mnist(places[1])
    assert data.find_mnist(tmp_path / "mine") == tmp_path / "mine"


def test_torchvision_layout_counts_as_having_mnist(places):
    put_mnist(places[2] / "MNIST" / "raw")
    assert data.has_mnist(places[2]) and data.find_mnist() == places[2]
