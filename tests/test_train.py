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
from capsnet.checkpoints import DEFAULT_CHECKPOINT, read_config
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
                 "--pairs", "--singles", "--init", "--epoch-size", "--time-limit"]:
        assert flag in result.stdout


BAD_FLAGS = [
    ("--batch-size", "0"), ("--batch-size", "-5"), ("--batch-size", "many"), ("--lr", "-1"), ("--lr", "nan"),
    ("--lr", "inf"), ("--lr-decay", "0"), ("--lr-decay", "1.5"), ("--routing-iterations", "0"), ("--max-shift", "-1"),
    ("--train-limit", "0"), ("--train-limit", "-5"), ("--test-limit", "0"), ("--reconstruction-weight", "-0.1"),
    ("--val-size", "-1"), ("--val-size", "60000"), ("--seed", "-1"), ("--epochs", "-1"), ("--epoch-size", "0"),
    ("--time-limit", "0"), ("--time-limit", "soon"), ("--singles", "1"), ("--singles", "-0.5"),
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
        train.main([flag, value, "--out", str(tmp_path / "x")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: argument {flag}: ") and error.count("\n") == 1
    assert "give" in error  # says what is allowed
    assert not (tmp_path / "x").exists()


def test_singles_without_pairs_is_one_line(tmp_path, capsys, no_data):
    with pytest.raises(SystemExit):
        train.main(["--singles", "0.25", "--out", str(tmp_path / "x")])
    assert capsys.readouterr().err == ("error: argument --singles: mixes single digits into pair training; "
                                       "add --pairs or drop --singles\n")


def test_out_that_is_a_file_is_refused_before_training(tmp_path, capsys, no_data):
    (tmp_path / "old.pt").write_bytes(b"an old checkpoint")
    with pytest.raises(SystemExit):
        train.main(["--out", str(tmp_path / "old.pt")])
    assert capsys.readouterr().err.startswith(f"error: argument --out: {tmp_path / 'old.pt'} is a file; give a folder")


def test_zero_epochs_says_there_is_nothing_to_do(tmp_path, capsys, no_data):
    with pytest.raises(SystemExit) as stop:
        train.main(["--epochs", "0", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2
    assert capsys.readouterr().err == "error: argument --epochs: 0 epochs is nothing to do; give 1 or more\n"


def test_unwritable_out_folder_is_refused_before_training(tmp_path, capsys, no_data):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SystemExit) as stop:
        train.main(["--out", str(tmp_path / "file" / "x")])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: argument --out: cannot write in ") and error.count("\n") == 1


def test_bad_flag_from_the_command_line_has_no_traceback():
    result = run_train("--lr", "nan")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: argument --lr: nan is not allowed; give a number > 0\n"


def test_missing_data_is_one_clear_line_not_a_traceback(tmp_path):
    result = run_train("--data-dir", tmp_path / "empty", "--no-download", "--out", tmp_path / "x")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: MNIST not found") and result.stderr.count("\n") == 1


def test_eval_of_missing_checkpoint_is_one_clear_line(tmp_path):
    result = run_train("--eval", "--checkpoint", tmp_path / "none")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"error: argument --checkpoint: {tmp_path / 'none'}: no such model folder; train one with " \
                            "`python train.py` (see README)\n"


def test_eval_of_an_old_pt_file_points_to_the_converter(tmp_path):
    (tmp_path / "old.pt").write_bytes(b"PK")
    result = run_train("--eval", "--checkpoint", tmp_path / "old.pt")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"convert it: python -m capsnet.convert {tmp_path / 'old.pt'} {tmp_path / 'old'}" in result.stderr


def test_unknown_device_is_one_clear_line(tmp_path):
    result = run_train("--device", "nonsense", "--out", tmp_path / "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == "error: --device nonsense: not a device name; use auto, cpu, cuda, cuda:N or mps\n"


TINY = ["--train-limit", 256, "--val-size", 100, "--test-limit", 200, "--device", "cpu"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_dir):
    out = tmp_path_factory.mktemp("run") / "tiny"
    leftover = out / ".model.safetensors.tmp"  # what a kill during a save leaves behind
    out.mkdir()
    leftover.write_bytes(b"half a model")
    result = run_train("--epochs", 1, *TINY, "--data-dir", mnist_dir, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_one_epoch_run_writes_a_loadable_model_folder_chosen_on_validation(tiny_run):
    out, _ = tiny_run
    assert isinstance(load_model(out), CapsNet) and read_config(out)["task"] == "mnist"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["best_epoch"] == 1
    assert metrics["train_images"] == 256 and metrics["val_images"] == 100 and metrics["test_images"] == 200
    assert metrics["chosen_by"] == "validation accuracy" and 0 <= metrics["history"][0]["val_accuracy"] <= 1


def test_one_epoch_run_writes_a_model_card_with_its_command_and_figures(tiny_run):
    out, _ = tiny_run
    card = (out / "README.md").read_text()
    test_accuracy = json.loads((out / "metrics.json").read_text())["history"][0]["test_accuracy"]
    assert card.startswith("# tiny\n") and f"--out {out}" in card
    assert f"- test, digits read right: {test_accuracy:.2%}" in card


def test_one_epoch_run_writes_metrics_json_with_validation_accuracy(tiny_run):
    out, _ = tiny_run
    metrics = json.loads((out / "metrics.json").read_text())
    (epoch,) = metrics["history"]
    assert {"train_loss", "val_accuracy", "test_accuracy", "test_error", "seconds", "images_per_s"} <= epoch.keys()
    assert epoch["test_accuracy"] + epoch["test_error"] == pytest.approx(1)
    assert "train.py" in metrics["command"] and metrics["seed"] == 0 and metrics["torch"] == torch.__version__


def test_one_epoch_run_draws_the_training_curves(tiny_run):
    out, _ = tiny_run
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_run_removes_what_a_killed_save_left_behind(tiny_run):
    out, _ = tiny_run
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.json", "curves.png", "metrics.json", "model.safetensors", "training-state.pt"]


def test_resume_continues_from_the_last_epoch_exactly_as_an_uninterrupted_run(tiny_run, mnist_dir, tmp_path):
    out, _ = tiny_run
    shutil.copytree(out, tmp_path / "resumed")
    result = run_train("--epochs", 2, *TINY, "--data-dir", mnist_dir, "--out", tmp_path / "resumed", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming from" in result.stdout and "epoch 2:" in result.stdout and "epoch 1:" not in result.stdout
    history = json.loads((tmp_path / "resumed" / "metrics.json").read_text())["history"]
    assert [e["epoch"] for e in history] == [1, 2]
    assert history[1]["lr"] == pytest.approx(history[0]["lr"] * 0.9)

    result = run_train("--epochs", 2, *TINY, "--data-dir", mnist_dir, "--out", tmp_path / "straight")
    assert result.returncode == 0, result.stderr[-2000:]
    resumed, straight = (torch.load(tmp_path / run / "training-state.pt", weights_only=True) for run in ("resumed", "straight"))
    for name, weights in straight["model"].items():
        assert torch.equal(resumed["model"][name], weights), name


def test_resumed_run_records_every_command_that_trained_it(tiny_run, mnist_dir, tmp_path):
    out, _ = tiny_run
    shutil.copytree(out, tmp_path / "resumed")
    result = run_train("--epochs", 2, *TINY, "--data-dir", mnist_dir, "--out", tmp_path / "resumed", "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
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


def test_time_limit_stops_after_the_epoch_that_crosses_it_with_a_loadable_folder(tiny_run, mnist_dir, tmp_path):
    result = run_train("--epochs", 3, *TINY, "--time-limit", 0.001, "--data-dir", mnist_dir, "--out", tmp_path / "t")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "epoch 1:" in result.stdout and "epoch 2:" not in result.stdout
    assert "time limit of 0.001 minutes reached after epoch 1" in result.stdout
    assert isinstance(load_model(tmp_path / "t"), CapsNet)


def test_missing_init_checkpoint_is_one_clear_line(tmp_path):
    result = run_train("--pairs", "--init", tmp_path / "none", "--out", tmp_path / "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "none: no such model folder" in result.stderr
    assert result.stderr.count("\n") == 1


def test_eval_pairs_on_the_cnn_baseline_is_one_clear_line(tmp_path):
    result = run_train("--eval", "--pairs", "--checkpoint", REPO / "checkpoints" / "cnn-mnist", "--test-limit", 10,
                       "--figures-dir", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --pairs: ") and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_short_pair_training_from_the_shipped_model_beats_it_on_held_out_pairs(tmp_path, mnist_dir):
    out = tmp_path / "pairs"
    result = run_train("--pairs", "--singles", 0.25, "--init", DEFAULT_CHECKPOINT, "--epochs", 1, "--epoch-size", 1024,
                       "--batch-size", 32, "--lr", 3e-4, "--val-size", 200, "--test-limit", 100, "--data-dir", mnist_dir,
                       "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["chosen_by"] == "validation pair accuracy" and read_config(out)["task"] == "multimnist"
    assert "val_single_accuracy" in metrics["history"][0]  # a pair model is measured on single digits too

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
    # fp32 on every CPU: bf16 autocast rounds each process's half-batch differently from the whole batch
    one_step = ["--epochs", 1, "--train-limit", 64, "--batch-size", 64, "--val-size", 0, "--max-shift", 0,
                "--test-limit", 20, "--device", "cpu", "--precision", "fp32", "--data-dir", mnist_dir]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    result = run_train(*one_step, "--out", tmp_path / "ddp", launcher=torchrun, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("epoch 1:") == 1  # only process 0 prints
    result = run_train(*one_step, "--out", tmp_path / "one", env=env)
    assert result.returncode == 0, result.stderr[-2000:]

    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["chosen_by"] == "last epoch"
    # the float32 weights of the training state, not the folder's float16 copy
    distributed, single = (torch.load(tmp_path / run / "training-state.pt", weights_only=True)["model"]
                           for run in ("ddp", "one"))
    torch.manual_seed(0)
    initial = CapsNet().state_dict()
    for name, weights in single.items():
        assert (weights - initial[name]).abs().max() > 1e-4, name  # the step moved them (Adam: by about lr = 1e-3)
        # the two sum the same gradients in another order: float32 rounding, far below the step
        torch.testing.assert_close(distributed[name], weights, rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["capsnet", "cnn"])
def test_short_training_on_real_mnist_beats_90_percent(kind, tmp_path, mnist_dir):
    out = tmp_path / "short"
    result = run_train("--model", kind, "--epochs", 1, "--train-limit", 4000, "--val-size", 0, "--test-limit", 1000,
                       "--batch-size", 32, "--max-shift", 0, "--data-dir", mnist_dir, "--out", out, "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    model = load_model(out)
    images, labels = load_mnist(mnist_dir, train=False)
    with torch.inference_mode():
        predictions = class_scores(model(images[:1000])).argmax(dim=1)
    assert (predictions == labels[:1000]).float().mean() > 0.90

