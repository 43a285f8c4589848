import json

import pytest
import torch

from capsnet import DEFAULT_CHECKPOINT, load_model
from capsnet.data import load_mnist
from safetensors.torch import load_file


@pytest.mark.slow
def test_shipped_checkpoint_scores_at_least_99_percent_on_2000_test_images(mnist_dir):
    model = load_model()
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = torch.cat([model(batch).lengths.argmax(dim=1) for batch in images[:2000].split(500)])
    assert (predictions == labels[:2000]).float().mean() >= 0.99


def test_shipped_checkpoint_records_how_it_was_trained():
    metrics = json.loads((DEFAULT_CHECKPOINT / "metrics.json").read_text())
    assert metrics["train_images"] == 60_000 and metrics["test_images"] == 10_000
    assert "train.py" in metrics["command"]
    assert metrics["test_accuracy"] == max(epoch["test_accuracy"] for epoch in metrics["history"])


@pytest.mark.parametrize("name", ["capsnet-mnist", "capsnet-multimnist", "cnn-mnist"])
def test_every_shipped_model_is_a_folder_with_16_bit_weights_and_a_model_card(name):
    folder = DEFAULT_CHECKPOINT.parent / name
    assert {"config.json", "model.safetensors", "README.md", "metrics.json"} <= {p.name for p in folder.iterdir()}
    assert {t.dtype for t in load_file(folder / "model.safetensors").values()} == {torch.float16}
    assert load_model(name).config.num_classes == 10
