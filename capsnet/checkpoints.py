"""Checkpoint files: weights + architecture + training metadata, written atomically, read without running code."""

import dataclasses
import math
import pickle
import zipfile
from pathlib import Path

import torch

from .atomic import atomic_write
from .cnn import CNN, CNNConfig
from .model import CapsNet, CapsNetConfig

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "capsnet-mnist.pt"
PAIR_CHECKPOINT = DEFAULT_CHECKPOINT.parent / "capsnet-multimnist.pt"  # trained on two overlapping digits (MultiMNIST)
FORMAT = "capsnet-checkpoint-v1"
TRAIN_HINT = "train one with `python train.py` (see README)"
# What preprocess makes and the demo shows: the rest of the architecture may vary.
SUPPORTED = {"image_size": (28, "28x28 images"), "num_classes": (10, "10 digit classes")}
# A checkpoint's "kind" says which model it holds; checkpoints without one are CapsNets.
KINDS = {"capsnet": (CapsNet, CapsNetConfig), "cnn": (CNN, CNNConfig)}


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, damaged or does not fit the model; the message is one line for the user."""


def atomic_save(obj, path: str | Path) -> None:
    """torch.save to a temporary file beside path, then rename: a crash never leaves half a file."""
    with atomic_write(path) as f:
        torch.save(obj, f)


def safe_load(path: str | Path, map_location="cpu") -> dict:
    """torch.load with weights_only=True, every failure turned into a one-line CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file; {TRAIN_HINT}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        if not _saved_by_torch(path):  # a text file, an image...: torch.load's unpickler fails on it the same way
            raise CheckpointError(f"{path}: not a PyTorch checkpoint file; {TRAIN_HINT}") from None
        raise CheckpointError(f"{path}: holds Python objects beyond tensors and plain values, which could run code; "
                              f"refusing to load it; {TRAIN_HINT}") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint ({first_line}); {TRAIN_HINT}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: not a checkpoint of this project; {TRAIN_HINT}")
    return obj


def _saved_by_torch(path: Path) -> bool:
    """Whether the file has the form torch.save gives it: a zip archive, or (before PyTorch 1.6) a pickle stream."""
    with path.open("rb") as f:
        if zipfile.is_zipfile(f):
            return True
        f.seek(0)
        return f.read(1) == pickle.PROTO


def save_checkpoint(model: CapsNet | CNN, path: str | Path, metadata: dict) -> None:
    kind = next(kind for kind, (cls, _) in KINDS.items() if isinstance(model, cls))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save({"format": FORMAT, "kind": kind, "config": dataclasses.asdict(model.config), "model": state,
                 "metadata": metadata}, path)


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint's dict, checked for this project's format."""
    ckpt = safe_load(path)
    if ckpt.get("format") != FORMAT or not {"config", "model", "metadata"} <= ckpt.keys():
        raise CheckpointError(f"{path}: not a CapsNet checkpoint of this project (format {ckpt.get('format')!r}); {TRAIN_HINT}")
    return ckpt


def check_config(config, config_class=CapsNetConfig) -> CapsNetConfig | CNNConfig:
    """The architecture a checkpoint stores, checked field by field; ValueError naming the first problem.

    Each field has the type of config_class's default and a positive value (a
    missing field takes the default); image_size and num_classes are the ones
    this project supports.
    """
    if not isinstance(config, dict):
        raise ValueError(f"its config is a {type(config).__name__}, not a dict of architecture fields")
    defaults = {field.name: field.default for field in dataclasses.fields(config_class)}
    for name, value in config.items():
        if name not in defaults:
            raise ValueError(f"its config has an unknown field {str(name)[:40]!r}")
        if not _fits(value, defaults[name]):
            raise ValueError(f"config field {name} is {_short(value)}; expected {_kind(defaults[name])}")
    for name, (supported, meaning) in SUPPORTED.items():
        if config.get(name, supported) != supported:
            raise ValueError(f"config field {name} is {config[name]}; this project reads only {meaning}")
    # JSON-like checkpoints keep tuples as lists: the dataclass holds them as tuples again
    cfg = config_class(**{name: tuple(value) if isinstance(defaults[name], tuple) else value
                          for name, value in (defaults | config).items()})
    if isinstance(cfg, CapsNetConfig) and cfg.primary_grid < 1:
        raise ValueError(f"config fields kernel_size {cfg.kernel_size} and primary_stride {cfg.primary_stride} "
                         f"leave no primary capsules in a {cfg.image_size}x{cfg.image_size} image")
    return cfg


def _fits(value, default) -> bool:
    """A positive value of the default's kind: an int (not a bool), a finite number, or a tuple of as many ints."""
    if isinstance(default, tuple):
        return isinstance(value, (list, tuple)) and len(value) == len(default) and all(_fits(v, 1) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float) if isinstance(default, float) else int):
        return False
    return math.isfinite(value) and value > 0


def _kind(default) -> str:
    if isinstance(default, tuple):
        return f"{len(default)} positive integers"
    return "a positive number" if isinstance(default, float) else "a positive integer"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_weights(weights) -> None:
    """A state dict of finite tensors; ValueError naming the first that is not."""
    if not isinstance(weights, dict):
        raise ValueError(f"its weights are a {type(weights).__name__}, not a dict of tensors")
    for name, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"weight {str(name)[:40]!r} is a {type(tensor).__name__}, not a tensor")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"weight {name} holds NaN or infinite values")


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> CapsNet | CNN:
    """The model in a checkpoint (the shipped CapsNet when path is None), in eval mode on device: a CapsNet,
    or the CNN baseline (capsnet/cnn.py) when the checkpoint's kind is "cnn".

    The architecture and weights are checked before use (check_config, check_weights):
    a checkpoint that loads also runs, in train.py, the demo and the API.
    """
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    ckpt = read_checkpoint(path)
    kind = ckpt.get("kind", "capsnet")
    if kind not in KINDS:
        raise CheckpointError(f"{path}: holds a model of unknown kind {_short(kind)}; this project reads "
                              f"{' or '.join(KINDS)}; {TRAIN_HINT}")
    model_class, config_class = KINDS[kind]
    try:
        config = check_config(ckpt["config"], config_class)
        check_weights(ckpt["model"])
    except ValueError as problem:
        raise CheckpointError(f"{path}: {problem}; {TRAIN_HINT}") from None
    if not isinstance(ckpt["metadata"], dict):
        raise CheckpointError(f"{path}: its metadata is a {type(ckpt['metadata']).__name__}, not a dict; {TRAIN_HINT}")
    try:
        model = model_class(config)
        model.load_state_dict(ckpt["model"])
    except (TypeError, KeyError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not match the {model_class.__name__} architecture ({reason}); "
                              f"{TRAIN_HINT}") from None
    model.metadata = ckpt["metadata"]
    model.checkpoint = path  # the files beside it describe it (metrics, what its pose dimensions track)
    return model.to(device).eval()
