"""Turn a `.pt` checkpoint of an older version of this project into a model folder.

    python -m capsnet.convert runs/mine.pt runs/mine

The old file (a weights-only dict: format, kind, config, model, metadata) is
read with torch.load(weights_only=True), so it never runs code. The folder gets
config.json and model.safetensors, metrics.json (the metadata the file kept,
updated from <name>.metrics.json beside it when there is one) and
pose-dimensions.json (from <name>.dims.json). Then `capsnet.load_model(folder)`.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from .atomic import atomic_write
from .checkpoints import (KINDS, METRICS, POSE_LABELS, CheckpointError, check_config, first_line, load_model,
                          save_pretrained)

OLD_FORMAT = "capsnet-checkpoint-v1"


def read_old_checkpoint(path: Path) -> dict:
    try:
        old = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - the unpickler's failures are all "not such a file" to the user
        raise CheckpointError(f"{path}: not a checkpoint of this project ({first_line(e)[:100]})") from None
    if not isinstance(old, dict) or old.get("format") != OLD_FORMAT:
        raise CheckpointError(f"{path}: not a {OLD_FORMAT} checkpoint of this project")
    return old


def convert(path: Path, folder: Path) -> Path:
    """Writes the model folder for the old checkpoint at path, checks that it loads, and returns it."""
    old = read_old_checkpoint(path)
    model_class, config_class = KINDS[old.get("kind", "capsnet")]
    try:
        model = model_class(check_config(old["config"], config_class))
        model.load_state_dict(old["model"])
    except (ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"{path}: its weights do not fit its config ({first_line(e)[:100]})") from None
    metadata = old.get("metadata", {})
    save_pretrained(model, folder, metadata.get("task", "mnist"))
    metrics = path.with_name(path.stem + ".metrics.json")  # the run's own record, where it kept one
    record = metadata | (json.loads(metrics.read_text()) if metrics.is_file() else {})
    with atomic_write(folder / METRICS) as f:
        f.write((json.dumps(record, indent=2) + "\n").encode())
    labels = path.with_name(path.stem + ".dims.json")
    if labels.is_file():
        shutil.copyfile(labels, folder / POSE_LABELS)
    load_model(folder)
    return folder


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m capsnet.convert", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="the old .pt file")
    p.add_argument("folder", type=Path, help="the model folder to write")
    args = p.parse_args(argv)
    try:
        print(f"wrote {convert(args.checkpoint, args.folder)}")
    except (CheckpointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
