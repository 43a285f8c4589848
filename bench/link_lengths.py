"""How long the page's links are (demo/static/modules/link.js, written by demo/static/components/share.js), in
headless Chromium.

    python -m bench.link_lengths [--checkpoint PATH]

Starts `python -m demo` as a user would, draws each of the ten digits of bench/pagedriver/digit_strokes.py with the
mouse (as the browser tests do) and reads the link #copy-link gives: for the drawing alone, then with the turn and a
pose slider moved (the link then also holds the five turn values and the 16 pose values), then drawn again with four
times as many mouse moves (a denser pen: the points a link holds follow the pointer's events). Prints each digit's
strokes, points and link length in characters, the whole link's and the fragment's ("#lab=..."; the address before
it depends on where the demo is served, here http://127.0.0.1:PORT/), then the distribution. Target: every one-digit
drawing's link within 2,000 characters.
"""

import argparse
import statistics
from pathlib import Path

from bench.pagedriver.digit_strokes import strokes
from bench.pagedriver.page import (
    EXPLAINER_VIEWS,
    canvas_box,
    demo_in_chromium,
    drag_slider,
    drag_to,
    draw,
    draw_strokes,
    open_demo,
    pose_on_page,
    wait_for_pose,
    wait_for_views,
)

TARGET_CHARS = 2000
DENSE_STEPS = 8  # mouse moves between two points of a digit's path, for a denser pen (draw's default: 2)
TURNED = 0.7  # where the turn's slider is dragged to, as a fraction of its track (about +24 degrees)
POSED = 0.8  # and pose slider dim-0


def copied_link(page) -> str:
    """The link #copy-link gives (its box holds it whether or not the clipboard could be written)."""
    page.locator("#copy-link").click()
    return page.locator("#link-text").input_value()


def points(page, link: str) -> tuple[int, int]:
    """The strokes and points the link holds, as link.js reads them."""
    return tuple(page.evaluate(
        "async (fragment) => { const {strokes} = (await import('/lab/link.js')).decode(fragment);"
        " return [strokes.length, strokes.reduce((sum, stroke) => sum + stroke.length, 0)]; }",
        link.split("#", 1)[1]))


def cleared(page) -> None:
    page.locator("#clear").click()
    page.wait_for_function("(ids) => ids.every(id => document.querySelector(`#${id} img`) === null)",
                           arg=EXPLAINER_VIEWS)


def measure(page, digit: int) -> dict:
    cleared(page)
    draw(page, digit)
    wait_for_views(page)
    drawn = copied_link(page)
    before = pose_on_page(page)
    drag_to(page, "rotate", TURNED)  # its answer (the server's) sets the pose sliders
    moved = wait_for_pose(page, before)
    drag_slider(page, 0, POSED)
    wait_for_pose(page, moved)
    posed = copied_link(page)
    page.locator("#transform-reset").click()
    page.locator("#canvas canvas").scroll_into_view_if_needed()
    cleared(page)
    draw_strokes(page, strokes(digit, canvas_box(page)), steps=DENSE_STEPS)
    wait_for_views(page)
    dense = copied_link(page)
    (count, drawn_points), (_, dense_points) = points(page, drawn), points(page, dense)
    return {"digit": digit, "strokes": count, "points": drawn_points, "drawn": drawn, "posed": posed,
            "dense points": dense_points, "dense": dense}


def fragment(link: str) -> int:
    """The characters of "#lab=..." (the rest is the demo's address)."""
    return len(link) - link.index("#")


def summary(name: str, lengths: list[int]) -> str:
    return (f"{name}: min {min(lengths)}, median {statistics.median(lengths):.0f}, max {max(lengths)} characters "
            f"(target: <= {TARGET_CHARS}: {'met' if max(lengths) <= TARGET_CHARS else 'NOT met'})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped checkpoint")
    args = p.parse_args()
    with demo_in_chromium(args.checkpoint) as (url, browser):
        page = open_demo(browser, url)
        page.wait_for_function("() => document.querySelector('#share [data-link]') !== null")
        rows = [measure(page, digit) for digit in range(10)]
    print(f"digit  strokes  points  link (fragment)  turn and pose moved  {DENSE_STEPS} steps: points  link")
    for row in rows:
        print(f"{row['digit']:>5}  {row['strokes']:>7}  {row['points']:>6}  {len(row['drawn']):>4} "
              f"({fragment(row['drawn']):>4})  {len(row['posed']):>14} ({fragment(row['posed']):>4})  "
              f"{row['dense points']:>16}  {len(row['dense']):>4}")
    print(summary("drawing alone", [len(row["drawn"]) for row in rows]))
    print(summary("with the turn and a pose slider moved", [len(row["posed"]) for row in rows]))
    print(summary(f"drawn with {DENSE_STEPS} mouse steps between points", [len(row["dense"]) for row in rows]))
    print(f"the address before the fragment: {len(rows[0]['drawn']) - fragment(rows[0]['drawn'])} characters here")


if __name__ == "__main__":
    main()
