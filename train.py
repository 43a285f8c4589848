"""Train a CapsNet on MNIST, or evaluate a checkpoint.

    python train.py                         # the paper's setup, saves checkpoints/capsnet-mnist.pt
    python train.py --resume                # go on from checkpoints/capsnet-mnist.last.pt
    python train.py --eval --checkpoint checkpoints/capsnet-mnist.pt

Each epoch ends with a test-set evaluation; the best model goes to --out, a
resumable state (model, optimiser, scheduler, epoch, RNG) to <out>.last.pt and
the metrics to <out>.metrics.json. A kill loses at most the running epoch.
"""

import argparse
import json
import math
import platform
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from tqdm import tqdm

from capsnet import CapsNet, CapsNetConfig, CheckpointError, capsule_loss, load_model, save_checkpoint
from capsnet.checkpoints import atomic_save, safe_load
from capsnet.data import DataError, load_mnist, random_shift
from capsnet.device import DeviceError, autocast, keep_freed_memory, pick_device, pick_precision

SHARED_MNIST = Path(__file__).resolve().parent.parent / "shared" / "mnist"
DEFAULT_DATA_DIR = SHARED_MNIST if SHARED_MNIST.is_dir() else Path("data")


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what to try."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=50, help="epochs to train in all (default: 50)")
    p.add_argument("--batch-size", type=int, default=128, help="images per step (default: 128)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 1e-3, as the paper's code)")
    p.add_argument("--lr-decay", type=float, default=0.9, help="learning rate factor after each epoch (default: 0.9)")
    p.add_argument("--routing-iterations", type=int, default=3, help="routing iterations r (default: 3)")
    p.add_argument("--reconstruction-weight", type=float, default=0.0005, help="weight of the reconstruction loss (default: 0.0005)")
    p.add_argument("--max-shift", type=int, default=2, help="random shift of training images, in pixels, zero padded (default: 2)")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                   help="folder with the four MNIST IDX files (.gz or not) or torchvision's layout; "
                        f"downloaded there by torchvision if missing (default: {DEFAULT_DATA_DIR})")
    p.add_argument("--no-download", action="store_true", help="never fetch MNIST; stop if --data-dir lacks it")
    p.add_argument("--out", type=Path, default=Path("checkpoints/capsnet-mnist.pt"),
                   help="best checkpoint; <out>.last.pt and <out>.metrics.json go beside it (default: checkpoints/capsnet-mnist.pt)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <out>.last.pt, with this run's --epochs and --lr-decay")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, mps (default: auto)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="bf16 autocast (squash norms stay fp32) or plain fp32; auto: bf16 where the device "
                        "computes it natively (CUDA, CPUs with AVX-512 BF16 or AMX), else fp32 (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling and shifts (default: 0)")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    p.add_argument("--eval", action="store_true", help="only evaluate --checkpoint on the test set and print the confusion matrix")
    p.add_argument("--checkpoint", type=Path, default=None, help="checkpoint for --eval (default: the shipped one)")
    return p.parse_args(argv)


def sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)


@torch.inference_mode()
def predict(model: CapsNet, images: torch.Tensor, device, precision: str, batch_size: int = 500) -> torch.Tensor:
    model.eval()
    predictions = []
    for start in tqdm(range(0, len(images), batch_size), desc="test", leave=False, unit="batch"):
        with autocast(device, precision):
            lengths = model(images[start : start + batch_size].to(device)).lengths
        predictions.append(lengths.argmax(dim=1).cpu())
    return torch.cat(predictions)


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, classes: int = 10) -> torch.Tensor:
    return torch.bincount(labels * classes + predictions, minlength=classes * classes).view(classes, classes)


def format_confusion(matrix: torch.Tensor) -> str:
    header = "true\\pred " + " ".join(f"{k:>5}" for k in range(len(matrix)))
    rows = [f"{k:>9} " + " ".join(f"{int(n):>5}" for n in row) for k, row in enumerate(matrix)]
    return "\n".join([header, *rows])


def train_epoch(model, optimizer, images, labels, args, device, generator, desc) -> dict:
    model.train()
    order = torch.randperm(len(images), generator=generator)
    bar = tqdm(range(0, len(images), args.batch_size), desc=desc, unit="batch", dynamic_ncols=True)
    seen = correct = 0
    total_loss = 0.0
    start = time.perf_counter()
    for first in bar:
        index = order[first : first + args.batch_size]
        x = random_shift(images[index], args.max_shift, generator).to(device)
        y = labels[index].to(device)
        with autocast(device, args.precision):
            out = model(x, y)
            loss = capsule_loss(out.lengths, y, out.reconstruction, x, args.reconstruction_weight)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise TrainingError(f"the loss became {loss_value} at step {first // args.batch_size} of {desc}; "
                                "try a lower --lr or --precision fp32")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(index)
        total_loss += loss_value * len(index)
        correct += (out.lengths.argmax(dim=1) == y).sum().item()
        rate = seen / (time.perf_counter() - start)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", img_s=f"{rate:.0f}")
    seconds = time.perf_counter() - start
    return {"train_loss": total_loss / seen, "train_accuracy": correct / seen, "seconds": seconds, "images_per_s": seen / seconds}


def plain(args: dict) -> dict:
    """Arguments as JSON values, so that checkpoints load with weights_only=True."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in args.items()}


def environment(device: torch.device) -> dict:
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }


def load_split(args, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The training or test images and labels, cut to --train-limit / --test-limit."""
    images, labels = load_mnist(args.data_dir, train=train, download=not args.no_download)
    limit = args.train_limit if train else args.test_limit
    return images[:limit], labels[:limit]


def evaluate_checkpoint(args, device) -> None:
    model = load_model(args.checkpoint, device)
    images, labels = load_split(args, train=False)
    predictions = predict(model, images, device, args.precision)
    correct = int((predictions == labels).sum())
    print(f"test accuracy: {correct / len(labels):.4%} ({correct}/{len(labels)} images, {len(labels) - correct} errors)")
    print(format_confusion(confusion_matrix(labels, predictions)))


def train(args, device) -> None:
    last_path, metrics_path = sibling(args.out, ".last.pt"), sibling(args.out, ".metrics.json")
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = CapsNet(CapsNetConfig(routing_iterations=args.routing_iterations)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)  # one kernel for all 8.2M weights
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.lr_decay)
    history, best_accuracy, start_epoch = [], 0.0, 0
    if args.resume:
        state = safe_load(last_path, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scheduler.gamma = args.lr_decay  # a resumed run may anneal faster or slower from here on
        generator.set_state(state["generator"])
        history, best_accuracy, start_epoch = state["history"], state["best_accuracy"], state["epoch"]
        print(f"resuming from {last_path} after epoch {start_epoch} (best test accuracy {best_accuracy:.4%})")

    train_images, train_labels = load_split(args, train=True)
    test_images, test_labels = load_split(args, train=False)
    print(f"{len(train_images)} training and {len(test_images)} test images; device {device}, {args.precision}, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")

    for epoch in range(start_epoch, args.epochs):
        stats = train_epoch(model, optimizer, train_images, train_labels, args, device, generator,
                            desc=f"epoch {epoch + 1}/{args.epochs}")
        accuracy = (predict(model, test_images, device, args.precision) == test_labels).double().mean().item()
        history.append({"epoch": epoch + 1, "lr": scheduler.get_last_lr()[0], **stats,
                        "test_accuracy": accuracy, "test_error": 1 - accuracy})
        scheduler.step()
        metadata = {**environment(device), "seed": args.seed, "epochs": epoch + 1, "args": plain(vars(args)),
                    "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "history": history}
        if accuracy > best_accuracy:
            best_accuracy = accuracy
            save_checkpoint(model, args.out, metadata | {"test_accuracy": accuracy, "best_epoch": epoch + 1,
                                                         "test_images": len(test_images), "train_images": len(train_images)})
        atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                     "generator": generator.get_state(), "history": history, "best_accuracy": best_accuracy,
                     "epoch": epoch + 1}, last_path)
        metrics_path.write_text(json.dumps(metadata | {"best_test_accuracy": best_accuracy}, indent=2) + "\n")
        print(f"epoch {epoch + 1}: train loss {stats['train_loss']:.4f}, test accuracy {accuracy:.4%} "
              f"(best {best_accuracy:.4%}), {stats['images_per_s']:.0f} images/s", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    keep_freed_memory()
    # A kill (SIGTERM, or SIGINT even where a shell ignores it for background jobs) stops like
    # Ctrl-C; the last finished epoch is already on disk.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        device = pick_device(args.device)
        args.precision = pick_precision(args.precision, device)
        evaluate_checkpoint(args, device) if args.eval else train(args, device)
    except (DataError, CheckpointError, DeviceError, TrainingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; `python train.py --resume` goes on from the last finished epoch", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
