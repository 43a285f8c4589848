"""python -m demo [--host 127.0.0.1] [--port 7860] [--checkpoint PATH] [--share]"""

import argparse
import sys
from pathlib import Path

from capsnet import CheckpointError, load_model


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m demo", description="Serve the CapsNet demo page.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="model checkpoint (default: the shipped checkpoints/capsnet-mnist.pt)")
    p.add_argument("--share", action="store_true", help="also publish a temporary public gradio.live link")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        model = load_model(args.checkpoint)
    except CheckpointError as error:
        sys.exit(f"error: {error}")
    # Gradio takes seconds to import: only once the model is known to load.
    from .app import build, launch
    from .handlers import warm_up

    warm_up(model)
    launch(build(model), args.host, args.port, args.share)


if __name__ == "__main__":
    main()
