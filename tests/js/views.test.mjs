// demo/static/modules/views.js's views, drawn from a reading as the page draws the server's answers and its own predictions.
// A reading (demo/compute/readers.py, Reader.reading): ten capsule lengths, how many of the longest are digits, from
// which length a capsule counts as one, and a message instead (or null). Run with `node --test tests/js/`.
import assert from "node:assert/strict";
import {test} from "node:test";

import {lengths, prediction} from "../../demo/static/modules/views.js";

// Ten capsule lengths of 0.05, but those given ({7: 0.95}: capsule 7 has length 0.95).
function reading(long, {digits = 1, present = 0.5, message = null} = {}) {
  return {lengths: Array.from({length: 10}, (_, digit) => long[digit] ?? 0.05), digits, present, message};
}

const marked = (chart) => [...chart.matchAll(/class="bar longest" title="capsule (\d)/g)].map((match) => Number(match[1]));

test("one digit: the longest capsule is the digit, with its length and the runner-up's", () => {
  const shown = prediction(reading({1: 0.2, 7: 0.85, 9: 0.4}));
  assert.match(shown, /class="predicted-digit">7</);
  assert.match(shown, /capsule 7: length 0\.85; next longest 9: 0\.40/);
});

test("two digits: both are named, the longer first, with 'and'", () => {
  const shown = prediction(reading({7: 0.95, 2: 0.8, 5: 0.3}, {digits: 2}));
  const digits = shown.match(/class="predicted-digit pair">(.*?)<\/div>/)[1];
  assert.deepEqual(digits.match(/\d/g), ["7", "2"]);
  assert.match(digits, /<small>and<\/small>/);
  assert.match(shown, /capsules 7: length 0\.95 and 2: 0\.80; next longest 5: 0\.30/);
  assert.doesNotMatch(shown, /one digit/);
});

test("two digits: a second capsule under present reads as one digit, and says so", () => {
  const shown = prediction(reading({7: 0.95, 2: 0.3}, {digits: 2}));
  assert.match(shown, /class="predicted-digit">7<\/div>/);
  assert.match(shown, /one digit: 7 \(length 0\.95; the next, 2: 0\.30, is under 0\.5\)/);
});

test("two digits: a capsule counts as a digit from the reading's present", () => {
  const shown = prediction(reading({7: 0.95, 2: 0.3}, {digits: 2, present: 0.25}));
  assert.match(shown, /class="predicted-digit pair">7 <small>and<\/small> 2</);
});

test("a message is shown instead of a digit, under a question mark", () => {
  const shown = prediction(reading({}, {message: "Draw a digit"}));
  assert.match(shown, /class="predicted-digit empty">\?</);
  assert.match(shown, /class="margin">Draw a digit</);
});

test("the message is text, never HTML", () => {
  const shown = prediction(reading({}, {message: `Cannot read <img src=x onerror="alert('x')"> & more`}));
  const margin = shown.match(/class="margin">(.*)<\/div>$/)[1];
  assert.doesNotMatch(margin, /[<>"']/);  // no tag or attribute can start in it
  assert.match(margin, /^Cannot read .*img src=x onerror=.*alert.* more$/);  // and the text is all there
});

test("each length is a bar on a fixed 0-1 scale, not a percentage", () => {
  const values = [0.05, 0.9, 0.0, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 1.0];
  const chart = lengths({lengths: values, digits: 1, present: 0.5, message: null});
  const heights = [...chart.matchAll(/height:([\d.]+)%/g)].map((match) => Number(match[1]));
  assert.equal(heights.length, 10);
  heights.forEach((height, digit) => assert.ok(Math.abs(height - 100 * values[digit]) <= 0.05, `capsule ${digit}`));
  assert.ok(!chart.includes("%<"));  // no percentages written out
});

test("the digits read are the bars marked: the longest in one-digit mode, the two longest in two", () => {
  assert.deepEqual(marked(lengths(reading({3: 0.9, 7: 0.8}))), [3]);
  assert.deepEqual(marked(lengths(reading({3: 0.8, 7: 0.9, 1: 0.4}, {digits: 2}))).sort(), [3, 7]);
});

test("no bar is marked when every length is 0", () => {
  const chart = lengths({lengths: Array(10).fill(0), digits: 1, present: 0.5, message: "Draw a digit"});
  assert.equal(marked(chart).length, 0);
  assert.equal([...chart.matchAll(/class="bar/g)].length, 10);
});
