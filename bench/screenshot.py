"""Makes docs/demo.png: the real demo in headless Chromium, with a digit drawn by the mouse.

    python bench/screenshot.py [--digit 3] [--out docs/demo.png] [--checkpoint PATH]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.page_driver import REPO, demo_process, draw, free_port, launch_chromium, open_demo, wait_for_prediction  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digit", type=int, default=3, help="digit to draw (default: 3)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "demo.png")
    p.add_argument("--checkpoint", default=None, help="checkpoint for the demo (default: the shipped one)")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    with demo_process(port, args.checkpoint), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_demo(browser, f"http://127.0.0.1:{port}/")
        draw(page, args.digit)
        shown = wait_for_prediction(page)
        page.wait_for_function("() => document.querySelector('#dim-0 input[type=range]').value !== '0'")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"drew a {args.digit}, the demo predicted {shown}; saved {args.out}")


if __name__ == "__main__":
    main()
