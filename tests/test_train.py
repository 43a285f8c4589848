import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train
from capsnet import load_model
from capsnet.data import load_mnist

REPO = Path(__file__).resolve().parent.parent


def run_train(*args, timeout=600):
    return subprocess.run([sys.executable, "train.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_help_documents_every_flag():
    result = run_train("--help")
    assert result.returncode == 0
    for flag in ["--epochs", "--batch-size", "--lr", "--lr-decay", "--routing-iterations", "--reconstruction-weight",
                 "--max-shift", "--data-dir", "--out", "--resume", "--device", "--seed", "--precision",
                 "--train-limit", "--test-limit", "--eval", "--checkpoint", "--no-download"]:
        assert flag in result.stdout


def test_missing_data_is_one_clear_line_not_a_traceback(tmp_path):
    result = run_train("--data-dir", tmp_path / "empty", "--no-download", "--out", tmp_path / "x.pt")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: MNIST not found") and result.stderr.count("\n") == 1


def test_eval_of_missing_checkpoint_is_one_clear_line(tmp_path):
    result = run_train("--eval", "--checkpoint", tmp_path / "none.pt")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "none.pt: no such checkpoint file" in result.stderr


def test_unknown_device_is_one_clear_line(tmp_path):
    result = run_train("--device", "nonsense", "--out", tmp_path / "x.pt")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == "error: --device nonsense: not a device name; use auto, cpu, cuda, cuda:N or mps\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("run") / "tiny.pt"
    result = run_train("--epochs", 1, "--train-limit", 256, "--test-limit", 200, "--data-dir", mnist_dir,
                       "--out", out, "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_one_epoch_run_writes_a_loadable_checkpoint(tiny_run):
    out, _ = tiny_run
    model = load_model(out)
    assert model.metadata["epochs"] == 1 and model.metadata["train_images"] == 256


def test_one_epoch_run_writes_metrics_json(tiny_run):
    out, _ = tiny_run
    metrics = json.loads(out.with_name("tiny.metrics.json").read_text())
    (epoch,) = metrics["history"]
    assert {"train_loss", "test_accuracy", "test_error", "seconds", "images_per_s"} <= epoch.keys()
    assert epoch["test_accuracy"] + epoch["test_error"] == pytest.approx(1)
    assert "train.py" in metrics["command"] and metrics["seed"] == 0 and metrics["torch"] == torch.__version__


def test_resume_continues_from_the_last_epoch(tiny_run, mnist_dir):
    out, _ = tiny_run
    result = run_train("--epochs", 2, "--train-limit", 256, "--test-limit", 200, "--data-dir", mnist_dir,
                       "--out", out, "--device", "cpu", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming from" in result.stdout and "epoch 2:" in result.stdout and "epoch 1:" not in result.stdout
    history = json.loads(out.with_name("tiny.metrics.json").read_text())["history"]
    assert [e["epoch"] for e in history] == [1, 2]
    assert history[1]["lr"] == pytest.approx(history[0]["lr"] * 0.9)


def test_eval_prints_accuracy_and_confusion_matrix(tiny_run, mnist_dir):
    out, _ = tiny_run
    result = run_train("--eval", "--checkpoint", out, "--data-dir", mnist_dir, "--test-limit", 300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("test accuracy:")
    matrix = [list(map(int, line.split()[1:])) for line in lines[2:12]]
    assert sum(map(sum, matrix)) == 300


@pytest.mark.slow
def test_short_training_on_real_mnist_beats_90_percent(tmp_path, mnist_dir):
    out = tmp_path / "short.pt"
    result = run_train("--epochs", 1, "--train-limit", 4000, "--test-limit", 1000, "--batch-size", 32,
                       "--max-shift", 0, "--data-dir", mnist_dir, "--out", out, "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    model = load_model(out)
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = model(images[:1000]).lengths.argmax(dim=1)
    assert (predictions == labels[:1000]).float().mean() > 0.90
