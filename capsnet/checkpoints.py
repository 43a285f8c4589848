"""Model folders, as the field ships them: read and written without running code, never half-written.

    checkpoints/capsnet-mnist/
        config.json         the architecture ("model_type" and the config dataclass's fields) and the task
        model.safetensors   the weights, stored in float16 and computed in float32
        README.md           the model card: what it reads, how it was trained and chosen, its figures
        metrics.json        every epoch of the run that made it (train.py writes it)

`load_model("capsnet-multimnist")` takes a shipped model's name, `load_model(path)` any such folder;
`save_pretrained(model, folder)` writes the first two files, the layout the Hugging Face Hub reads
(`huggingface_hub.upload_folder` sends one there). A `.pt` file of an older version of this project
becomes a folder with `python -m capsnet.convert OLD.pt FOLDER`.
"""

import dataclasses
import json
import math
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors

from .atomic import atomic_write
from .cnn import CNN, CNNConfig
from .model import CapsNet, CapsNetConfig

MODELS = Path(__file__).resolve().parent.parent / "checkpoints"  # the shipped models, a folder each
DEFAULT_CHECKPOINT = MODELS / "capsnet-mnist"
PAIR_CHECKPOINT = MODELS / "capsnet-multimnist"  # trained on two overlapping digits (MultiMNIST)
CNN_CHECKPOINT = MODELS / "cnn-mnist"  # the CNN baseline (train.py --model cnn)
CONFIG, WEIGHTS, CARD, METRICS = "config.json", "model.safetensors", "README.md", "metrics.json"
POSE_LABELS = "pose-dimensions.json"  # what each pose dimension tracks (bench/pose_dimensions.py)
STORED_DTYPE = torch.float16  # half the bytes of float32; what it moves is measured in each model card
TRAIN_HINT = "train one with `python train.py` (see README)"
# What preprocess makes and the demo shows: the rest of the architecture may vary.
SUPPORTED = {"image_size": (28, "28x28 images"), "num_classes": (10, "10 digit classes")}
KINDS = {"capsnet": (CapsNet, CapsNetConfig), "cnn": (CNN, CNNConfig)}  # config.json's "model_type"
TASKS = ("mnist", "multimnist")  # one digit per image, or two overlapping ones


class CheckpointError(RuntimeError):
    """A model folder is missing, damaged or does not fit the model; the message is one line for the user."""


def model_folder(model: str | Path | None = None) -> Path:
    """The folder of a model: None for the shipped CapsNet, a shipped model's name ("cnn-mnist"), or a path."""
    if model is None:
        return DEFAULT_CHECKPOINT
    path = Path(model)
    if not path.exists() and len(path.parts) == 1 and (MODELS / path).is_dir():
        return MODELS / path
    return path


def save_pretrained(model: CapsNet | CNN, folder: str | Path, task: str = "mnist") -> None:
    """config.json and model.safetensors (float weights in STORED_DTYPE) into folder, each written atomically."""
    kind = next(kind for kind, (cls, _) in KINDS.items() if isinstance(model, cls))
    weights = {name: (t.to(STORED_DTYPE) if t.is_floating_point() else t).detach().cpu().contiguous()
               for name, t in model.state_dict().items()}
    folder = Path(folder)
    with atomic_write(folder / WEIGHTS) as f:
        f.write(save_safetensors(weights))
    config = {"model_type": kind, "task": task, **dataclasses.asdict(model.config)}
    with atomic_write(folder / CONFIG) as f:
        f.write((json.dumps(config, indent=2) + "\n").encode())


def read_config(model: str | Path | None = None) -> dict:
    """config.json of a model folder, with its model_type and task checked."""
    folder = model_folder(model)
    _check_folder(folder)
    try:
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{folder / CONFIG}: not readable as JSON ({first_line(e)}); {TRAIN_HINT}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{folder / CONFIG}: holds a {type(config).__name__}, not a config object; {TRAIN_HINT}")
    if config.get("model_type") not in KINDS:
        raise CheckpointError(f"{folder / CONFIG}: model_type is {_short(config.get('model_type'))}; this project "
                              f"reads {' or '.join(KINDS)}; {TRAIN_HINT}")
    if config.setdefault("task", "mnist") not in TASKS:
        raise CheckpointError(f"{folder / CONFIG}: task is {_short(config['task'])}; expected {' or '.join(TASKS)}")
    return config


def _check_folder(folder: Path) -> None:
    if folder.is_file():
        hint = f"convert it: python -m capsnet.convert {folder} {folder.with_suffix('')}" if folder.suffix == ".pt" \
            else "give a model folder (config.json and model.safetensors)"
        raise CheckpointError(f"{folder}: a file, not a model folder; {hint}")
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such model folder; {TRAIN_HINT}")
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder}: has no {name}; a model folder holds {CONFIG} and {WEIGHTS}; {TRAIN_HINT}")


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors; a pickle, a truncated file or anything else is one line."""
    if zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: a PyTorch pickle, not safetensors; convert an old checkpoint with "
                              "python -m capsnet.convert OLD.pt FOLDER")
    try:
        return load_file(path)  # memory-mapped: read as the weights are copied into the model
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: unreadable or truncated safetensors file ({first_line(e)}); "
                              f"{TRAIN_HINT}") from None


def check_config(config, config_class=CapsNetConfig) -> CapsNetConfig | CNNConfig:
    """The architecture a model stores, checked field by field; ValueError naming the first problem.

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
    # JSON keeps tuples as lists: the dataclass holds them as tuples again
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


def first_line(error: Exception) -> str:
    """An exception's message as one line for the user (its type's name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_weights(weights: dict[str, torch.Tensor]) -> None:
    """Finite tensors only; ValueError naming the first that is not."""
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"weight {name} holds NaN or infinite values")


def load_model(model: str | Path | None = None, device: str | torch.device = "cpu") -> CapsNet | CNN:
    """The model in a folder (model_folder: None, a shipped model's name or a path), in float32 and eval mode
    on device: a CapsNet, or the CNN baseline (capsnet/cnn.py) when config.json's model_type is "cnn".

    The architecture and weights are checked before use (check_config, check_weights):
    a model that loads also runs, in train.py, the demo and the API.
    """
    folder = model_folder(model)
    config = read_config(folder)
    model_class, config_class = KINDS[config["model_type"]]
    weights = read_weights(folder / WEIGHTS)
    architecture = {k: v for k, v in config.items() if k not in ("model_type", "task")}
    try:
        check_weights(weights)
        net = model_class(check_config(architecture, config_class))
    except ValueError as problem:
        raise CheckpointError(f"{folder}: {problem}; {TRAIN_HINT}") from None
    try:
        net.load_state_dict(weights)  # copies into the float32 parameters
    except RuntimeError as e:
        raise CheckpointError(f"{folder}: weights do not match the {model_class.__name__} architecture in its "
                              f"{CONFIG} ({first_line(e)}); {TRAIN_HINT}") from None
    return net.to(device).eval()
