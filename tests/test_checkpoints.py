import json
import zipfile

import pytest
import torch
from safetensors.torch import load_file, save_file

from capsnet import CapsNet, CapsNetConfig, CheckpointError, load_model, read_config, save_pretrained
from capsnet.checkpoints import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT, model_folder
from capsnet.convert import convert


@pytest.fixture
def saved(tmp_path, model):
    folder = tmp_path / "model"
    save_pretrained(model, folder)
    return folder


def test_round_trip_keeps_config_and_weights_to_float16_precision(saved, model):
    loaded = load_model(saved)
    x = torch.rand(2, 1, 28, 28)
    model.eval()
    assert not loaded.training and loaded.config == model.config
    for name, weights in model.state_dict().items():
        assert loaded.state_dict()[name].dtype == torch.float32  # computed in float32
        torch.testing.assert_close(loaded.state_dict()[name], weights.half().float(), rtol=0, atol=0)
    torch.testing.assert_close(loaded(x).lengths, model(x).lengths, rtol=0, atol=1e-3)


def test_the_folder_holds_a_config_and_16_bit_safetensors(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    assert {t.dtype for t in load_file(saved / "model.safetensors").values()} == {torch.float16}
    assert json.loads((saved / "config.json").read_text())["model_type"] == "capsnet"


def test_round_trip_keeps_a_non_default_architecture_and_the_task(tmp_path):
    save_pretrained(CapsNet(CapsNetConfig(routing_iterations=2)), tmp_path / "r2", task="multimnist")
    assert load_model(tmp_path / "r2").config.routing_iterations == 2
    assert read_config(tmp_path / "r2")["task"] == "multimnist"


def test_a_shipped_model_is_found_by_its_name():
    assert model_folder("capsnet-multimnist") == PAIR_CHECKPOINT and model_folder(None) == DEFAULT_CHECKPOINT


def assert_refused_in_one_line(path, problem: str) -> None:
    with pytest.raises(CheckpointError) as error:
        load_model(path)
    message = str(error.value)
    assert message.startswith(f"{path}") and problem in message and "\n" not in message


def test_missing_folder_names_it_and_says_how_to_train(tmp_path):
    assert_refused_in_one_line(tmp_path / "nope", "no such model folder; train one with `python train.py`")


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors"])
def test_a_folder_without_its_config_or_weights_is_named(saved, missing):
    (saved / missing).unlink()
    assert_refused_in_one_line(saved, f"has no {missing}")


def test_truncated_weights_are_reported_in_one_line(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100_000])
    assert_refused_in_one_line(saved, "unreadable or truncated safetensors file")


def test_a_pickle_where_safetensors_belongs_is_refused_without_running_it(saved, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"payload": Payload()}, saved / "model.safetensors")
    assert zipfile.is_zipfile(saved / "model.safetensors")
    assert_refused_in_one_line(saved, "a PyTorch pickle, not safetensors; convert an old checkpoint")
    assert "must never run" not in capsys.readouterr().out


def test_an_old_pt_file_is_pointed_to_the_converter(tmp_path):
    (tmp_path / "old.pt").write_bytes(b"PK")
    assert_refused_in_one_line(tmp_path / "old.pt", "python -m capsnet.convert")


def edited_config(folder, edit) -> None:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def test_a_config_that_is_not_json_is_one_line(saved):
    (saved / "config.json").write_text("{not json")
    assert_refused_in_one_line(saved, "config.json: not readable as JSON")


@pytest.mark.parametrize("config,problem", [
    ({"image_size": "28"}, "config field image_size is '28'; expected a positive integer"),
    ({"routing_iterations": 0}, "config field routing_iterations is 0; expected a positive integer"),
    ({"digit_dim": -16}, "config field digit_dim is -16"),
    ({"primary_dim": 8.0}, "config field primary_dim is 8.0; expected a positive integer"),
    ({"num_classes": True}, "config field num_classes is True"),
    ({"decoder_hidden": [512]}, "config field decoder_hidden is [512]; expected 2 positive integers"),
    ({"colour": "blue"}, "its config has an unknown field 'colour'"),
    ({"num_classes": 5}, "config field num_classes is 5; this project reads only 10 digit classes"),
    ({"image_size": 32}, "config field image_size is 32; this project reads only 28x28 images"),
    ({"kernel_size": 27}, "leave no primary capsules in a 28x28 image"),
    ({"model_type": "resnet"}, "model_type is 'resnet'; this project reads capsnet or cnn"),
    ({"task": "cifar"}, "task is 'cifar'; expected mnist or multimnist"),
], ids=["text number", "zero", "negative", "float for int", "bool", "short tuple", "unknown", "5 classes",
        "32 pixels", "no grid", "model type", "task"])
def test_a_config_of_the_wrong_type_or_value_is_named(saved, config, problem):
    edited_config(saved, lambda data: data.update(config))
    assert_refused_in_one_line(saved, problem)


def test_a_config_that_does_not_fit_the_weights_is_refused(saved):
    edited_config(saved, lambda data: data.update(digit_dim=8))
    assert_refused_in_one_line(saved, "weights do not match the CapsNet architecture in its config.json")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(saved, value):
    weights = load_file(saved / "model.safetensors")
    weights["digit_capsules.W"][0, 3, 5, 1] = value
    save_file(weights, saved / "model.safetensors")
    assert_refused_in_one_line(saved, "weight digit_capsules.W holds NaN or infinite values")


def test_a_config_without_a_field_takes_its_default(saved):
    edited_config(saved, lambda data: data.pop("weight_init_std"))
    assert load_model(saved).config.weight_init_std == CapsNetConfig().weight_init_std


def test_an_old_checkpoint_converts_to_a_folder_that_loads_the_same_model(tmp_path, model):
    old = tmp_path / "mine.pt"
    torch.save({"format": "capsnet-checkpoint-v1", "kind": "capsnet", "config": {"routing_iterations": 2},
                "model": model.state_dict(), "metadata": {"task": "multimnist", "epochs": 3}}, old)
    old.with_name("mine.dims.json").write_text('{"dimensions": []}')
    folder = convert(old, tmp_path / "mine")
    assert read_config(folder)["task"] == "multimnist" and load_model(folder).config.routing_iterations == 2
    assert json.loads((folder / "metrics.json").read_text())["epochs"] == 3
    assert (folder / "pose-dimensions.json").read_text() == '{"dimensions": []}'
    torch.testing.assert_close(load_model(folder).state_dict()["digit_capsules.W"],
                               model.state_dict()["digit_capsules.W"].half().float())


def test_converting_a_file_of_another_kind_is_one_line(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt: not a capsnet-checkpoint-v1 checkpoint of this project"):
        convert(tmp_path / "other.pt", tmp_path / "out")
