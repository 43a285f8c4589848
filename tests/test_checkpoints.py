import pytest
import torch

from capsnet import CapsNet, CapsNetConfig, CheckpointError, load_model, save_checkpoint


@pytest.fixture
def saved(tmp_path, model):
    path = tmp_path / "model.pt"
    save_checkpoint(model, path, {"epochs": 3, "test_accuracy": 0.5})
    return path


def test_round_trip_restores_weights_config_and_metadata(saved, model):
    loaded = load_model(saved)
    x = torch.rand(2, 1, 28, 28)
    model.eval()
    assert not loaded.training
    assert loaded.config == model.config
    assert loaded.metadata == {"epochs": 3, "test_accuracy": 0.5}
    assert torch.allclose(loaded(x).lengths, model(x).lengths)


def test_round_trip_keeps_a_non_default_architecture(tmp_path):
    model = CapsNet(CapsNetConfig(routing_iterations=2))
    save_checkpoint(model, tmp_path / "r2.pt", {})
    assert load_model(tmp_path / "r2.pt").config.routing_iterations == 2


def test_save_leaves_no_temporary_file(saved):
    assert [p.name for p in saved.parent.iterdir()] == ["model.pt"]


def test_missing_file_names_it_and_says_how_to_train(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pt: no such checkpoint file.*python train\.py"):
        load_model(tmp_path / "nope.pt")


def test_truncated_file_is_reported_in_one_line(saved):
    saved.write_bytes(saved.read_bytes()[:100_000])
    with pytest.raises(CheckpointError, match="unreadable or truncated") as error:
        load_model(saved)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("contents", [b"# notes\n", bytes(range(256))], ids=["text", "binary"])
def test_a_file_torch_did_not_write_is_called_not_a_checkpoint(tmp_path, contents):
    (tmp_path / "notes.pt").write_bytes(contents)
    with pytest.raises(CheckpointError, match=r"notes\.pt: not a PyTorch checkpoint file; train one"):
        load_model(tmp_path / "notes.pt")


def test_file_of_another_kind_is_rejected(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a CapsNet checkpoint"):
        load_model(tmp_path / "other.pt")


def test_weights_that_do_not_fit_the_architecture_are_rejected(tmp_path, model):
    checkpoint = tmp_path / "mismatch.pt"
    save_checkpoint(model, checkpoint, {})
    data = torch.load(checkpoint, weights_only=True)
    data["config"]["digit_dim"] = 8
    torch.save(data, checkpoint)
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(checkpoint)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "capsnet-checkpoint-v1", "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        load_model(path)
    assert "must never run" not in capsys.readouterr().out


def edited(path, edit) -> None:
    """The checkpoint at path, rewritten after edit(data) changed its dict."""
    data = torch.load(path, weights_only=True)
    edit(data)
    torch.save(data, path)


def assert_refused_in_one_line(path, problem: str) -> None:
    with pytest.raises(CheckpointError) as error:
        load_model(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


@pytest.mark.parametrize("config,problem", [
    ("image_size=28", "its config is a str, not a dict"),
    ({"image_size": "28"}, "config field image_size is '28'; expected a positive integer"),
    ({"routing_iterations": 0}, "config field routing_iterations is 0; expected a positive integer"),
    ({"digit_dim": -16}, "config field digit_dim is -16"),
    ({"primary_dim": 8.0}, "config field primary_dim is 8.0; expected a positive integer"),
    ({"num_classes": True}, "config field num_classes is True"),
    ({"weight_init_std": float("nan")}, "config field weight_init_std is nan; expected a positive number"),
    ({"decoder_hidden": [512]}, "config field decoder_hidden is [512]; expected 2 positive integers"),
    ({"colour": "blue"}, "its config has an unknown field 'colour'"),
    ({"num_classes": 5}, "config field num_classes is 5; this project reads only 10 digit classes"),
    ({"image_size": 32}, "config field image_size is 32; this project reads only 28x28 images"),
    ({"kernel_size": 27}, "leave no primary capsules in a 28x28 image"),
], ids=["string", "text number", "zero", "negative", "float for int", "bool", "nan", "short tuple", "unknown",
        "5 classes", "32 pixels", "no grid"])
def test_a_config_of_the_wrong_type_or_value_is_named(saved, config, problem):
    edited(saved, lambda data: data.update(config=config if isinstance(config, str) else data["config"] | config))
    assert_refused_in_one_line(saved, problem)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(saved, value):
    def poison(data):
        data["model"]["digit_capsules.W"][0, 3, 5, 1] = value

    edited(saved, poison)
    assert_refused_in_one_line(saved, "weight digit_capsules.W holds NaN or infinite values")


@pytest.mark.parametrize("weights,problem", [([1, 2], "its weights are a list"),
                                             ({"conv1.weight": "x"}, "weight 'conv1.weight' is a str")])
def test_weights_that_are_not_tensors_are_refused(saved, weights, problem):
    edited(saved, lambda data: data.update(model=weights))
    assert_refused_in_one_line(saved, problem)


def test_metadata_that_is_not_a_dict_is_refused(saved):
    edited(saved, lambda data: data.update(metadata=[1]))
    assert_refused_in_one_line(saved, "its metadata is a list")


def test_a_config_without_a_field_takes_its_default(saved):
    edited(saved, lambda data: data["config"].pop("weight_init_std"))
    assert load_model(saved).config.weight_init_std == CapsNetConfig().weight_init_std
