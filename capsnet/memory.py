"""glibc's allocator, tuned by whoever runs the model: training keeps freed memory for the next step
(keep_freed_memory); the demo's server hands it back to the OS (demo/server/memory.py, its own policy)."""

import ctypes

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt parameters, glibc's malloc.h


def glibc() -> ctypes.CDLL | None:
    """The C library where it is glibc (its malloc tuning functions mallopt and malloc_trim); None elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def keep_freed_memory() -> None:
    """Make glibc keep freed memory for reuse: by default each step's blocks over 32 MB are mmap'ed and
    unmapped again, so every step page-faults its memory anew (figures: docs/speed.md). No-op without glibc."""
    libc = glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_MAX, 0)  # never serve a block with its own mmap
        libc.mallopt(M_TRIM_THRESHOLD, 2**30)  # keep up to 1 GiB of free heap
