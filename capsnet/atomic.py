"""Files that are either the old version or the new one, never half of either: write a temporary file, then rename."""

import os
from contextlib import contextmanager
from pathlib import Path


def partial_path(path: Path) -> Path:
    """Where the next version of path is written before the rename. One fixed name per file, so that a
    write killed halfway leaves at most one such file, which the next write of that file replaces."""
    return path.with_name(f".{path.name}.tmp")


@contextmanager
def atomic_write(path: str | Path):
    """Opens a binary file that replaces path (folders created) only when the with-block ends without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_partial_writes(*paths: str | Path) -> None:
    """Deletes what writes of these paths left behind when a kill stopped them before their cleanup could run."""
    for path in paths:
        partial_path(Path(path)).unlink(missing_ok=True)
