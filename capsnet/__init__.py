"""Capsule Networks ("Dynamic Routing Between Capsules", Sabour, Frosst & Hinton, 2017) in PyTorch."""

from .checkpoints import (
    CNN_CHECKPOINT,
    DEFAULT_CHECKPOINT,
    PAIR_CHECKPOINT,
    CheckpointError,
    load_model,
    model_folder,
    read_config,
    save_pretrained,
)
from .cnn import CNN, CNNConfig, CNNOutput
from .loss import capsule_loss, margin_loss, reconstruction_loss
from .model import CapsNet, CapsNetConfig, CapsNetOutput, CapsNetTrace, Decoder, DigitCapsules, PrimaryCapsules
from .preprocessing import ImageError, preprocess, read_image
from .routing import capsule_length, route, routing_steps, squash
from .transforms import clamp_change, sweep, warp

__all__ = [
    "CNN_CHECKPOINT",
    "DEFAULT_CHECKPOINT",
    "PAIR_CHECKPOINT",
    "CapsNet",
    "CapsNetConfig",
    "CapsNetOutput",
    "CapsNetTrace",
    "CheckpointError",
    "CNN",
    "CNNConfig",
    "CNNOutput",
    "Decoder",
    "DigitCapsules",
    "ImageError",
    "PrimaryCapsules",
    "capsule_length",
    "clamp_change",
    "capsule_loss",
    "load_model",
    "margin_loss",
    "model_folder",
    "preprocess",
    "read_image",
    "read_config",
    "reconstruction_loss",
    "route",
    "routing_steps",
    "save_pretrained",
    "squash",
    "sweep",
    "warp",
]
