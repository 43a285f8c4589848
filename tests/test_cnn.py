import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train
from capsnet import CNN, CNNConfig, CapsNet, CheckpointError, load_model, save_checkpoint
from capsnet.data import load_mnist

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cnn() -> CNN:
    torch.manual_seed(0)
    return CNN().eval()


def test_cnn_gives_one_probability_per_digit_summing_to_one(cnn):
    probabilities = cnn(torch.rand(3, 1, 28, 28)).probabilities
    assert probabilities.shape == (3, 10)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(3))


def test_cnn_has_under_a_million_parameters():
    assert 300_000 < sum(p.numel() for p in CNN().parameters()) < 1_000_000


def test_load_model_loads_a_cnn_checkpoint_with_its_weights_and_metadata(tmp_path, cnn):
    save_checkpoint(cnn, tmp_path / "cnn.pt", {"epochs": 2})
    loaded = load_model(tmp_path / "cnn.pt")
    x = torch.rand(2, 1, 28, 28)
    assert isinstance(loaded, CNN) and not loaded.training
    assert loaded.config == cnn.config and loaded.metadata == {"epochs": 2}
    torch.testing.assert_close(loaded(x).logits, cnn(x).logits)


def test_a_cnn_config_keeps_its_non_default_fields(tmp_path):
    save_checkpoint(CNN(CNNConfig(hidden=64, channels=(8, 16))), tmp_path / "small.pt", {})
    assert load_model(tmp_path / "small.pt").config == CNNConfig(hidden=64, channels=(8, 16))


def edited(path: Path, edit) -> Path:
    data = torch.load(path, weights_only=True)
    edit(data)
    torch.save(data, path)
    return path


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d.update(kind="transformer"), "holds a model of unknown kind 'transformer'"),
    (lambda d: d["config"].update(hidden=-3), "config field hidden is -3; expected a positive integer"),
    (lambda d: d["config"].update(routing_iterations=3), "its config has an unknown field 'routing_iterations'"),
    (lambda d: d["config"].update(hidden=128), "weights do not match the CNN architecture"),
    (lambda d: d.update(kind="capsnet"), "its config has an unknown field"),
], ids=["unknown kind", "negative width", "capsnet field", "wrong width", "capsnet kind"])
def test_a_broken_cnn_checkpoint_is_refused_in_one_line(tmp_path, cnn, edit, problem):
    path = tmp_path / "cnn.pt"
    save_checkpoint(cnn, path, {})
    with pytest.raises(CheckpointError) as error:
        load_model(edited(path, edit))
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_a_capsnet_checkpoint_without_a_kind_still_loads_as_a_capsnet(tmp_path):
    path = tmp_path / "old.pt"
    save_checkpoint(CapsNet(), path, {})
    assert isinstance(load_model(edited(path, lambda d: d.pop("kind"))), CapsNet)


def test_cnn_with_pairs_is_refused_in_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "load_mnist", lambda *a, **k: pytest.fail("MNIST was read"))
    with pytest.raises(SystemExit) as stop:
        train.main(["--model", "cnn", "--pairs", "--out", str(tmp_path / "x.pt")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: argument --pairs: ") and error.count("\n") == 1


def test_cnn_training_saves_to_its_own_default_checkpoint_not_the_capsnets():
    assert train.parse_args(["--model", "cnn"]).out == Path("checkpoints/cnn-mnist.pt")
    assert train.parse_args([]).out == Path("checkpoints/capsnet-mnist.pt")


def run_train(*args):
    return subprocess.run([sys.executable, "train.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_resuming_a_cnn_run_as_a_capsnet_is_refused_in_one_line(tmp_path, mnist_dir):
    tiny = ["--epochs", 1, "--train-limit", 64, "--val-size", 0, "--test-limit", 20, "--device", "cpu",
            "--data-dir", mnist_dir, "--out", tmp_path / "m.pt"]
    assert run_train("--model", "cnn", *tiny).returncode == 0
    result = run_train("--resume", *tiny[:1], 2, *tiny[2:])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"error: --resume: {tmp_path / 'm.last.pt'} is a run of --model cnn; give --model cnn or another --out\n"


SHIPPED_CNN = REPO / "checkpoints" / "cnn-mnist.pt"


def test_shipped_cnn_was_chosen_on_validation_and_recorded_at_least_99_3_percent():
    metadata = load_model(SHIPPED_CNN).metadata
    assert metadata["chosen_by"] == "validation accuracy" and metadata["test_images"] == 10_000
    assert metadata["args"]["model"] == "cnn" and "train.py" in metadata["command"]
    assert metadata["test_accuracy"] >= 0.993


@pytest.mark.slow
def test_shipped_cnn_scores_at_least_99_3_percent_on_the_test_set(mnist_dir):
    model = load_model(SHIPPED_CNN)
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = torch.cat([model(batch).probabilities.argmax(dim=1) for batch in images.split(1000)])
    assert (predictions == labels).float().mean() >= 0.993
