// demo/static/modules/views/dimensions.js draws #pose-dimensions, what each pose dimension tracks, from the numbers the server sends
// (transform.dimensions): the shipped model's (tests/js/view_fixtures.py), and small hand-made ones.
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {poseDimensions} from "../../demo/static/modules/views/dimensions.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const {value: shipped} = JSON.parse(readFileSync(join(folder, "dimensions.json"), "utf8"));

const cells = (row) => [...row.matchAll(/<td style="background:rgb\((\d+),(\d+),(\d+)\)">(.*?)<\/td>/g)]
  .map(([, r, g, b, text]) => ({rgb: [r, g, b].map(Number), text}));
const rows = (table) => [...table.matchAll(/<tr><th>dim (\d+)<\/th>(.*?)<\/tr>/g)].map(([, dim, row]) => (
  {dim: Number(dim), cells: cells(row), label: row.match(/<td class="tracks">(.*?)<\/td>/)[1]}));

test("a row per pose dimension, a column per change and the label", () => {
  const table = poseDimensions(shipped);
  assert.deepEqual(rows(table).map(({dim}) => dim), shipped.dims);
  assert.equal(rows(table).length, 16);
  const head = [...table.match(/<thead>(.*)<\/thead>/)[1].matchAll(/<th>(.*?)<\/th>/g)].map(([, text]) => text);
  assert.deepEqual(head, ["", ...shipped.changes, "label"]);
});

test("each r is written with its sign and two decimals, on the colour Python gave it", () => {
  rows(poseDimensions(shipped)).forEach(({cells: shown}, row) => {
    assert.deepEqual(shown.map(({rgb}) => rgb), shipped.colours[row]);
    assert.deepEqual(shown.map(({text}) => Number(text)), shipped.r[row].map((r) => Number(r.toFixed(2))));
    assert.ok(shown.every(({text}) => /^[+-]\d\.\d\d$/.test(text)));
  });
});

test("a dimension's label is text; one without a label has an empty cell", () => {
  const table = poseDimensions({changes: ["rotation"], dims: [0, 1], r: [[0.6], [-0.1]],
                                colours: [[[255, 140, 140]], [[236, 236, 255]]], labels: ["<i>turn</i>", null]});
  assert.deepEqual(rows(table).map(({label}) => label), ["&#60;i&#62;turn&#60;/i&#62;", ""]);
  assert.deepEqual(rows(table).map(({cells: [cell]}) => cell.text), ["+0.60", "-0.10"]);
});
