"""What the demo's server costs while nobody uses it: CPU milliseconds per second, Gradio's queue as Gradio sets
it beside demo.server.launch.quiet_queue's, in one run.

    python -m bench.idle_server [--seconds 20]

The page is built as `python -m demo` builds it (both shipped models) and served in this process on a loopback
port; once its warm-up (the ONNX export) is done, the process's CPU time is read over --seconds with no request
at all, first with Gradio's polling (every 1 ms for work, 10 ms for progress), then with quiet_queue's, then
Gradio's again. Not a test: it prints figures. Run it with nothing else busy.
"""

import argparse
import sys
import threading
import time

from capsnet import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT, load_model
from demo.app import ONE, TWO, build
from demo.server.launch import QUEUE_POLL_S, launch, quiet_queue
from demo.compute.readers import load_pair_model

GRADIO_POLL_S = (0.001, 0.01)  # gradio/queueing.py on Linux: sleep_when_free, progress_update_sleep_when_free


def cpu_ms_per_s(seconds: float) -> float:
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return 1000 * (time.process_time() - start_cpu) / (time.monotonic() - start)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20, help="seconds measured per setting (default: 20)")
    args = p.parse_args()
    model = load_model()
    pair_model, _ = load_pair_model(PAIR_CHECKPOINT, model)
    page = build(model, pair_model, folders={ONE: DEFAULT_CHECKPOINT, TWO: PAIR_CHECKPOINT})
    launch(page, port=None, block=False)  # Gradio takes the first free port from 7860
    while any(thread.name == "onnx-export" for thread in threading.enumerate()):
        time.sleep(0.5)
    time.sleep(2)
    print(f"idle server, no page open, {args.seconds:g} s each (CPU ms per second of the whole process):")
    for name in ("gradio", "quiet", "gradio"):
        if name == "gradio":
            page._queue.sleep_when_free, page._queue.progress_update_sleep_when_free = GRADIO_POLL_S
            label = "Gradio's queue polling (1 ms / 10 ms)"
        else:
            quiet_queue(page)
            label = f"quiet_queue ({QUEUE_POLL_S * 1000:g} ms)"
        print(f"  {label:<40} {cpu_ms_per_s(args.seconds):6.1f} ms/s", flush=True)
    page.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
