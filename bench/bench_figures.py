"""How long the explainer's numbers and pictures take for one input, on this CPU.

    python bench/bench_figures.py [--repeats 20]

For the example digits in demo/examples (no MNIST needed), times model(x) and
model.trace(x), then each capsnet.figures picture built and rendered to PNG
(figure_png), and routing_picture, the routing view as a bare RGB array.
Prints the median and 95th percentile of wall time, in ms. The demo's budget
is 500 ms median from stroke end to every view on the page.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from capsnet import load_model, preprocess, read_image  # noqa: E402
from capsnet import figures  # noqa: E402

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
    model = load_model()
    inputs = []
    for path in sorted(EXAMPLES.glob("*.png")):
        x = preprocess(read_image(path))
        with torch.inference_mode():
            out, trace = model(x), model.trace(x)
        inputs.append((x, out, trace, int(out.lengths.argmax())))

    def inference(fn):
        def run(item):
            with torch.inference_mode():
                return fn(*item)
        return run

    rows = {
        "model(x)": inference(lambda x, out, trace, digit: model(x)),
        "model.trace(x)": inference(lambda x, out, trace, digit: model.trace(x)),
        "routing_picture (RGB array)": inference(lambda x, out, trace, digit: figures.routing_picture(trace, digit, x[0])),
        "routing_figure -> PNG": inference(
            lambda x, out, trace, digit: figures.figure_png(figures.routing_figure(trace, digit, x[0]))),
        "primary_figure -> PNG": inference(
            lambda x, out, trace, digit: figures.figure_png(figures.primary_figure(trace, digit))),
        "all_capsules_figure -> PNG": inference(
            lambda x, out, trace, digit: figures.figure_png(figures.all_capsules_figure(model, out))),
        "figure4 -> PNG": inference(
            lambda x, out, trace, digit: figures.figure_png(figures.figure4(model, out.poses[0, digit], digit))),
    }
    print(f"one input, {len(inputs)} example digits in turn, {args.repeats} calls per row, "
          f"{torch.get_num_threads()} torch threads")
    for name, fn in rows.items():
        times = sorted(timings(fn, inputs, args.repeats))
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"  {name:30s} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
