"""`python -m demo`, the README's first command, starts the page on the shipped models as a user would."""

import json
import urllib.request

import pytest

from bench.pagedriver.page import demo_process, free_port
from demo.server.assets import MANIFEST_PATH


@pytest.mark.slow
def test_python_m_demo_serves_the_page_and_both_models_graphs():
    port = free_port()
    with demo_process(port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{MANIFEST_PATH}", timeout=60) as response:
            models = json.load(response)["models"]
    assert list(models) == ["one", "two"]  # the one-digit model and the shipped pair model
