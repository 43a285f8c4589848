"""Training as a library: one task per objective, one loop, one model folder written as it goes.

    folder = train(TrainConfig(out=Path("runs/mine")), Digits())

A task says what one step sees and how it is scored: `Digits` (a CapsNet on
shifted single digits, the paper's margin and reconstruction loss), `Pairs`
(two overlapping digits, optionally mixed with single ones) and `CNNDigits`
(the CNN baseline, cross-entropy on its logits). The loop holds out a
validation split, keeps the epoch with the best validation accuracy (the
test set is measured for the record only), and writes beside the model:
metrics.json, curves.png, a model card (README.md) and a resumable
training-state.pt. A kill loses at most the running epoch.
"""

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .atomic import atomic_write, remove_partial_writes
from .checkpoints import CARD, CONFIG, METRICS, WEIGHTS, first_line, load_model, save_pretrained
from .cnn import CNN, CNNConfig
from .data import load_mnist, random_shift, split_validation
from .device import autocast
from .evaluate import accuracy, pairs_per_epoch
from .figures import plot_curves
from .loss import capsule_loss
from .model import CapsNet, CapsNetConfig
from .multimnist import TEST_PAIR_SEED, VALIDATION_PAIR_SEED, fixed_pairs, make_pairs, partners, recognised

STATE, CURVES = "training-state.pt", "curves.png"  # beside the model; git ignores both in checkpoints/


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what to try."""


@dataclass
class TrainConfig:
    out: Path  # the model folder
    epochs: int = 50
    batch_size: int = 128  # over all processes under torchrun
    lr: float = 1e-3  # Adam, as the paper's code
    lr_decay: float = 0.9  # learning rate factor after each epoch
    val_size: int = 5000  # training images held out to choose the epoch; 0: keep the last epoch
    seed: int = 0  # weights, validation split, shuffling and shifts
    train_limit: int | None = None
    test_limit: int | None = None
    epoch_size: int | None = None  # images (or pairs) per epoch, drawn anew each epoch; None: every image once
    time_limit: float | None = None  # minutes: stop after the epoch that crosses it
    init: Path | None = None  # start from this model folder's weights and architecture
    resume: bool = False
    precision: str = "fp32"
    data_dir: Path | None = None
    download: bool = True
    commands: list[str] = field(default_factory=list)  # the command lines that trained this run


@dataclass
class Digits:
    """A CapsNet on single digits shifted by up to max_shift px: margin loss plus reconstruction loss."""

    max_shift: int = 2
    reconstruction_weight: float = 0.0005
    routing_iterations: int = 3
    kind = "capsnet"
    name = "mnist"

    def new_model(self) -> CapsNet | CNN:
        return CapsNet(CapsNetConfig(routing_iterations=self.routing_iterations))

    def batch(self, images, labels, index, generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step's inputs, labels and reconstruction targets."""
        x = random_shift(images[index], self.max_shift, generator)
        return x, labels[index], x

    def loss(self, model, x, y, targets) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's loss and class scores; the CapsNet decodes the labelled capsules."""
        out = model(x, y)
        return capsule_loss(out.lengths, y, out.reconstruction, targets, self.reconstruction_weight), out.lengths

    def evaluation_sets(self, images, labels, seed) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """What a validation or test split is measured on: "" names the measure that chooses the epoch."""
        return {"": (images, labels)}


@dataclass
class Pairs(Digits):
    """Two overlapping digits made on the fly (capsnet/multimnist.py); singles: the share of single digits."""

    singles: float = 0.0
    name = "multimnist"

    def batch(self, images, labels, index, generator):
        alone = torch.rand(len(index), generator=generator) < self.singles
        return make_pairs(images, labels, index, partners(labels[index], labels, generator), generator, alone)

    def evaluation_sets(self, images, labels, seed):
        """One fixed pair per image (chooses the epoch), and the single digits themselves."""
        pairs, pair_labels, _ = fixed_pairs(images, labels, seed)
        return {"": (pairs, pair_labels), "single": (images, labels)}


@dataclass
class CNNDigits(Digits):
    """The CNN baseline (capsnet/cnn.py) on the same shifted digits, cross-entropy on its logits."""

    kind = "cnn"

    def new_model(self):
        return CNN(CNNConfig())

    def loss(self, model, x, y, targets):
        logits = model(x).logits
        return F.cross_entropy(logits, y), logits


def epoch_generator(seed: int, epoch: int, *stream: int) -> torch.Generator:
    """The random numbers of one epoch (and one process): a resumed run draws exactly what an uninterrupted
    one would have, without carrying generator states around."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch, *stream]).generate_state(1, np.uint64)[0]))


def train_epoch(model, optimizer, images, labels, task, cfg: TrainConfig, device, epoch, rank, world) -> dict:
    """One pass over this process's shard of the epoch's permutation; the sums are over all processes."""
    model.train()
    order = torch.randperm(len(images), generator=epoch_generator(cfg.seed, epoch))  # the same in every process
    order = order[: cfg.epoch_size]
    shard = order[rank : len(order) - len(order) % world : world]  # equal shares: every process takes as many steps
    shifts = epoch_generator(cfg.seed, epoch, rank)
    batch_size = cfg.batch_size // world
    desc = f"epoch {epoch + 1}/{cfg.epochs}"
    bar = tqdm(range(0, len(shard), batch_size), desc=desc, unit="batch", dynamic_ncols=True, disable=rank != 0)
    seen = correct = 0
    total_loss = 0.0
    start = time.perf_counter()
    for first in bar:
        index = shard[first : first + batch_size]
        x, y, targets = (t.to(device) for t in task.batch(images, labels, index, shifts))
        with autocast(device, cfg.precision):
            loss, scores = task.loss(model, x, y, targets)
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
    """The epoch whose weights the folder keeps: the best (earliest of equals) on the validation images, else the last."""
    if "val_accuracy" not in history[-1]:
        return history[-1]
    return max(history, key=lambda e: e["val_accuracy"])


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


def environment(device: torch.device, world: int) -> dict:
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "processes": world,
    }


def plain(values: dict) -> dict:
    """Settings as JSON values."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def save_state(path: Path, **state) -> None:
    """torch.save to a temporary file beside path, then rename: a crash never leaves half a file."""
    with atomic_write(path) as f:
        torch.save(state, f)


def load_state(path: Path, device) -> dict:
    """A training-state.pt, read with weights_only=True (tensors and plain values, never code)."""
    if not path.is_file():
        raise TrainingError(f"--resume: {path} does not exist; start without --resume")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure of the unpickler is the same one line for the user
        raise TrainingError(f"--resume: {path} is unreadable ({first_line(e)[:120]}); "
                            "start without --resume") from None


def initial_model(cfg: TrainConfig, task: Digits) -> CapsNet | CNN:
    """A fresh model of the task's kind, or --init's weights and architecture."""
    model = load_model(cfg.init) if cfg.init else task.new_model()
    if (task.kind == "cnn") != isinstance(model, CNN):
        raise TrainingError(f"--init {cfg.init} holds a {type(model).__name__}; give --model {type(model).__name__.lower()}")
    return model


def read_splits(cfg: TrainConfig, task: Digits) -> tuple[tuple, dict, dict]:
    """The training images, and what validation and test are measured on (task.evaluation_sets)."""
    images, labels = load_mnist(cfg.data_dir, train=True, download=cfg.download)
    if cfg.val_size >= len(images):
        raise TrainingError(f"--val-size {cfg.val_size} leaves none of the {len(images)} training images to train on")
    (train_images, train_labels), validation = split_validation(images, labels, cfg.val_size, cfg.seed)
    test_images, test_labels = load_mnist(cfg.data_dir, train=False, download=cfg.download)
    test = (test_images[: cfg.test_limit], test_labels[: cfg.test_limit])
    return ((train_images[: cfg.train_limit], train_labels[: cfg.train_limit]),
            task.evaluation_sets(*validation, VALIDATION_PAIR_SEED) if cfg.val_size else {},
            task.evaluation_sets(*test, TEST_PAIR_SEED))


def measure(model, sets: dict, prefix: str, device, precision) -> dict:
    """val_accuracy, val_single_accuracy... for each evaluation set."""
    record = {}
    for name, (images, labels) in sets.items():
        key = f"{prefix}_{name}_accuracy" if name else f"{prefix}_accuracy"
        record[key] = accuracy(model, images, labels, device, precision, f"{prefix} {name}".strip())
    if f"{prefix}_accuracy" in record:
        record[f"{prefix}_error"] = 1 - record[f"{prefix}_accuracy"]
    return record


def train(cfg: TrainConfig, task: Digits, device: torch.device) -> Path:
    """Trains task's model into cfg.out (a model folder) and returns it; see the module's docstring."""
    rank, world, device = start_distributed(device)
    if cfg.batch_size % world:
        raise TrainingError(f"--batch-size {cfg.batch_size} is not a multiple of the {world} processes; "
                            f"give e.g. {cfg.batch_size - cfg.batch_size % world or world}")
    out = cfg.out
    if rank == 0:
        remove_partial_writes(*(out / name for name in (CONFIG, WEIGHTS, CARD, METRICS, CURVES, STATE)))
    torch.manual_seed(cfg.seed)
    model = initial_model(cfg, task).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)  # one kernel for all (CapsNet: 8.2M) weights
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=cfg.lr_decay)
    split = {"seed": cfg.seed, "val_size": cfg.val_size, "train_limit": cfg.train_limit, "pairs": task.name == "multimnist"}
    history, start_epoch, commands = [], 0, []
    if cfg.resume:
        state = load_state(out / STATE, device)
        if state.get("kind", "capsnet") != task.kind:
            raise TrainingError(f"--resume: {out / STATE} is a run of --model {state['kind']}; "
                                f"give --model {state['kind']} or another --out")
        if state.get("split") != split:
            raise TrainingError(f"--resume: {out / STATE} was trained with {state.get('split')}; "
                                "give the same --seed, --val-size, --train-limit and --pairs")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scheduler.gamma = cfg.lr_decay  # a resumed run may anneal faster or slower from here on
        history, start_epoch, commands = state["history"], state["epoch"], state.get("commands", [])
        if rank == 0:
            print(f"resuming from {out / STATE} after epoch {start_epoch}")
    if start_epoch >= cfg.epochs:
        if rank == 0:
            print(f"nothing to do: {out / STATE} has {start_epoch} epochs already; give a larger --epochs")
        return out
    commands = [*commands, *cfg.commands]  # every command that trained this run, so a resumed run can be retraced
    step_model = DistributedDataParallel(model) if world > 1 else model

    (train_images, train_labels), validation, test = read_splits(cfg, task)
    chosen_by = ("validation pair accuracy" if task.name == "multimnist" else "validation accuracy") \
        if cfg.val_size else "last epoch"
    val_images = len(validation[""][0]) if validation else 0
    if rank == 0:
        print(f"{len(train_images)} training, {val_images} validation and {len(test[''][0])} "
              f"test images; device {device} x {world}, {cfg.precision}, "
              f"{sum(p.numel() for p in model.parameters()):,} parameters; checkpoint chosen by: {chosen_by}")

    started = time.monotonic()
    for epoch in range(start_epoch, cfg.epochs):
        stats = train_epoch(step_model, optimizer, train_images, train_labels, task, cfg, device, epoch, rank, world)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        if rank == 0:
            record = {"epoch": epoch + 1, "lr": lr, **stats, **measure(model, validation, "val", device, cfg.precision),
                      **measure(model, test, "test", device, cfg.precision)}
            history.append(record)
            chosen = chosen_epoch(history)
            metrics = {"command": commands[-1] if commands else "", "commands": commands, **environment(device, world),
                       "seed": cfg.seed, "epochs": epoch + 1, "args": plain(asdict(cfg) | asdict(task)),
                       "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": task.kind, "task": task.name,
                       "chosen_by": chosen_by, "train_images": len(train_images),
                       "val_images": val_images, "test_images": len(test[""][0]),
                       "best_epoch": chosen["epoch"], "chosen_test_accuracy": chosen["test_accuracy"], "history": history}
            if chosen is record:
                save_pretrained(model, out, task.name)
            save_state(out / STATE, model=model.state_dict(), optimizer=optimizer.state_dict(),
                       scheduler=scheduler.state_dict(), history=history, epoch=epoch + 1, split=split,
                       commands=commands, kind=task.kind)
            write_text(out / METRICS, json_text(metrics))
            write_text(out / CARD, model_card(metrics, out))
            plot_curves(history, out / CURVES, chosen["epoch"], pairs_per_epoch(metrics))
            print(epoch_summary(record, chosen, stats), flush=True)
        if past_time_limit(cfg, started, world):
            if rank == 0:
                print(f"time limit of {cfg.time_limit:g} minutes reached after epoch {epoch + 1}; "
                      f"`--resume` goes on from there")
            break
        if world > 1:
            dist.barrier()  # the others wait while process 0 evaluates and writes
    return out


def past_time_limit(cfg: TrainConfig, started: float, world: int) -> bool:
    """Whether --time-limit has passed; under torchrun every process takes process 0's word, so all stop together."""
    if cfg.time_limit is None:
        return False
    past = torch.tensor([time.monotonic() - started >= cfg.time_limit * 60], dtype=torch.float64)
    if world > 1:
        dist.broadcast(past, src=0)
    return bool(past.item())


def epoch_summary(record: dict, chosen: dict, stats: dict) -> str:
    parts = [f"epoch {record['epoch']}: train loss {stats['train_loss']:.4f}"]
    if "val_accuracy" in record:
        parts.append(f"validation accuracy {record['val_accuracy']:.4%}")
    if "val_single_accuracy" in record:
        parts.append(f"single digits {record['val_single_accuracy']:.4%}")
    parts.append(f"test accuracy {record['test_accuracy']:.4%}; kept epoch {chosen['epoch']}, "
                 f"{stats['images_per_s']:.0f} images/s")
    return ", ".join(parts)


def json_text(data: dict) -> str:
    return json.dumps(data, indent=2) + "\n"


def write_text(path: Path, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text.encode())


def model_card(metrics: dict, folder: Path) -> str:
    """README.md of a trained folder: what it reads, how it was trained and chosen, its figures."""
    chosen = next(e for e in metrics["history"] if e["epoch"] == metrics["best_epoch"])
    pairs = metrics["task"] == "multimnist"
    reads = ("two overlapping digits (MultiMNIST pairs framed to 28x28)" if pairs
             else "one handwritten digit, 28x28, framed as MNIST")
    if pairs and metrics["args"].get("singles"):
        reads = f"one digit or two overlapping ones ({metrics['args']['singles']:.0%} of its training batches single)"
    measure = "pairs with both digits among the two longest capsules" if pairs else "digits read right"
    figures = [f"- {split}, {measure if name == '' else 'single digits read right'}: {chosen[key]:.2%}"
               for split, prefix in (("validation", "val"), ("test", "test")) for name in ("", "single")
               if (key := f"{prefix}_{name}_accuracy" if name else f"{prefix}_accuracy") in chosen]
    epochs = metrics["epochs"]
    return "\n".join([
        f"# {folder.name}", "",
        f"A {'CNN baseline' if metrics['model'] == 'cnn' else 'CapsNet'} that reads {reads}. "
        "Load it with `capsnet.load_model(\"<this folder>\")`.", "",
        "## Training", "", "```bash", "\n".join(metrics["commands"]) or "(not recorded)", "```", "",
        f"{epochs} epoch{'s' if epochs != 1 else ''} on {metrics['train_images']:,} MNIST training images; epoch "
        f"{metrics['best_epoch']} kept, chosen by {metrics['chosen_by']} "
        f"({metrics['device_name']}, {metrics['device']} x {metrics['processes']}, torch {metrics['torch']}).", "",
        "## Figures at the kept epoch (measured in training, float32 weights)", "", *figures, "",
        "`python train.py --eval --checkpoint <this folder>` measures the stored 16-bit weights.", "",
        "## License", "",
        "Weights: MIT, like the code. Trained on MNIST (Yann LeCun, Corinna Cortes and Christopher J.C. Burges).", "",
    ])
