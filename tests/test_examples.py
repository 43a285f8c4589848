import json
from pathlib import Path

import pytest
import torch
import numpy as np
from PIL import Image

from capsnet import load_model, preprocess, read_image
from capsnet.data import load_mnist

EXAMPLES = Path(__file__).resolve().parent.parent / "demo" / "examples"
INDEX = json.loads((EXAMPLES / "index.json").read_text())


@pytest.fixture(scope="module")
def shipped_model():
    return load_model()


def test_examples_cover_every_digit_and_include_some_the_model_gets_wrong():
    assert len(INDEX) >= 16
    assert {e["label"] for e in INDEX} == set(range(10))
    assert 3 <= sum(e["label"] != e["prediction"] for e in INDEX) <= 4


def test_example_files_are_small_28_pixel_images_named_for_their_true_digit():
    for example in INDEX:
        path = EXAMPLES / example["file"]
        assert f"true{example['label']}" in path.name
        assert Image.open(path).size == (28, 28)
    assert sum(f.stat().st_size for f in EXAMPLES.iterdir()) < 50 * 1024


def test_examples_are_the_mnist_test_images_they_name(mnist_dir):
    images, labels = load_mnist(mnist_dir, train=False)
    for example in INDEX:
        pixels = torch.from_numpy(np.array(Image.open(EXAMPLES / example["file"]))).float() / 255
        assert torch.allclose(pixels, images[example["mnist_test_index"], 0], atol=1 / 255)
        assert labels[example["mnist_test_index"]] == example["label"]


@pytest.mark.parametrize("example", INDEX, ids=[e["file"] for e in INDEX])
def test_shipped_model_predicts_what_the_index_says_for_an_uploaded_example(shipped_model, example):
    with torch.inference_mode():
        out = shipped_model(preprocess(read_image(EXAMPLES / example["file"])))
    assert int(out.lengths.argmax()) == example["prediction"]
