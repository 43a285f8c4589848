// demo/static/modules/pixels.js against Python without a browser: the packed bytes the server sends unpack to what was packed, and
// the colour scales colour every value as matplotlib does (tests/js/colour_fixtures.py writes both).
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {colour, numbers, scale, slices, unpack} from "../../demo/static/modules/pixels.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const {cases, numbers: packedNumbers} = JSON.parse(readFileSync(join(folder, "colour.json"), "utf8"));

for (const {name, scale: packedScale, values, rgb} of cases) {
  test(`the ${name} scale colours every value as matplotlib does`, async () => {
    const coloured = colour(values.map((v) => (v === null ? NaN : v)), await scale(packedScale));
    const wrong = values.findIndex((_, n) => [0, 1, 2].some((c) => coloured[3 * n + c] !== rgb[3 * n + c]));
    assert.equal(wrong, -1, `value ${values[wrong]}: [${coloured.subarray(3 * wrong, 3 * wrong + 3)}], ` +
      `matplotlib [${rgb.slice(3 * wrong, 3 * wrong + 3)}]`);
  });
}

test("packed bytes unpack to the colour map's 256 colours", async () => {
  const lut = await unpack(cases[0].scale.lut);
  assert.deepEqual(cases[0].scale.lut.shape, [256, 3]);
  assert.equal(lut.length, 256 * 3);
});

test("packed numbers read as the float32 values Python packed, split along their first axis", () => {
  const {packed, float32} = packedNumbers;
  assert.deepEqual(Array.from(numbers(packed)), float32.flat());
  assert.deepEqual(slices(packed).map((row) => Array.from(row)), float32);
});

test("the page's own numbers are taken as they are", () => {
  const values = Float32Array.of(1, 2, 3, 4);
  assert.equal(numbers({shape: [2, 2], values}), values);
  assert.deepEqual(slices({shape: [2, 2], values}).map((row) => Array.from(row)), [[1, 2], [3, 4]]);
});
