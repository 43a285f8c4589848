import pytest
import torch

from capsnet import DEFAULT_CHECKPOINT, load_model
from capsnet.data import load_mnist


@pytest.mark.slow
def test_shipped_checkpoint_scores_at_least_99_percent_on_2000_test_images(mnist_dir):
    model = load_model()
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = torch.cat([model(batch).lengths.argmax(dim=1) for batch in images[:2000].split(500)])
    assert (predictions == labels[:2000]).float().mean() >= 0.99


def test_shipped_checkpoint_records_how_it_was_trained():
    metadata = load_model(DEFAULT_CHECKPOINT).metadata
    assert metadata["train_images"] == 60_000 and metadata["test_images"] == 10_000
    assert "train.py" in metadata["command"]
    assert metadata["test_accuracy"] == max(epoch["test_accuracy"] for epoch in metadata["history"])
