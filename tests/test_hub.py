from pathlib import Path

import pytest
import torch

from capsnet import PAIR_CHECKPOINT, load_model, read_config

REPO = Path(__file__).resolve().parent.parent


def test_hub_loads_the_shipped_model_in_eval_mode():
    model = torch.hub.load(str(REPO), "capsnet", source="local")
    assert not model.training
    torch.testing.assert_close(model.digit_capsules.W, load_model().digit_capsules.W)  # the shipped weights
    with torch.inference_mode():
        assert model(torch.rand(2, 1, 28, 28)).lengths.shape == (2, 10)


def test_hub_gives_fresh_weights_without_pretrained():
    shipped = torch.hub.load(str(REPO), "capsnet", source="local")
    fresh = torch.hub.load(str(REPO), "capsnet", source="local", pretrained=False, routing_iterations=2)
    assert fresh.config.routing_iterations == 2 and fresh.training
    assert not torch.equal(fresh.digit_capsules.W, shipped.digit_capsules.W)


def test_hub_refuses_architecture_changes_to_the_shipped_model():
    with pytest.raises(ValueError, match="only go with pretrained=False"):
        torch.hub.load(str(REPO), "capsnet", source="local", routing_iterations=2)


def test_hub_loads_the_shipped_pair_model_trained_on_pairs():
    pair_model = torch.hub.load(str(REPO), "capsnet_multimnist", source="local")
    assert not pair_model.training
    assert read_config("capsnet-multimnist")["task"] == "multimnist"
    torch.testing.assert_close(pair_model.digit_capsules.W, load_model(PAIR_CHECKPOINT).digit_capsules.W)
    with torch.inference_mode():
        assert pair_model(torch.rand(2, 1, 28, 28)).lengths.shape == (2, 10)
