"""Makes the README's screenshots: the real demo in headless Chromium, a digit drawn by the mouse.

    python -m scripts.screenshot [--digit 3] [--out docs] [--checkpoint PATH]

Saves in --out: demo.png (the page as it opens at 1280x800, with the drawing), the
explainer views routing.png, primary.png, figure4-view.png and all-capsules.png for
the drawing, upload-examples.png after a misclassified example was clicked, and transform.png: the
drawing turned by TURN degrees with the #transform sliders, above the "Turn and stretch" tab's #sweep,
and demo-pairs.png: the first screen in two-digit mode, PAIR's two digits drawn over each other.
"""

import argparse
import io
from pathlib import Path

from PIL import Image

from bench.pagedriver.page import (
    REPO,
    choose_mode,
    demo_process,
    draw,
    draw_pair,
    drag_to,
    free_port,
    launch_chromium,
    open_demo,
    wait_for_prediction,
    wait_for_views,
)

from demo.compute.readers import load_examples
from demo.app import EXAMPLES

TURN = 30  # degrees: the 3 is still read, and its capsule's length and pose have moved
PAIR = (3, 7)  # drawn over each other in two-digit mode
VIEWS = {"routing": "routing.png", "primary": "primary.png", "figure4": "figure4-view.png",
         "all-capsules": "all-capsules.png"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digit", type=int, default=3, help="digit to draw (default: 3)")
    p.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs (default: docs)")
    p.add_argument("--checkpoint", default=None, help="checkpoint for the demo (default: the shipped one)")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with demo_process(port, args.checkpoint), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = open_demo(browser, f"http://127.0.0.1:{port}/")
        draw(page, args.digit)
        shown = wait_for_prediction(page)
        page.wait_for_function("() => document.querySelector('#dim-0 input[type=range]').value !== '0'")
        drawn = wait_for_views(page)
        page.screenshot(path=str(args.out / "demo.png"))
        for view, name in VIEWS.items():
            if view != "all-capsules":
                page.locator(f"#{view}-section").screenshot(path=str(args.out / name))
        print(f"drew a {args.digit}, the demo predicted {shown}; saved demo.png and the views in {args.out}")

        examples = load_examples(EXAMPLES / "index.json")
        wrong = next(n for n, e in enumerate(examples) if e.predicted != e.labels[0])
        page.locator("#examples .thumbnail-item").nth(wrong).click()
        wait_for_prediction(page, str(examples[wrong].predicted))
        wait_for_views(page, drawn)
        page.locator("#all-capsules-section").screenshot(path=str(args.out / VIEWS["all-capsules"]))
        page.locator("#inputs").screenshot(path=str(args.out / "upload-examples.png"))
        print(f"clicked example {examples[wrong].path.name} (a {examples[wrong].labels[0]}), the demo predicted "
              f"{examples[wrong].predicted}; saved all-capsules.png and upload-examples.png")

        picture, turned = turn_and_sweep(page, args.digit)
        picture.save(args.out / "transform.png")
        print(f"turned the {args.digit} by {turned:g} deg; saved transform.png")

        shown = two_digits(page)
        page.screenshot(path=str(args.out / "demo-pairs.png"))
        print(f"drew a {PAIR[0]} and a {PAIR[1]} over each other in two-digit mode, the demo read {shown}; "
              f"saved demo-pairs.png")
        browser.close()


def two_digits(page) -> str:
    """PAIR drawn over each other in two-digit mode, once the views of the finished drawing are in: what the
    prediction shows."""
    page.evaluate("window.scrollTo(0, 0)")
    choose_mode(page, "two digits")
    page.locator("#clear").click()
    page.wait_for_function("() => document.querySelector('#prediction .predicted-digit').innerText === '?'")
    draw_pair(page, *PAIR)
    wait_for_views(page)
    page.wait_for_timeout(1000)  # the second digit's views, if the first one's came first
    page.evaluate("window.scrollTo(0, 0)")
    return wait_for_prediction(page)


def turn_and_sweep(page, digit: int) -> tuple[Image.Image, float]:
    """The digit drawn afresh and turned by TURN degrees: the prediction with the #transform sliders under it, and
    below that the "Turn and stretch" tab (its caption and #sweep), as one picture."""
    page.locator("#clear").click()
    draw(page, digit)
    wait_for_prediction(page, str(digit))
    low, high = (float(page.locator("#rotate input[type=range]").get_attribute(a)) for a in ("min", "max"))
    drag_to(page, "rotate", (TURN - low) / (high - low))  # within a degree of TURN: a pixel of the track
    turned = float(page.locator("#rotate input[type=number]").input_value())
    page.get_by_role("tab", name="Turn and stretch").click()
    page.wait_for_function("(now) => document.querySelector('#sweep line.now title')?.textContent === now",
                           arg=f"now: {turned:+g} deg")
    page.evaluate("window.scrollTo(0, 0)")
    top = page.locator("#prediction").bounding_box()
    controls = page.locator("#transform").bounding_box()
    first = page.screenshot(clip={"x": top["x"], "y": top["y"], "width": controls["x"] + controls["width"] - top["x"],
                                  "height": controls["y"] + controls["height"] - top["y"]})
    second = page.locator("#turn-tab").screenshot()
    pictures = [Image.open(io.BytesIO(png)).convert("RGB") for png in (first, second)]
    both = Image.new("RGB", (max(p.width for p in pictures), sum(p.height for p in pictures) + 12), "white")
    both.paste(pictures[0], (0, 0))
    both.paste(pictures[1], (0, pictures[0].height + 12))
    return both, turned


if __name__ == "__main__":
    main()
