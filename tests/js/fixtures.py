"""Writes the fixtures the `node --test` suites in tests/js read: what Python computes, for the page's ports.

    python3 -m tests.js.fixtures FOLDER     # tests/run.sh does this, then runs node --test with JS_FIXTURES=FOLDER
"""

import argparse
import json
from pathlib import Path

from . import colour_fixtures, explain_fixtures, explainer_fixtures, frame_fixtures, view_fixtures

FILES = {"frame.json": frame_fixtures.fixtures, "colour.json": colour_fixtures.fixtures,
         "explainer.json": explainer_fixtures.fixtures, "figure4.json": view_fixtures.figure4,
         "sweep.json": view_fixtures.sweep, "dimensions.json": view_fixtures.dimensions,
         "explain.json": explain_fixtures.fixtures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the fixtures go (made if missing)")
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in FILES.items():
        path = folder / name
        path.write_text(json.dumps(make()))
        print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
