"""How long the explainer's numbers and views take for one input, on this CPU.

    python -m bench.bench_figures [--repeats 20]

For the example digits in demo/examples (no MNIST needed), times model(x) and
model.trace(x), then the views' numbers as capsnet.explain.Explain computes them
(demo/compute/explainer.py's explained: routing re-run, agreement, the poses to decode),
all four views together as one view event makes them (explain: those numbers, the
decoded poses and the pictures packed), #sweep's numbers (demo/compute/turn_and_stretch.py, with the CNN baseline), and the
labelled Figure 4 rendered to PNG (its download). Prints the median and 95th
percentile of wall time, in ms. The demo's budget is 500 ms median from stroke
end to every view on the page. Then the size of each view in the explain event's
answer (its JSON), and last the views' PNGs written by pictures.png_bytes
against PIL's encoder at the same level, side by side, with the ratio.
"""

import argparse
import dataclasses
import io
import json
import statistics
import time
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image

from capsnet import figures, load_model, read_image
from demo.compute import explainer, pictures, turn_and_stretch
from demo.compute.readers import one_digit

REPO = Path(__file__).resolve().parent.parent

EXAMPLES = REPO / "demo" / "examples"


def timings(fn, inputs: list, repeats: int) -> list[float]:
    fn(inputs[0])  # warm-up: fonts, colormaps, oneDNN kernels
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        fn(inputs[k % len(inputs)])
        times.append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20, help="timed calls per row (default: 20)")
    args = p.parse_args()
    model, baseline = load_model(), turn_and_stretch.load_baseline()
    inputs = []
    for path in sorted(EXAMPLES.glob("*.png")):
        result = one_digit("one", model, []).image(read_image(path)).result  # what the page keeps in the tab's state
        with torch.inference_mode():
            trace = model.trace(result.x)
        inputs.append((result, trace, result.longest))

    def inference(fn):
        def run(item):
            with torch.inference_mode():
                return fn(*item)
        return run

    rows = {
        "model(x)": inference(lambda result, trace, digit: model(result.x)),
        "model.trace(x)": inference(lambda result, trace, digit: model.trace(result.x)),
        "the views' numbers (explained)": inference(
            lambda result, trace, digit: explainer.explained(model, result, digit, model.config.routing_iterations)),
        "all four views (explain)": inference(lambda result, trace, digit: explainer.explain(model, result)),
        "#sweep (sweep_view)": inference(
            lambda result, trace, digit: turn_and_stretch.sweep_view(model, baseline, result, digit)),
        "figure4 -> PNG (the download)": inference(
            lambda result, trace, digit: figures.figure_png(figures.figure4(model, result.poses[digit], digit))),
    }
    print(f"one input, {len(inputs)} example digits in turn, {args.repeats} calls per row, "
          f"{torch.get_num_threads()} torch threads")
    for name, fn in rows.items():
        times = sorted(timings(fn, inputs, args.repeats))
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"  {name:34s} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")
    answer_sizes(model, inputs[0][0])
    compare_png_writers(inputs, model, args.repeats)


def answer_sizes(model, result) -> None:
    """Each view's value in one explain event's answer, as JSON (what Gradio sends, before compression)."""
    with torch.inference_mode():
        views = explainer.explain(model, result)
    print("the explain event's answer, as JSON:")
    for field in dataclasses.fields(views):
        print(f"  #{field.name:33s} {len(json.dumps(getattr(views, field.name))) / 1e3:7.1f} kB")


def pil_png(pixels: np.ndarray) -> bytes:
    """PIL's PNG at the demo's level: the plain version of pictures.png_bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=pictures.PNG_COMPRESSION)
    return buffer.getvalue()


def explain_pictures(model, result) -> list[np.ndarray]:
    """The pixels of every PNG one explain event writes, recorded as explainer.explain hands them to png_bytes."""
    written, write = [], pictures.png_bytes

    def record(pixels: np.ndarray) -> bytes:
        written.append(pixels)
        return write(pixels)

    with mock.patch.object(pictures, "png_bytes", record):
        explainer.explain(model, result)
    return written


def compare_png_writers(inputs: list, model, repeats: int) -> None:
    """The pictures of one explain event, written by PIL and by png_bytes, in turn."""
    written = explain_pictures(model, inputs[0][0])
    print(f"{len(written)} PNGs of one explain event, {repeats} times each way:")
    medians = {}
    for name, write in (("PIL", pil_png), ("pictures.png_bytes", pictures.png_bytes)):
        times = sorted(timings(lambda _: [write(p) for p in written], [None], repeats))
        medians[name] = statistics.median(times)
        print(f"  {name:34s} median {medians[name]:7.2f} ms")
    print(f"  png_bytes takes {medians['pictures.png_bytes'] / medians['PIL']:.2f}x PIL's time")


if __name__ == "__main__":
    main()
