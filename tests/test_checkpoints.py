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
