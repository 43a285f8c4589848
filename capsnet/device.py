"""Where and in which precision to run: shared by train.py and the benchmarks."""

import torch


class DeviceError(ValueError):
    """A device name that is malformed or absent on this machine; the message says what to use instead."""


def pick_device(name: str) -> torch.device:
    """auto: CUDA, then MPS, then the CPU; otherwise the named device, checked to exist here."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise DeviceError(f"--device {name}: not a device name; use auto, cpu, cuda, cuda:N or mps") from None
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
        if not available.get(device.type, False):
            raise DeviceError(f"--device {name}: no such device on this machine; use --device auto or cpu")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether the device has bf16 arithmetic in hardware; elsewhere autocast emulates it, many times slower
    than fp32 (docs/speed.md)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":  # torch has no public query for these CPU features
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def pick_precision(name: str, device: torch.device) -> str:
    """auto: bf16 where the device computes it natively, else fp32; bf16 or fp32 as named."""
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return name


def autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

