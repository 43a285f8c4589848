"""The demo served in-process on a free loopback port, and Debian's Chromium driven by Playwright.

Without /usr/bin/chromium the browser tests are skipped on a developer's machine
and fail in CI (CI set), where a skip would hide that they never ran.
"""

import pytest

from bench.pagedriver.page import (
    MISSING_BROWSER,
    Blocking,
    browser_missing,
    free_port,
    in_ci,
    launch_chromium,
    open_demo,
)


@pytest.fixture(scope="session")
def model():
    from capsnet import load_model

    return load_model()


@pytest.fixture(scope="session")
def pair_model(model):
    from capsnet import PAIR_CHECKPOINT
    from demo.compute.readers import load_pair_model

    pair_model, why_not = load_pair_model(PAIR_CHECKPOINT, model)
    assert pair_model is not None, why_not
    return pair_model


@pytest.fixture(scope="session")
def reader(model):
    """One-digit mode's reader, as the page's: what the page should show."""
    from demo.app import ONE
    from demo.compute.readers import one_digit

    return one_digit(ONE, model, [])


@pytest.fixture(scope="session")
def pair_reader(pair_model):
    """Two-digit mode's reader, as the page's."""
    from demo.app import TWO
    from demo.compute.readers import two_digits

    return two_digits(TWO, pair_model, [])


@pytest.fixture(scope="session")
def demo_url(model, pair_model):
    from capsnet import DEFAULT_CHECKPOINT, PAIR_CHECKPOINT
    from demo.app import ONE, TWO, build
    from demo.server.launch import launch

    page = build(model, pair_model, folders={ONE: DEFAULT_CHECKPOINT, TWO: PAIR_CHECKPOINT})  # as python -m demo
    port = free_port()
    launch(page, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    page.close()


@pytest.fixture(scope="session")
def browser():
    if browser_missing():
        if in_ci():
            pytest.fail(MISSING_BROWSER)
        pytest.skip(MISSING_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, demo_url):
    """A fresh tab on the demo: its own Gradio state."""
    tab = open_demo(browser, demo_url)
    yield tab
    tab.close()


@pytest.fixture
def page_reading(page):
    """The demo tab once the network runs in it: the page reads drawings itself."""
    page.wait_for_function("() => window.capsnetLocal && window.capsnetLocal.place !== 'loading'")
    assert page.evaluate("capsnetLocal.place") == "browser", page.evaluate("capsnetLocal.reason")
    return page


@pytest.fixture
def server_page(browser, demo_url):
    """The demo in a tab that cannot run WebAssembly: the network cannot start in it, and the server reads every
    input (the fallback)."""
    tab = open_demo(Blocking(browser, "**/*.wasm"), demo_url)
    tab.wait_for_function("() => window.capsnetLocal && window.capsnetLocal.place === 'server'")
    yield tab
    tab.close()
