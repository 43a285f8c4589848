"""Train a CapsNet on MNIST, or evaluate a checkpoint.

    python train.py                         # the paper's setup, saves checkpoints/capsnet-mnist.pt
    python train.py --resume                # go on from checkpoints/capsnet-mnist.last.pt
    python train.py --eval --checkpoint checkpoints/capsnet-mnist.pt
    python train.py --pairs --init checkpoints/capsnet-mnist.pt --out checkpoints/capsnet-multimnist.pt
    python train.py --model cnn --epochs 15  # the CNN baseline, saves checkpoints/cnn-mnist.pt
    torchrun --nproc_per_node=4 train.py    # DistributedDataParallel, one process per GPU

--val-size training images (fixed by --seed, never trained on) are held out;
each epoch ends with an evaluation on them and on the test set. The epoch with
the best validation accuracy goes to --out (the last epoch with --val-size 0);
the test set is evaluated for the record only. Beside --out: a resumable state
(model, optimiser, scheduler, epoch) in <out>.last.pt, the metrics in
<out>.metrics.json and the training curves in <out>.curves.png. A kill loses at
most the running epoch.

--pairs trains on MultiMNIST pairs made on the fly (capsnet/multimnist.py):
both digits are targets of the margin loss and each is reconstructed from its
own capsule; accuracy is then the paper's measure, both digits among the two
longest capsules, on one fixed pair per validation or test image.

--model cnn trains the conventional CNN baseline (capsnet/cnn.py) on the same
data, shifts and split, with cross-entropy on its logits instead of the capsule loss.
"""

import argparse
import json
import math
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from capsnet import CapsNet, CapsNetConfig, CheckpointError, capsule_loss, load_model, save_checkpoint
from capsnet.atomic import atomic_write, remove_partial_writes
from capsnet.checkpoints import DEFAULT_CHECKPOINT, atomic_save, safe_load
from capsnet.cnn import CNN, CNNConfig, class_scores
from capsnet.data import TRAIN_SIZE, DataError, find_mnist, load_mnist, random_shift, split_validation
from capsnet.memory import keep_freed_memory
from capsnet.multimnist import TEST_PAIR_SEED, VALIDATION_PAIR_SEED, fixed_pairs, make_pairs, partners, recognised
from capsnet.device import DeviceError, autocast, pick_device, pick_precision
from capsnet.figures import plot_confusion, plot_curves, plot_misclassified, plot_pairs


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what to try."""


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
                   help="best checkpoint; <out>.last.pt, <out>.metrics.json and <out>.curves.png go beside it "
                        "(default: checkpoints/capsnet-mnist.pt, or checkpoints/cnn-mnist.pt with --model cnn)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <out>.last.pt, with this run's --epochs and --lr-decay")
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
    p.add_argument("--init", type=Path, default=None,
                   help="start from this checkpoint's weights and architecture (e.g. checkpoints/capsnet-mnist.pt)")
    p.add_argument("--eval", action="store_true",
                   help="only evaluate --checkpoint on the test set: accuracy, confusion matrix, and figures "
                        "(confusion matrix, misclassified digits, training curves) written as PNG files")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="checkpoint for --eval (default: the shipped one)")
    p.add_argument("--figures-dir", type=Path, default=None, help="folder for --eval's figures (default: beside --checkpoint)")
    args = p.parse_args(argv)
    check_args(p, args)
    return args


def check_args(parser: Parser, args: argparse.Namespace) -> None:
    """What argparse's types cannot see alone: checked before any data is read or any step is trained."""
    if args.eval:
        if int(os.environ.get("WORLD_SIZE", 1)) > 1:
            parser.error("--eval runs in one process: use `python train.py --eval`, not torchrun")
        args.figures_dir = args.figures_dir or args.checkpoint.parent
        check_writable(parser, "--figures-dir", args.figures_dir)
        return
    if args.model == "cnn" and args.pairs:
        parser.error("argument --pairs: the CNN baseline is trained on single digits only; drop --pairs or --model cnn")
    args.out = args.out or Path(f"checkpoints/{args.model}-mnist.pt")
    if args.val_size >= TRAIN_SIZE:
        parser.error(f"argument --val-size: {args.val_size} leaves nothing to train on; give 0 to {TRAIN_SIZE - 1}")
    if args.out.is_dir():
        parser.error(f"argument --out: {args.out} is a folder; give a file name such as {args.out / 'capsnet-mnist.pt'}")
    check_writable(parser, "--out", args.out.parent)


def check_writable(parser: Parser, flag: str, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        parser.error(f"argument {flag}: cannot write in {folder} ({e.strerror or e}); choose a folder you can write to")


def sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)


def epoch_generator(seed: int, epoch: int, *stream: int) -> torch.Generator:
    """The random numbers of one epoch (and one process): a resumed run draws exactly what an uninterrupted
    one would have, without carrying generator states around."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch, *stream]).generate_state(1, np.uint64)[0]))


def loss_and_scores(model, x, y, targets, args) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch's training loss and class scores: the margin and reconstruction loss of a CapsNet (which
    decodes the labelled capsules), or cross-entropy on the CNN's logits."""
    if args.model == "cnn":
        logits = model(x).logits
        return F.cross_entropy(logits, y), logits
    out = model(x, y)
    return capsule_loss(out.lengths, y, out.reconstruction, targets, args.reconstruction_weight), out.lengths


@torch.inference_mode()
def scores_of(model: CapsNet | CNN, images: torch.Tensor, device, precision: str, batch_size: int = 500, desc="test") -> torch.Tensor:
    """The 10 class scores of each image (class_scores) -> (N, 10)."""
    model.eval()
    scores = []
    for start in tqdm(range(0, len(images), batch_size), desc=desc, leave=False, unit="batch"):
        with autocast(device, precision):
            scores.append(class_scores(model(images[start : start + batch_size].to(device))).float().cpu())
    return torch.cat(scores)


def accuracy(model, images, labels, device, precision, desc) -> float:
    """The share of images whose labelled digits (one, or both of a pair) score highest."""
    return recognised(scores_of(model, images, device, precision, desc=desc), labels).double().mean().item()


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, classes: int = 10) -> torch.Tensor:
    return torch.bincount(labels * classes + predictions, minlength=classes * classes).view(classes, classes)


def format_confusion(matrix: torch.Tensor) -> str:
    header = "true\\pred " + " ".join(f"{k:>5}" for k in range(len(matrix)))
    rows = [f"{k:>9} " + " ".join(f"{int(n):>5}" for n in row) for k, row in enumerate(matrix)]
    return "\n".join([header, *rows])


def training_batch(images, labels, index, args, generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step's inputs, labels and reconstruction targets: the shifted digits, or pairs of them with each
    digit alone as the target of its own capsule (--pairs)."""
    if args.pairs:
        return make_pairs(images, labels, index, partners(labels[index], labels, generator), generator)
    x = random_shift(images[index], args.max_shift, generator)
    return x, labels[index], x


def train_epoch(model, optimizer, images, labels, args, device, epoch, rank, world) -> dict:
    """One pass over this process's shard of the epoch's permutation; the sums are over all processes."""
    model.train()
    order = torch.randperm(len(images), generator=epoch_generator(args.seed, epoch))  # the same in every process
    order = order[: args.epoch_size]
    shard = order[rank : len(order) - len(order) % world : world]  # equal shares: every process takes as many steps
    shifts = epoch_generator(args.seed, epoch, rank)
    batch_size = args.batch_size // world
    desc = f"epoch {epoch + 1}/{args.epochs}"
    bar = tqdm(range(0, len(shard), batch_size), desc=desc, unit="batch", dynamic_ncols=True, disable=rank != 0)
    seen = correct = 0
    total_loss = 0.0
    start = time.perf_counter()
    for first in bar:
        index = shard[first : first + batch_size]
        x, y, targets = (t.to(device) for t in training_batch(images, labels, index, args, shifts))
        with autocast(device, args.precision):
            loss, scores = loss_and_scores(model, x, y, targets, args)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise TrainingError(f"the loss became {loss_value} at step {first // batch_size} of {desc}; "
                                "try a lower --lr or --precision fp32")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # under DistributedDataParallel this also averages the gradients over the processes
        optimizer.step()
        seen += len(index)
        total_loss += loss_value * len(index)
        correct += recognised(scores.detach(), y).sum().item()
        rate = world * seen / (time.perf_counter() - start)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", img_s=f"{rate:.0f}",
                        refresh=False)  # the bar redraws every mininterval; a redraw per step would show a stale count
    seconds = time.perf_counter() - start
    totals = torch.tensor([seen, total_loss, correct], dtype=torch.float64)
    if world > 1:
        dist.all_reduce(totals)
    seen, total_loss, correct = totals.tolist()
    return {"train_loss": total_loss / seen, "train_accuracy": correct / seen, "seconds": seconds, "images_per_s": seen / seconds}


def chosen_epoch(history: list[dict]) -> dict:
    """The epoch whose weights --out keeps: the best (earliest of equals) on the validation images, else the last."""
    if "val_accuracy" not in history[-1]:
        return history[-1]
    return max(history, key=lambda e: e["val_accuracy"])


def pairs_per_epoch(metadata: dict) -> int | None:
    """How many pairs a MultiMNIST run trains per epoch (its curves are drawn against pairs trained); None otherwise."""
    if metadata.get("task") != "multimnist":
        return None
    return min(metadata["args"]["epoch_size"] or metadata["train_images"], metadata["train_images"])


def plain(args: dict) -> dict:
    """Arguments as JSON values, so that checkpoints load with weights_only=True."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in args.items()}


def invocation() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])


def environment(device: torch.device, world: int) -> dict:
    return {
        "command": invocation(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "processes": world,
    }


def load_test_set(args) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_mnist(args.data_dir, train=False, download=not args.no_download)
    return images[: args.test_limit], labels[: args.test_limit]


def as_pairs(images: torch.Tensor, labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One fixed pair per image (validation or test), without the reconstruction targets."""
    pairs, pair_labels, _ = fixed_pairs(images, labels, seed)
    return pairs, pair_labels


def write_json(data: dict, path: Path) -> None:
    with atomic_write(path) as f:
        f.write((json.dumps(data, indent=2) + "\n").encode())


def evaluate_checkpoint(args, device) -> None:
    model = load_model(args.checkpoint, device)
    if args.pairs and not isinstance(model, CapsNet):
        raise TrainingError(f"--pairs: {args.checkpoint} holds the CNN baseline, which has no capsules to name two "
                            "digits; give a CapsNet checkpoint or drop --pairs")
    images, labels = load_test_set(args)
    predictions = scores_of(model, images, device, args.precision).argmax(dim=1)
    correct = int((predictions == labels).sum())
    matrix = confusion_matrix(labels, predictions)
    print(f"test accuracy: {correct / len(labels):.4%} ({correct}/{len(labels)} images, {len(labels) - correct} errors)"
          + (" of single digits" if model.metadata.get("task") == "multimnist" else ""))
    print(format_confusion(matrix))
    written = [args.figures_dir / f"{args.checkpoint.stem}.{name}.png" for name in ("confusion", "misclassified")]
    plot_confusion(matrix.numpy(), written[0])
    wrong = predictions != labels
    plot_misclassified(images[wrong], labels[wrong], predictions[wrong], written[1])
    metrics = sibling(args.checkpoint, ".metrics.json")
    if metrics.is_file():  # the training curves of the run that made this checkpoint
        written.append(args.figures_dir / f"{args.checkpoint.stem}.curves.png")
        run = json.loads(metrics.read_text())
        plot_curves(run["history"], written[-1], run.get("best_epoch"), pairs_per_epoch(run))
    if args.pairs or model.metadata.get("task") == "multimnist":
        written.append(evaluate_pairs(model, images, labels, args, device))
    print("figures: " + ", ".join(map(str, written)))


FIGURE5_PAIRS = 16


def evaluate_pairs(model: CapsNet, images, labels, args, device) -> Path:
    """The paper's MultiMNIST measure on one fixed pair per test image, and Figure 5 for the first pairs."""
    pairs, pair_labels = as_pairs(images, labels, TEST_PAIR_SEED)
    lengths = scores_of(model, pairs, device, args.precision, desc="test pairs")
    hits = recognised(lengths, pair_labels)
    print(f"test pairs: both digits among the two longest capsules in {hits.double().mean():.2%} "
          f"({int(hits.sum())}/{len(hits)} pairs)")
    shown, predicted = pairs[:FIGURE5_PAIRS], lengths[:FIGURE5_PAIRS].topk(2, dim=1).indices
    with torch.inference_mode():
        reconstructions = model(shown.to(device), predicted.to(device)).reconstruction.cpu()  # (16, 2, 1, 28, 28)
    path = args.figures_dir / f"{args.checkpoint.stem}.pairs.png"
    plot_pairs(shown, reconstructions, pair_labels[:FIGURE5_PAIRS], predicted, path)
    return path


def new_model(args) -> CapsNet | CNN:
    """A freshly initialised model of --model's kind."""
    if args.model == "cnn":
        return CNN(CNNConfig())
    return CapsNet(CapsNetConfig(routing_iterations=args.routing_iterations))


def start_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """Under torchrun: join the other processes (NCCL on CUDA, Gloo on the CPU), one GPU per process.
    Returns this process's rank, the number of processes and its device."""
    if "WORLD_SIZE" not in os.environ:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def train(args, device) -> None:
    rank, world, device = start_distributed(device)
    if args.batch_size % world:
        raise TrainingError(f"--batch-size {args.batch_size} is not a multiple of the {world} processes; "
                            f"give e.g. {args.batch_size - args.batch_size % world or world}")
    last_path, metrics_path, curves_path = (sibling(args.out, s) for s in (".last.pt", ".metrics.json", ".curves.png"))
    if rank == 0:
        remove_partial_writes(args.out, last_path, metrics_path, curves_path)
    torch.manual_seed(args.seed)
    model = load_model(args.init) if args.init else new_model(args)
    if isinstance(model, CNN) != (args.model == "cnn"):
        raise TrainingError(f"--init {args.init} holds a {type(model).__name__}; give --model {type(model).__name__.lower()}")
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)  # one kernel for all (CapsNet: 8.2M) weights
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.lr_decay)
    split = {"seed": args.seed, "val_size": args.val_size, "train_limit": args.train_limit, "pairs": args.pairs}
    history, start_epoch, commands = [], 0, []
    if args.resume:
        state = safe_load(last_path, map_location=device)
        kind = state.get("kind", "capsnet")  # older states are all CapsNet runs
        if kind != args.model:
            raise TrainingError(f"--resume: {last_path} is a run of --model {kind}; give --model {kind} or another --out")
        if state.get("split") != split:
            was = state.get("split", "no validation split (an older train.py)")
            raise TrainingError(f"--resume: {last_path} was trained with {was}; "
                                "give the same --seed, --val-size, --train-limit and --pairs")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scheduler.gamma = args.lr_decay  # a resumed run may anneal faster or slower from here on
        history, start_epoch = state["history"], state["epoch"]
        commands = state.get("commands", [])  # older states kept none
        if rank == 0:
            print(f"resuming from {last_path} after epoch {start_epoch}")
    if start_epoch >= args.epochs:
        if rank == 0:
            print(f"nothing to do: {last_path} has {start_epoch} epochs already; give a larger --epochs")
        return
    commands = [*commands, invocation()]  # every command that trained this run, so a resumed run can be retraced
    step_model = DistributedDataParallel(model) if world > 1 else model

    images, labels = load_mnist(args.data_dir, train=True, download=not args.no_download)
    if args.val_size >= len(images):
        raise TrainingError(f"--val-size {args.val_size} leaves none of the {len(images)} training images to train on")
    (train_images, train_labels), (val_images, val_labels) = split_validation(images, labels, args.val_size, args.seed)
    train_images, train_labels = train_images[: args.train_limit], train_labels[: args.train_limit]
    test_images, test_labels = load_test_set(args)
    if args.pairs:
        val_images, val_labels = as_pairs(val_images, val_labels, VALIDATION_PAIR_SEED)
        test_images, test_labels = as_pairs(test_images, test_labels, TEST_PAIR_SEED)
    chosen_by = ("validation pair accuracy" if args.pairs else "validation accuracy") if args.val_size else "last epoch"
    if rank == 0:
        print(f"{len(train_images)} training, {len(val_images)} validation and {len(test_images)} test images; "
              f"device {device} x {world}, {args.precision}, {sum(p.numel() for p in model.parameters()):,} parameters; "
              f"checkpoint chosen by: {chosen_by}")

    for epoch in range(start_epoch, args.epochs):
        stats = train_epoch(step_model, optimizer, train_images, train_labels, args, device, epoch, rank, world)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        if rank == 0:
            record = {"epoch": epoch + 1, "lr": lr, **stats}
            if args.val_size:
                val = accuracy(model, val_images, val_labels, device, args.precision, "validation")
                record |= {"val_accuracy": val, "val_error": 1 - val}
            test = accuracy(model, test_images, test_labels, device, args.precision, "test")
            history.append(record | {"test_accuracy": test, "test_error": 1 - test})
            chosen = chosen_epoch(history)
            metadata = {**environment(device, world), "commands": commands, "seed": args.seed, "epochs": epoch + 1,
                        "args": plain(vars(args)), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "task": "multimnist" if args.pairs else "mnist",
                        "chosen_by": chosen_by, "train_images": len(train_images), "val_images": len(val_images),
                        "test_images": len(test_images), "history": history}
            if chosen is history[-1]:
                save_checkpoint(model, args.out, metadata | {"best_epoch": epoch + 1, "test_accuracy": test} |
                                ({"val_accuracy": val} if args.val_size else {}))
            atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                         "history": history, "epoch": epoch + 1, "split": split, "commands": commands,
                         "kind": args.model}, last_path)
            write_json(metadata | {"best_epoch": chosen["epoch"], "chosen_test_accuracy": chosen["test_accuracy"]}, metrics_path)
            plot_curves(history, curves_path, chosen["epoch"], pairs_per_epoch(metadata))
            summary = f"validation accuracy {val:.4%}, " if args.val_size else ""
            print(f"epoch {epoch + 1}: train loss {stats['train_loss']:.4f}, {summary}test accuracy {test:.4%}; "
                  f"kept epoch {chosen['epoch']}, {stats['images_per_s']:.0f} images/s", flush=True)
        if world > 1:
            dist.barrier()  # the others wait while process 0 evaluates and writes


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
        evaluate_checkpoint(args, device) if args.eval else train(args, device)
    except (DataError, CheckpointError, DeviceError, TrainingError) as e:
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
