#!/usr/bin/env bash
# The project's test command (README and CI): installs what the tests need on a
# fresh machine (packages, Chromium, MNIST), checks the page's framing (demo/static/modules/frame.js) against
# Python with node --test, then runs the whole suite, browser tests included.
# Uses .venv/bin/python when the project has a .venv, else python3 (or $PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

"$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements.txt

# Playwright cannot download its own browsers here: the browser tests drive Debian's Chromium.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi

# MNIST from $CAPSNET_DATA, ../shared/mnist or data/; downloaded into data/ only when none has it.
"$PYTHON" -m capsnet.data

# The page's ports (frame.js: the framing; pixels.js: the colour scales) and views (views.js, views/*.js) against
# fixtures Python writes (tests/js).
if ! command -v node >/dev/null; then
  echo "tests/run.sh: node is missing; install Node.js 18 or later (Debian: sudo apt-get install nodejs)" >&2
  exit 1
fi
JS_FIXTURES="$(mktemp -d)"
trap 'rm -rf "$JS_FIXTURES"' EXIT
"$PYTHON" -m tests.js.fixtures "$JS_FIXTURES"
# The files, not the folder: Node 22 and later take globs, not folders (Node 20 takes either).
JS_FIXTURES="$JS_FIXTURES" node --test tests/js/*.test.mjs

"$PYTHON" -m pytest "$@"
