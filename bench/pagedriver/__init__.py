"""Drives the demo page in Debian's Chromium with Playwright, and draws digits as a person does: shared by the
browser tests, the benchmarks and scripts/screenshot.py, and kept out of the app package demo/.

page: start the demo, open its page, draw, drag sliders, read answers. network_page: network.js on a bare canvas
page. digit_strokes: the pen strokes of each digit, drawn with the mouse or rendered with PIL.
"""
