"""Train a CapsNet on MNIST, or measure a model folder: the command line over capsnet/training.py.

    python train.py --out runs/mine          # the paper's setup; the model folder runs/mine
    python train.py --out runs/mine --resume # go on from runs/mine/training-state.pt
    python train.py --time-limit 30          # a model in half an hour: stops after the epoch that crosses it
    python train.py --eval --checkpoint checkpoints/capsnet-mnist
    python train.py --pairs --singles 0.25 --init checkpoints/capsnet-mnist   # one or two digits at once
    python train.py --model cnn --epochs 15  # the CNN baseline
    torchrun --nproc_per_node=4 train.py    # DistributedDataParallel, one process per GPU

--val-size training images (fixed by --seed, never trained on) are held out;
each epoch ends with an evaluation on them and on the test set. The epoch with
the best validation accuracy goes to --out (the last epoch with --val-size 0);
the test set is evaluated for the record only. In --out, beside the model
(config.json, model.safetensors, README.md): metrics.json, curves.png and a
resumable training-state.pt. A kill loses at most the running epoch.

--pairs trains on MultiMNIST pairs made on the fly (capsnet/multimnist.py):
both digits are targets of the margin loss and each is reconstructed from its
own capsule; accuracy is then the paper's measure, both digits among the two
longest capsules, on one fixed pair per validation or test image.

--model cnn trains the conventional CNN baseline (capsnet/cnn.py) on the same
data, shifts and split, with cross-entropy on its logits instead of the capsule loss.
"""

import argparse
import math
import os
import signal
import sys
import tempfile
from pathlib import Path

import torch.distributed as dist

from capsnet.checkpoints import DEFAULT_CHECKPOINT, CheckpointError, model_folder, read_config
from capsnet.data import TRAIN_SIZE, DataError, find_mnist, load_mnist
from capsnet.device import DeviceError, pick_device, pick_precision
from capsnet.evaluate import EvaluationError, evaluate
from capsnet.memory import keep_freed_memory
from capsnet.training import CNNDigits, Digits, Pairs, TrainConfig, TrainingError, train


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line like every other error of train.py; --help has the usage
        self.exit(2, f"error: {message}\n")


def whole_number(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is not allowed; give a whole number >= {minimum}")
        return value

    return parse


def epoch_count(text: str) -> int:
    if text.strip() == "0":
        raise argparse.ArgumentTypeError("0 epochs is nothing to do; give 1 or more")
    return whole_number(1)(text)


def real_number(allowed: str, accept):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and accept(value)):
            raise argparse.ArgumentTypeError(f"{text} is not allowed; give a number {allowed}")
        return value

    return parse


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["capsnet", "cnn"], default="capsnet",
                   help="capsnet, or cnn: the conventional CNN baseline of capsnet/cnn.py (default: capsnet)")
    p.add_argument("--epochs", type=epoch_count, default=50, help="epochs to train in all (default: 50)")
    p.add_argument("--batch-size", type=whole_number(1), default=128,
                   help="images per step, over all processes under torchrun (default: 128)")
    p.add_argument("--lr", type=real_number("> 0", lambda v: v > 0), default=1e-3,
                   help="Adam learning rate (default: 1e-3, as the paper's code)")
    p.add_argument("--lr-decay", type=real_number("in (0, 1]", lambda v: 0 < v <= 1), default=0.9,
                   help="learning rate factor after each epoch (default: 0.9)")
    p.add_argument("--routing-iterations", type=whole_number(1), default=3, help="routing iterations r (default: 3)")
    p.add_argument("--reconstruction-weight", type=real_number(">= 0", lambda v: v >= 0), default=0.0005,
                   help="weight of the reconstruction loss (default: 0.0005)")
    p.add_argument("--max-shift", type=whole_number(0), default=2,
                   help="random shift of training images, in pixels, zero padded (default: 2)")
    p.add_argument("--val-size", type=whole_number(0), default=5000,
                   help="training images held out to choose the best epoch, fixed by --seed; "
                        "0: train on all 60,000 and keep the last epoch (default: 5000)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with the four MNIST IDX files (.gz or not) or torchvision's layout (default: "
                        "$CAPSNET_DATA, else ../shared/mnist, else data/, where torchvision downloads it)")
    p.add_argument("--no-download", action="store_true", help="never fetch MNIST; stop if --data-dir lacks it")
    p.add_argument("--out", type=Path, default=None,
                   help="the model folder: the best epoch's model, its card, metrics.json, curves.png and "
                        "training-state.pt (default: runs/capsnet-mnist, runs/capsnet-multimnist or runs/cnn-mnist)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <out>/training-state.pt, with this run's --epochs and --lr-decay")
    p.add_argument("--time-limit", type=real_number("> 0 (minutes)", lambda v: v > 0), default=None,
                   help="stop after the epoch that ends past this many minutes, keeping the best epoch")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps (default: auto)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="bf16 autocast (squash norms stay fp32) or plain fp32; auto: bf16 where the device "
                        "computes it natively (CUDA, CPUs with AVX-512 BF16 or AMX), else fp32 (default: auto)")
    p.add_argument("--seed", type=whole_number(0), default=0,
                   help="seed for weights, validation split, shuffling and shifts (default: 0)")
    p.add_argument("--train-limit", type=whole_number(1), default=None,
                   help="train on only the first N training images left after the validation split")
    p.add_argument("--test-limit", type=whole_number(1), default=None, help="use only the first N test images")
    p.add_argument("--epoch-size", type=whole_number(1), default=None,
                   help="images (or pairs) per epoch, drawn anew each epoch (default: every training image once)")
    p.add_argument("--pairs", action="store_true",
                   help="train on two overlapping digits (MultiMNIST, made on the fly) instead of one; with --eval, "
                        "also measure a CapsNet trained on single digits on the test pairs")
    p.add_argument("--singles", type=real_number("in [0, 1)", lambda v: 0 <= v < 1), default=0.0,
                   help="with --pairs: this share of each batch is a single digit, so that one model reads one "
                        "digit or two (default: 0)")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this model folder's weights and architecture (e.g. checkpoints/capsnet-mnist)")
    p.add_argument("--eval", action="store_true",
                   help="only evaluate --checkpoint on the test set: accuracy, confusion matrix, and figures "
                        "(confusion matrix, misclassified digits, training curves) written as PNG files")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                   help="model folder (or a shipped model's name) for --eval (default: checkpoints/capsnet-mnist)")
    p.add_argument("--figures-dir", type=Path, default=None, help="folder for --eval's figures (default: the model folder)")
    args = p.parse_args(argv)
    check_args(p, args)
    return args


def check_args(parser: Parser, args: argparse.Namespace) -> None:
    """What argparse's types cannot see alone: checked before any data is read or any step is trained."""
    if args.eval:
        if int(os.environ.get("WORLD_SIZE", 1)) > 1:
            parser.error("--eval runs in one process: use `python train.py --eval`, not torchrun")
        try:
            read_config(args.checkpoint)  # a missing folder or an old .pt file: one line before any work
        except CheckpointError as e:
            parser.error(f"argument --checkpoint: {e}")
        args.figures_dir = args.figures_dir or model_folder(args.checkpoint)
        check_writable(parser, "--figures-dir", args.figures_dir)
        return
    if args.model == "cnn" and args.pairs:
        parser.error("argument --pairs: the CNN baseline is trained on single digits only; drop --pairs or --model cnn")
    if args.singles and not args.pairs:
        parser.error("argument --singles: mixes single digits into pair training; add --pairs or drop --singles")
    args.out = args.out or Path("runs") / f"{args.model}-{'multimnist' if args.pairs else 'mnist'}"
    if args.val_size >= TRAIN_SIZE:
        parser.error(f"argument --val-size: {args.val_size} leaves nothing to train on; give 0 to {TRAIN_SIZE - 1}")
    if args.out.is_file():
        parser.error(f"argument --out: {args.out} is a file; give a folder for the model, such as runs/mine")
    check_writable(parser, "--out", args.out)


def check_writable(parser: Parser, flag: str, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        parser.error(f"argument {flag}: cannot write in {folder} ({e.strerror or e}); choose a folder you can write to")


def task_of(args: argparse.Namespace) -> Digits:
    """The objective the flags name: single digits, pairs (with --singles of them single), or the CNN."""
    if args.model == "cnn":
        return CNNDigits(args.max_shift)
    if args.pairs:
        return Pairs(args.max_shift, args.reconstruction_weight, args.routing_iterations, args.singles)
    return Digits(args.max_shift, args.reconstruction_weight, args.routing_iterations)


def config_of(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        out=args.out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay,
        val_size=args.val_size, seed=args.seed, train_limit=args.train_limit, test_limit=args.test_limit,
        epoch_size=args.epoch_size, time_limit=args.time_limit, init=args.init, resume=args.resume,
        precision=args.precision, data_dir=args.data_dir, download=not args.no_download,
        commands=[" ".join([Path(sys.executable).name, *sys.argv])])


def run_eval(args: argparse.Namespace, device) -> None:
    images, labels = load_mnist(args.data_dir, train=False, download=not args.no_download)
    written = evaluate(args.checkpoint, images[: args.test_limit], labels[: args.test_limit], args.figures_dir,
                       device, args.precision, args.pairs)
    print("figures: " + ", ".join(map(str, written)))


def main(argv=None) -> int:
    args = parse_args(argv)
    keep_freed_memory()
    # A kill (SIGTERM, or SIGINT even where a shell ignores it for background jobs) stops like
    # Ctrl-C; the last finished epoch is already on disk.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        args.data_dir = find_mnist(args.data_dir)
        device = pick_device(args.device)
        args.precision = pick_precision(args.precision, device)
        run_eval(args, device) if args.eval else train(config_of(args), task_of(args), device)
    except (DataError, CheckpointError, DeviceError, TrainingError, EvaluationError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; `python train.py --resume` goes on from the last finished epoch", file=sys.stderr)
        return 130
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
