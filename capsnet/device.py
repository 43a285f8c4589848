"""Where and in which precision to run: shared by train.py and the benchmarks."""

import ctypes

import torch

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -3, -4, -8  # mallopt parameters, glibc's malloc.h


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
    """Whether the device has bf16 arithmetic in hardware. Elsewhere autocast emulates it:
    measured on a 2-core AVX2 CPU, a training step took 14x longer than in fp32."""
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


def _glibc():
    """The C library where it is glibc (its malloc tuning functions); None elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def _mallopt(*settings: tuple[int, int]) -> None:
    """glibc's mallopt for each (parameter, value); no-op where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return
    for parameter, value in settings:
        libc.mallopt(parameter, value)


def keep_freed_memory() -> None:
    """Make glibc keep freed memory for reuse instead of handing it back to the OS.

    By default every block over 32 MB (here: activations of a batch-128 step)
    is mmap'ed and unmapped again, so each step page-faults its memory anew;
    measured on a 2-core CPU that made steps 1.5x slower, and up to 5x once the
    heap is fragmented. No-op where the C library is not glibc.
    """
    _mallopt((M_MMAP_MAX, 0),  # never serve a block with its own mmap
             (M_TRIM_THRESHOLD, 2**30))  # keep up to 1 GiB of free heap


def trim_freed_memory() -> None:
    """Hand the heap's free memory back to the OS now (glibc's malloc_trim); no-op elsewhere."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


MMAP_THRESHOLD = 32 * 2**20  # glibc's largest dynamic threshold, kept fixed


def return_freed_memory() -> None:
    """For a long-running server (the demo): make glibc hand big freed blocks back to the OS at once.

    By default glibc raises its mmap threshold to the largest block freed so far (up
    to 32 MB), so after one big image the next ones are served from the heap, which
    keeps them; and each of many threads gets a heap (arena) of its own. Call before
    threads start. Measured (8 drawings of 49 MP at once, one process): the RSS stayed
    +383 MB above where it started by default, +20 MB with these settings.

    The threshold stays above the 21 MB that oneDNN takes for the PrimaryCaps weights
    on every forward pass: with 1 MB it mapped and page-faulted them anew each time,
    and model(x) at batch 1 took twice as long (45.8 vs 22.5 ms, one thread).
    """
    _mallopt((M_ARENA_MAX, 2),
             (M_MMAP_THRESHOLD, MMAP_THRESHOLD))  # fixed: bigger blocks are mmap'ed and unmapped when freed
