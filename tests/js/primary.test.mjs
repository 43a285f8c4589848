// demo/static/modules/views/primary.js draws #primary from the server's numbers for a drawn 3 (tests/js/explainer_fixtures.py).
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {colour, scale, slices} from "../../demo/static/modules/pixels.js";
import {primary} from "../../demo/static/modules/views/primary.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const value = JSON.parse(readFileSync(join(folder, "explainer.json"), "utf8")).primary;

// primary(value) with its pictures kept (Node has no canvas to make them), in the order the tiles show them.
async function drawn(numbers) {
  const pictures = [];
  const html = await primary(numbers, (pixels, width, height) => `picture:${pictures.push({pixels, width, height}) - 1}`);
  return {html, pictures};
}

const tiles = (html) => [...html.matchAll(/<figcaption>type (\d+)<br>([+-][\d.]+)<\/figcaption>/g)]
  .map((match) => ({type: Number(match[1]), mean: match[2]}));

test("32 tiles, in the order given (most agreeing first), each with its type's mean", async () => {
  const shown = tiles((await drawn(value)).html);
  assert.deepEqual(shown.map((tile) => tile.type), value.order);
  assert.equal(new Set(value.order).size, 32);
  shown.forEach(({type, mean}) => assert.equal(mean, `${value.means[type] < 0 ? "" : "+"}${value.means[type].toFixed(3)}`));
});

test("another order, other tiles first", async () => {
  const reversed = [...value.order].reverse();
  assert.deepEqual(tiles((await drawn({...value, order: reversed})).html).map((tile) => tile.type), reversed);
});

test("each tile is its type's grid on the agreement scale", async () => {
  const {pictures} = await drawn(value);
  const agreement = await scale(value.scale);
  assert.equal(pictures.length, 32);
  pictures.forEach(({pixels, width, height}, n) => {
    assert.deepEqual([width, height], [6, 6]);
    assert.deepEqual(pixels, colour(slices(value.maps)[value.order[n]], agreement));
  });
});

test("the legend's ends are the scale's, at this input's 99% quantile of the agreement", async () => {
  const {html} = await drawn(value);
  const legend = html.split('<div class="legend">')[1];
  assert.match(legend, /agreement with capsule 3's direction \(the scale ends at this input's 99% quantile/);
  const high = Number(value.scale.high.toPrecision(2));
  assert.deepEqual([...legend.matchAll(/<span>([^<]*)<\/span>/g)].map((m) => m[1]), [`${-high}`, "0", `${high}`]);
});
