// demo/static/modules/frame.js, the page's port of capsnet.preprocess, against Python without a browser: each case that
// tests/js/frame_fixtures.py wrote (a canvas's RGBA pixels and preprocess's 28x28 for them, or null when it sees
// no digit) framed here with the constants the fixtures carry, which are the ones the manifest hands the page.
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
// (tests/run.sh does both, in a temporary folder.)
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";
import {inflateSync} from "node:zlib";

import {frame} from "../../demo/static/modules/frame.js";

const TOLERANCE = 2 / 255; // per pixel of the 28x28 input (issue 22), as tests/browser/test_network_js.py's

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const {constants, cases} = JSON.parse(readFileSync(join(folder, "frame.json"), "utf8"));

function pixels(deflated) {
  return new Uint8ClampedArray(inflateSync(Buffer.from(deflated, "base64")));
}

// The pixel where frame.js's input differs most from preprocess's, and both values.
function worstPixel(framed, expected) {
  let worst = {pixel: 0, difference: -1};
  expected.forEach((value, pixel) => {
    const difference = Math.abs(framed[pixel] - value);
    if (difference > worst.difference) worst = {pixel, difference, framed: framed[pixel], expected: value};
  });
  return worst;
}

for (const {name, width, height, rgba, expected} of cases) {
  test(`frame.js frames ${name} as preprocess does`, () => {
    const framed = frame(pixels(rgba), width, height, constants);
    const saw = (input) => (input === null ? "no digit" : "a digit");
    assert.equal(framed === null, expected === null, `frame.js sees ${saw(framed)}, preprocess ${saw(expected)}`);
    if (expected === null) return;
    const worst = worstPixel(framed, expected);
    const [row, col] = [Math.floor(worst.pixel / constants.MNIST_SIZE), worst.pixel % constants.MNIST_SIZE];
    assert.ok(worst.difference <= TOLERANCE, `pixel (${row}, ${col}): frame.js ${worst.framed.toFixed(4)}, ` +
              `preprocess ${worst.expected.toFixed(4)} (more than 2/255 apart)`);
  });
}

// How many rows or columns (the more) of a network input hold ink.
function inkedSpan(input28) {
  const rows = new Set();
  const cols = new Set();
  input28.forEach((value, pixel) => {
    if (value === 0) return;
    rows.add(Math.floor(pixel / constants.MNIST_SIZE));
    cols.add(pixel % constants.MNIST_SIZE);
  });
  return Math.max(rows.size, cols.size);
}

test("frame.js frames with the constants it is given: a DIGIT_BOX of 10 px fits the digit into 10 px", () => {
  const {width, height, rgba} = cases.find(({expected}) => expected !== null);
  const span = (digitBox) => inkedSpan(frame(pixels(rgba), width, height, {...constants, DIGIT_BOX: digitBox}));
  assert.deepEqual([span(constants.DIGIT_BOX), span(10)], [constants.DIGIT_BOX, 10]);
});
