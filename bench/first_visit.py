"""What a first visit to the demo downloads, in headless Chromium with an empty cache, file by file as sent (brotli
or gzip, as the server sends them to Chromium):

    python -m bench.first_visit [--checkpoint PATH]

Starts `python -m demo` as a user would, opens its page in a fresh browser and counts the bytes of every response
until the page predicts in itself (capsnetLocal.place is "browser"; until then the server reads the drawings), the
target of issue 32 (at most 10 MB), then those that follow until slider moves are decoded in the page too (the
decoder, fetched once the network is in). Gradio's own files (its page, scripts, styles and fonts) are counted
together.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from bench.pagedriver.page import demo_in_chromium
from demo.server.assets import ASSETS_PATH

TARGET_MB = 10
GRADIO = "Gradio's page, scripts, styles and fonts"
PAGE_SCRIPTS = "the page's scripts (network.js, runtime.js, frame.js, ...)"


def label(url: str) -> str:
    """The row a response is counted in: our graphs and runtime by file, the page's scripts and Gradio's together."""
    path = urlparse(url).path
    if not path.startswith(f"{ASSETS_PATH}/"):
        return GRADIO
    name = path.rsplit("/", 1)[1]
    return PAGE_SCRIPTS if name.endswith(".js") else name


class Downloads:
    """The bytes each finished response brought (its body as sent, and its headers), by label."""

    def __init__(self, context):
        self.sent: Counter[str] = Counter()
        context.on("requestfinished", self.count)

    def count(self, request) -> None:
        sizes = request.sizes()
        self.sent[label(request.url)] += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    def snapshot(self) -> Counter[str]:
        return Counter(self.sent)


def print_rows(title: str, sent: Counter[str]) -> None:
    print(title)
    for name, size in sent.most_common():
        print(f"  {size / 1e6:6.2f} MB  {name}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped checkpoint")
    args = p.parse_args()
    with demo_in_chromium(args.checkpoint) as (url, browser):
        context = browser.new_context()  # an empty cache
        downloads = Downloads(context)
        tab = context.new_page()
        tab.goto(url)
        tab.wait_for_function("() => window.capsnetLocal && capsnetLocal.place !== 'loading'", timeout=120_000)
        if tab.evaluate("capsnetLocal.place") != "browser":
            sys.exit(f"error: the network did not start in the page: {tab.evaluate('capsnetLocal.reason')}")
        predicting = downloads.snapshot()
        tab.wait_for_function("() => document.querySelector('#reconstruction [data-decoder]')?.dataset.decoder"
                              " === 'browser'", timeout=120_000)
        tab.wait_for_timeout(500)  # the last responses' events
        decoding = downloads.snapshot()
    total = sum(predicting.values()) / 1e6
    print_rows("until the page predicts in itself:", predicting)
    print(f"  {total:6.2f} MB  in all (target: at most {TARGET_MB} MB: {'met' if total <= TARGET_MB else 'NOT met'})")
    print_rows("then, until slider moves are decoded in the page:", decoding - predicting)
    print(f"  {sum(decoding.values()) / 1e6:6.2f} MB  the first visit in all")


if __name__ == "__main__":
    main()
