import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train
from capsnet import CNN, CNNConfig, CheckpointError, load_model, read_config, save_pretrained
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


def test_load_model_loads_a_cnn_folder_with_its_weights(tmp_path, cnn):
    save_pretrained(cnn, tmp_path / "cnn")
    loaded = load_model(tmp_path / "cnn")
    x = torch.rand(2, 1, 28, 28)
    assert isinstance(loaded, CNN) and not loaded.training and loaded.config == cnn.config
    torch.testing.assert_close(loaded(x).logits, cnn(x).logits, rtol=0, atol=1e-2)  # float16 weights


def test_a_cnn_config_keeps_its_non_default_fields(tmp_path):
    save_pretrained(CNN(CNNConfig(hidden=64, channels=(8, 16))), tmp_path / "small")
    assert load_model(tmp_path / "small").config == CNNConfig(hidden=64, channels=(8, 16))


def edited(folder: Path, edit) -> Path:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d.update(model_type="transformer"), "model_type is 'transformer'; this project reads capsnet or cnn"),
    (lambda d: d.update(hidden=-3), "config field hidden is -3; expected a positive integer"),
    (lambda d: d.update(routing_iterations=3), "its config has an unknown field 'routing_iterations'"),
    (lambda d: d.update(hidden=128), "weights do not match the CNN architecture"),
    (lambda d: d.update(model_type="capsnet"), "its config has an unknown field"),
], ids=["unknown kind", "negative width", "capsnet field", "wrong width", "capsnet kind"])
def test_a_broken_cnn_folder_is_refused_in_one_line(tmp_path, cnn, edit, problem):
    folder = tmp_path / "cnn"
    save_pretrained(cnn, folder)
    with pytest.raises(CheckpointError) as error:
        load_model(edited(folder, edit))
    message = str(error.value)
    assert message.startswith(f"{folder}") and problem in message and "\n" not in message


def test_cnn_with_pairs_is_refused_in_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "load_mnist", lambda *a, **k: pytest.fail("MNIST was read"))
    with pytest.raises(SystemExit) as stop:
        train.main(["--model", "cnn", "--pairs", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: argument --pairs: ") and error.count("\n") == 1


def test_training_writes_to_its_own_run_folder_never_over_a_shipped_model():
    assert train.parse_args(["--model", "cnn"]).out == Path("runs/cnn-mnist")
    assert train.parse_args([]).out == Path("runs/capsnet-mnist")
    assert train.parse_args(["--pairs"]).out == Path("runs/capsnet-multimnist")


def run_train(*args):
    return subprocess.run([sys.executable, "train.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_resuming_a_cnn_run_as_a_capsnet_is_refused_in_one_line(tmp_path, mnist_dir):
    tiny = ["--epochs", 1, "--train-limit", 64, "--val-size", 0, "--test-limit", 20, "--device", "cpu",
            "--data-dir", mnist_dir, "--out", tmp_path / "m"]
    assert run_train("--model", "cnn", *tiny).returncode == 0
    result = run_train("--resume", *tiny[:1], 2, *tiny[2:])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    state = tmp_path / "m" / "training-state.pt"
    assert result.stderr == f"error: --resume: {state} is a run of --model cnn; give --model cnn or another --out\n"


SHIPPED_CNN = REPO / "checkpoints" / "cnn-mnist"


def test_shipped_cnn_was_chosen_on_validation_and_recorded_at_least_99_3_percent():
    metrics = json.loads((SHIPPED_CNN / "metrics.json").read_text())
    assert metrics["chosen_by"] == "validation accuracy" and metrics["test_images"] == 10_000
    assert metrics["args"]["model"] == "cnn" and "train.py" in metrics["command"]
    assert metrics["chosen_test_accuracy"] >= 0.993 and read_config(SHIPPED_CNN)["model_type"] == "cnn"


@pytest.mark.slow
def test_shipped_cnn_scores_at_least_99_3_percent_on_the_test_set(mnist_dir):
    model = load_model(SHIPPED_CNN)
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = torch.cat([model(batch).probabilities.argmax(dim=1) for batch in images.split(1000)])
    assert (predictions == labels).float().mean() >= 0.993
