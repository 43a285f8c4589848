import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train
from capsnet import CapsNet, load_model
from capsnet.checkpoints import DEFAULT_CHECKPOINT, safe_load
from capsnet.cnn import class_scores
from capsnet.data import load_mnist

REPO = Path(__file__).resolve().parent.parent


def run_train(*args, timeout=600, launcher=(), env=None):
    return subprocess.run([sys.executable, *launcher, "train.py", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_help_documents_every_flag():
    result = run_train("--help")
    assert result.returncode == 0
    for flag in ["--epochs", "--batch-size", "--lr", "--lr-decay", "--routing-iterations", "--reconstruction-weight",
                 "--max-shift", "--val-size", "--data-dir", "--out", "--resume", "--device", "--seed", "--precision",
                 "--train-limit", "--test-limit", "--eval", "--checkpoint", "--figures-dir", "--no-download",
                 "--pairs", "--init", "--epoch-size"]:
        assert flag in result.stdout


BAD_FLAGS = [
    ("--batch-size", "0"), ("--batch-size", "-5"), ("--batch-size", "many"), ("--lr", "-1"), ("--lr", "nan"),
    ("--lr", "inf"), ("--lr-decay", "0"), ("--lr-decay", "1.5"), ("--routing-iterations", "0"), ("--max-shift", "-1"),
    ("--train-limit", "0"), ("--train-limit", "-5"), ("--test-limit", "0"), ("--reconstruction-weight", "-0.1"),
    ("--val-size", "-1"), ("--val-size", "60000"), ("--seed", "-1"), ("--epochs", "-1"), ("--epoch-size", "0"),
]


@pytest.fixture
def no_data(monkeypatch):
    """Fails any test that gets as far as reading MNIST."""
    def refuse(*args, **kwargs):
        raise AssertionError("MNIST was read before the flags were checked")
    monkeypatch.setattr(train, "load_mnist", refuse)


@pytest.mark.parametrize("flag, value", BAD_FLAGS)
def test_bad_flag_value_is_one_line_naming_the_flag_before_any_work(flag, value, tmp_path, capsys, no_data):
    with pytest.raises(SystemExit) as stop:
        train.main([flag, value, "--out", str(tmp_path / "x.pt")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: argument {flag}: ") and error.count("\n") == 1
    assert "give" in error  # says what is allowed
    assert not (tmp_path / "x.pt").exists()


def test_zero_epochs_says_there_is_nothing_to_do(tmp_path, capsys, no_data):
    with pytest.raises(SystemExit) as stop:
        train.main(["--epochs", "0", "--out", str(tmp_path / "x.pt")])
    assert stop.value.code == 2
    assert capsys.readouterr().err == "error: argument --epochs: 0 epochs is nothing to do; give 1 or more\n"


def test_unwritable_out_folder_is_refused_before_training(tmp_path, capsys, no_data):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SystemExit) as stop:
        train.main(["--out", str(tmp_path / "file" / "x.pt")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: argument --out: cannot write in ") and error.count("\n") == 1


def test_bad_flag_from_the_command_line_has_no_traceback():
    result = run_train("--lr", "nan")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: argument --lr: nan is not allowed; give a number > 0\n"


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


TINY = ["--train-limit", 256, "--val-size", 100, "--test-limit", 200, "--device", "cpu"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("run") / "tiny.pt"
    leftover = out.with_name(".tiny.pt.tmp")  # what a kill during a save leaves behind
    leftover.write_bytes(b"half a checkpoint")
    result = run_train("--epochs", 1, *TINY, "--data-dir", mnist_dir, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_one_epoch_run_writes_a_loadable_checkpoint_chosen_on_validation(tiny_run):
    out, _ = tiny_run
    metadata = load_model(out).metadata
    assert metadata["epochs"] == 1 and metadata["best_epoch"] == 1
    assert metadata["train_images"] == 256 and metadata["val_images"] == 100 and metadata["test_images"] == 200
    assert metadata["chosen_by"] == "validation accuracy" and 0 <= metadata["val_accuracy"] <= 1


def test_one_epoch_run_writes_metrics_json_with_validation_accuracy(tiny_run):
    out, _ = tiny_run
    metrics = json.loads(out.with_name("tiny.metrics.json").read_text())
    (epoch,) = metrics["history"]
    assert {"train_loss", "val_accuracy", "test_accuracy", "test_error", "seconds", "images_per_s"} <= epoch.keys()
    assert epoch["test_accuracy"] + epoch["test_error"] == pytest.approx(1)
    assert "train.py" in metrics["command"] and metrics["seed"] == 0 and metrics["torch"] == torch.__version__


def test_one_epoch_run_draws_the_training_curves(tiny_run):
    out, _ = tiny_run
    assert out.with_name("tiny.curves.png").read_bytes().startswith(b"\x89PNG")


def test_run_removes_what_a_killed_save_left_behind(tiny_run):
    out, _ = tiny_run
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "tiny.curves.png", "tiny.last.pt", "tiny.metrics.json", "tiny.pt"]


def test_resume_continues_from_the_last_epoch_exactly_as_an_uninterrupted_run(tiny_run, mnist_dir, tmp_path):
    out, _ = tiny_run
    shutil.copy(out.with_name("tiny.last.pt"), tmp_path / "resumed.last.pt")
    result = run_train("--epochs", 2, *TINY, "--data-dir", mnist_dir, "--out", tmp_path / "resumed.pt", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming from" in result.stdout and "epoch 2:" in result.stdout and "epoch 1:" not in result.stdout
    history = json.loads((tmp_path / "resumed.metrics.json").read_text())["history"]
    assert [e["epoch"] for e in history] == [1, 2]
    assert history[1]["lr"] == pytest.approx(history[0]["lr"] * 0.9)

    result = run_train("--epochs", 2, *TINY, "--data-dir", mnist_dir, "--out", tmp_path / "straight.pt")
    assert result.returncode == 0, result.stderr[-2000:]
    resumed, straight = safe_load(tmp_path / "resumed.last.pt"), safe_load(tmp_path / "straight.last.pt")
    for name, weights in straight["model"].items():
        assert torch.equal(resumed["model"][name], weights), name


def test_resumed_run_records_every_command_that_trained_it(tiny_run, mnist_dir, tmp_path):
    out, _ = tiny_run
    shutil.copy(out.with_name("tiny.last.pt"), tmp_path / "resumed.last.pt")
    result = run_train("--epochs", 2, *TINY, "--data-dir", mnist_dir, "--out", tmp_path / "resumed.pt", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "resumed.metrics.json").read_text())
    first, then = metrics["commands"]
    assert "--resume" not in first and str(out) in first
    assert then.endswith("--resume") and then == metrics["command"]


def test_resume_with_another_validation_split_is_refused(tiny_run, mnist_dir):
    out, _ = tiny_run
    result = run_train("--epochs", 3, *TINY[:2], "--val-size", 50, *TINY[4:], "--data-dir", mnist_dir,
                       "--out", out, "--resume")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "give the same --seed, --val-size, --train-limit and --pairs" in result.stderr


def test_eval_prints_accuracy_and_confusion_matrix_and_writes_figures(tiny_run, mnist_dir, tmp_path):
    out, _ = tiny_run
    result = run_train("--eval", "--checkpoint", out, "--data-dir", mnist_dir, "--test-limit", 300,
                       "--figures-dir", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("test accuracy:")
    matrix = [list(map(int, line.split()[1:])) for line in lines[2:12]]
    assert sum(map(sum, matrix)) == 300
    figures = [tmp_path / f"tiny.{name}.png" for name in ("confusion", "misclassified", "curves")]
    assert lines[12] == "figures: " + ", ".join(map(str, figures))
    assert all(f.read_bytes().startswith(b"\x89PNG") for f in figures)


def test_missing_init_checkpoint_is_one_clear_line(tmp_path):
    result = run_train("--pairs", "--init", tmp_path / "none.pt", "--out", tmp_path / "x.pt")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "none.pt: no such checkpoint file" in result.stderr
    assert result.stderr.count("\n") == 1


def test_eval_pairs_on_the_cnn_baseline_is_one_clear_line(tmp_path):
    result = run_train("--eval", "--pairs", "--checkpoint", REPO / "checkpoints" / "cnn-mnist.pt", "--test-limit", 10,
                       "--figures-dir", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --pairs: ") and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_short_pair_training_from_the_shipped_model_beats_it_on_held_out_pairs(tmp_path, mnist_dir):
    out = tmp_path / "pairs.pt"
    result = run_train("--pairs", "--init", DEFAULT_CHECKPOINT, "--epochs", 1, "--epoch-size", 1024, "--batch-size", 32,
                       "--lr", 3e-4, "--val-size", 200, "--test-limit", 100, "--data-dir", mnist_dir, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert load_model(out).metadata["chosen_by"] == "validation pair accuracy"

    def both_in_top_two(checkpoint) -> float:
        result = run_train("--eval", "--pairs", "--checkpoint", checkpoint, "--data-dir", mnist_dir, "--test-limit", 500,
                           "--figures-dir", tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        line = next(line for line in result.stdout.splitlines() if line.startswith("test pairs:"))
        return float(line.split(" in ")[1].split("%")[0])

    assert both_in_top_two(out) > both_in_top_two(DEFAULT_CHECKPOINT) + 5  # the same 500 test pairs
    assert (tmp_path / "pairs.pairs.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_two_process_torchrun_step_equals_one_process_step_on_the_same_batch(tmp_path, mnist_dir):
    one_step = ["--epochs", 1, "--train-limit", 64, "--batch-size", 64, "--val-size", 0, "--max-shift", 0,
                "--test-limit", 20, "--device", "cpu", "--data-dir", mnist_dir]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = run_train(*one_step, "--out", tmp_path / "ddp" / "m.pt", launcher=torchrun, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["m.curves.png", "m.last.pt", "m.metrics.json", "m.pt"]
    assert result.stdout.count("epoch 1:") == 1  # only process 0 prints
    result = run_train(*one_step, "--out", tmp_path / "one" / "m.pt", env=env)
    assert result.returncode == 0, result.stderr[-2000:]

    distributed, single = load_model(tmp_path / "ddp" / "m.pt"), load_model(tmp_path / "one" / "m.pt")
    assert distributed.metadata["processes"] == 2 and distributed.metadata["chosen_by"] == "last epoch"
    torch.manual_seed(0)
    initial = CapsNet().state_dict()
    for name, weights in single.state_dict().items():
        assert (weights - initial[name]).abs().max() > 1e-4, name  # the step moved them (Adam: by about lr = 1e-3)
        torch.testing.assert_close(distributed.state_dict()[name], weights, rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["capsnet", "cnn"])
def test_short_training_on_real_mnist_beats_90_percent(kind, tmp_path, mnist_dir):
    out = tmp_path / "short.pt"
    result = run_train("--model", kind, "--epochs", 1, "--train-limit", 4000, "--val-size", 0, "--test-limit", 1000,
                       "--batch-size", 32, "--max-shift", 0, "--data-dir", mnist_dir, "--out", out, "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    model = load_model(out)
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = class_scores(model(images[:1000])).argmax(dim=1)
    assert (predictions == labels[:1000]).float().mean() > 0.90

