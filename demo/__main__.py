"""python -m demo [--host 127.0.0.1] [--port 7860] [--checkpoint FOLDER] [--pair-checkpoint FOLDER] [--share]"""

import argparse
import sys
from pathlib import Path

import torch

from capsnet import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT, CheckpointError, load_model, model_folder

from .server.memory import return_freed_memory

# One PyTorch thread per request: with more, a crowd's requests spin against each other on few cores; Gradio's
# 40 threads keep canvas drawings going while big images wait their turn (figures: docs/limits.md, "Threads").
TORCH_THREADS = 1
MAX_THREADS = 40


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m demo", description="Serve the CapsNet demo page.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                   help="model folder, or a shipped model's name (default: checkpoints/capsnet-mnist)")
    p.add_argument("--pair-checkpoint", type=Path, default=PAIR_CHECKPOINT,
                   help="model folder trained on pairs, for two digits at once (default: the shipped "
                        "checkpoints/capsnet-multimnist); without it the page reads one digit")
    p.add_argument("--share", action="store_true", help="also publish a temporary public gradio.live link")
    p.add_argument("--torch-threads", type=positive, default=TORCH_THREADS,
                   help=f"PyTorch threads per request (default: {TORCH_THREADS})")
    p.add_argument("--max-threads", type=positive, default=MAX_THREADS,
                   help=f"requests served at once; more wait (default: {MAX_THREADS})")
    return p.parse_args(argv)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv=None) -> None:
    args = parse_args(argv)
    return_freed_memory()
    try:
        model = load_model(args.checkpoint)
    except CheckpointError as error:
        sys.exit(f"error: {error}")
    # Gradio takes seconds to import: only once the model is known to load.
    from .app import ONE, TWO, build
    from .server.launch import launch
    from .compute.readers import load_pair_model, warm_up

    pair_model, why_no_pairs = load_pair_model(args.pair_checkpoint, model)
    if pair_model is None:
        print(f"two digits at once: unavailable ({why_no_pairs})", file=sys.stderr)

    # Gradio imports matplotlib on the first event to switch its backend, keeping the first visitor
    # waiting (docs/limits.md); headless, "agg" is the backend anyway.
    import matplotlib

    matplotlib.use("agg")
    torch.set_num_threads(args.torch_threads)
    for loaded in (model, pair_model):
        if loaded is not None:
            warm_up(loaded)
    folders = {ONE: model_folder(args.checkpoint), TWO: model_folder(args.pair_checkpoint)}
    launch(build(model, pair_model, why_no_pairs, folders), args.host, args.port, args.share,
           max_threads=args.max_threads)


if __name__ == "__main__":
    main()
