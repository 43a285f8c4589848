"""Checkpoint files: weights + architecture + training metadata, written atomically, read without running code."""

import pickle
import zipfile
from pathlib import Path

import torch

from .atomic import atomic_write
from .model import CapsNet, CapsNetConfig

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "capsnet-mnist.pt"
FORMAT = "capsnet-checkpoint-v1"
TRAIN_HINT = "train one with `python train.py` (see README)"


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
        raise CheckpointError(f"{path}: holds Python objects beyond tensors and plain values, which could run code; "
                              f"refusing to load it; {TRAIN_HINT}") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint ({first_line}); {TRAIN_HINT}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: not a checkpoint of this project; {TRAIN_HINT}")
    return obj


def save_checkpoint(model: CapsNet, path: str | Path, metadata: dict) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save({"format": FORMAT, "config": model.config.to_dict(), "model": state, "metadata": metadata}, path)


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint's dict, checked for this project's format."""
    ckpt = safe_load(path)
    if ckpt.get("format") != FORMAT or not {"config", "model", "metadata"} <= ckpt.keys():
        raise CheckpointError(f"{path}: not a CapsNet checkpoint of this project (format {ckpt.get('format')!r}); {TRAIN_HINT}")
    return ckpt


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> CapsNet:
    """The model in a checkpoint (the shipped one when path is None), in eval mode on device."""
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    ckpt = read_checkpoint(path)
    try:
        model = CapsNet(CapsNetConfig.from_dict(ckpt["config"]))
        model.load_state_dict(ckpt["model"])
    except (TypeError, KeyError, RuntimeError) as e:
        reason = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{path}: weights do not match the CapsNet architecture ({reason}); {TRAIN_HINT}") from None
    model.metadata = ckpt["metadata"]
    return model.to(device).eval()
