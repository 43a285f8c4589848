// demo/static/modules/views/figure4.js draws #figure4 from the numbers the server sends (explainer.figure4), here for a drawn 7 with
// the shipped model (tests/js/view_fixtures.py): the grid tiled as capsnet.figures.tile tiles it, the rows named.
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {unpack} from "../../demo/static/modules/pixels.js";
import {figure4} from "../../demo/static/modules/views/figure4.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const {value, tiled, markup} = JSON.parse(readFileSync(join(folder, "figure4.json"), "utf8"));

// The view's HTML, and the pictures it asked for ({pixels, width, height}): Node has no canvas to make them.
async function drawn(numbers) {
  const pictures = [];
  const html = await figure4(numbers, (pixels, width, height) => {
    pictures.push({pixels, width, height});
    return `picture-${pictures.length}`;
  });
  return {html, pictures};
}

const spans = (html, part) => [...html.match(new RegExp(`class="${part}">(.*?)</div>`))[1]
  .matchAll(/<span(?: class="(\w*)")?>(.*?)<\/span>/g)].map(([, css, text]) => ({css, text}));

test("the grid is one picture, the decodes tiled as capsnet.figures.tile tiles them, white lines between", async () => {
  const {pictures: [grid]} = await drawn(value);
  assert.deepEqual([grid.height, grid.width], tiled.shape);
  assert.deepEqual([grid.height, grid.width], [16 * 29 - 1, 11 * 29 - 1]);
  assert.ok(Buffer.from(grid.pixels).equals(Buffer.from(await unpack(tiled))), "the pixels differ from figures.tile's");
});

test("a row per pose dimension, named as the server names them, the names as text", async () => {
  const {html} = await drawn(value);
  const rows = spans(html, "dims");
  assert.equal(rows.length, 16);
  assert.equal(rows[1].text, value.names[1]);
  assert.equal(rows[0].text, "dim 0 - &#60;b&#62;slant&#60;/b&#62; &#38; &#34;size&#34;");  // markup, escaped
  assert.ok(!html.includes(markup) && !html.includes("<b>"));
});

test("eleven nudges from -0.25 to +0.25, the capsule's own pose (no nudge) in bold in the middle", async () => {
  const nudges = spans((await drawn(value)).html, "nudges");
  assert.deepEqual(nudges.map(({text}) => text), ["-0.25", "-0.20", "-0.15", "-0.10", "-0.05", "+0.00", "+0.05",
                                                  "+0.10", "+0.15", "+0.20", "+0.25"]);
  assert.deepEqual(nudges.map(({css}) => css === "own"), nudges.map((_, k) => k === 5));
});

test("the corner and the picture's text name the capsule", async () => {
  const {html} = await drawn(value);
  assert.match(html, /<div class="corner">capsule 7<\/div>/);
  assert.match(html, /<img class="grid" src="picture-1" alt="Figure 4 for capsule 7: 16 dimensions x 11 nudges"/);
});
