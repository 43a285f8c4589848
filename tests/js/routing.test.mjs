// demo/static/modules/views/routing.js draws #routing from the server's numbers for a drawn 3, routed with 1, 3 and 5 iterations
// (tests/js/explainer_fixtures.py writes them), and from a few values made here.
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {colour, scale, slices, unpack} from "../../demo/static/modules/pixels.js";
import {caption, routing} from "../../demo/static/modules/views/routing.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const fixtures = JSON.parse(readFileSync(join(folder, "explainer.json"), "utf8"));
const [once, thrice] = [fixtures.routing["1"], fixtures.routing["3"]];

// routing(value) with its pictures kept (Node has no canvas to make them): pictures[n] is the one at src="picture:n".
async function drawn(value) {
  const pictures = [];
  const html = await routing(value, (pixels, width, height) => `picture:${pictures.push({pixels, width, height}) - 1}`);
  return {html, pictures};
}

// The pictures of one CSS class, in the page's order.
const ofClass = ({html, pictures}, cssClass) =>
  [...html.matchAll(new RegExp(`<img class="${cssClass}" src="picture:(\\d+)"`, "g"))].map((m) => pictures[m[1]]);

const all = (html, pattern) => [...html.matchAll(pattern)].map((match) => match[1]);

for (const iterations of ["1", "3", "5"]) {
  test(`${iterations} iterations: a column each, with its mosaic, its votes and the digit's share of all votes`,
    async () => {
      const value = fixtures.routing[iterations];
      const view = await drawn(value);
      assert.equal(all(view.html, /<div class="iteration"><h4>iteration (\d)<\/h4>/g).join(), "1,2,3,4,5"
        .slice(0, 2 * Number(iterations) - 1));
      assert.equal(ofClass(view, "mosaic").length, Number(iterations));
      assert.equal(ofClass(view, "votes").length, Number(iterations));
      assert.deepEqual(all(view.html, /votes for 3: <b>([\d.]+%)<\/b> of all/g),
        value.shares.map((share) => `${(100 * share).toFixed(1)}%`));
    });
}

test("the mosaic tiles the 32 types 8 to a row as matplotlib colours them, one grey between the tiles", async () => {
  const mosaic = ofClass(await drawn(thrice), "mosaic").at(-1);
  const {width, height, rgb} = fixtures.mosaic;
  assert.deepEqual([mosaic.width, mosaic.height], [width, height]);  // 8 x 4 tiles of 6x6, 1 px apart
  const gap = rgb.indexOf(null);
  const grey = mosaic.pixels[gap];
  assert.ok(grey < 255 && mosaic.pixels[gap + 1] === grey && mosaic.pixels[gap + 2] === grey, `gap ${grey}`);
  const wrong = rgb.findIndex((expected, n) => mosaic.pixels[n] !== (expected ?? grey));
  assert.equal(wrong, -1, `pixel ${Math.floor(wrong / 3)}: ${mosaic.pixels[wrong]}, expected ${rgb[wrong] ?? grey}`);
});

test("12 types make two rows of tiles, the last one 4 tiles and grey after them", async () => {
  const [iterations, , grid] = thrice.coupling.shape;
  const first12 = slices(thrice.coupling).flatMap((cells) => [...cells.subarray(0, 12 * grid * grid)]);
  const twelve = {...thrice, coupling: {shape: [iterations, 12, grid, grid], values: Float32Array.from(first12)}};
  const mosaic = ofClass(await drawn(twelve), "mosaic")[0];
  assert.deepEqual([mosaic.width, mosaic.height], [8 * 7 - 1, 2 * 7 - 1]);
  const pixel = (x, y) => Array.from(mosaic.pixels.subarray(3 * (y * mosaic.width + x), 3 * (y * mosaic.width + x) + 3));
  const grey = pixel(6, 0);  // the column between the first two tiles
  assert.notDeepEqual(pixel(3 * 7 + 5, 7 + 5), grey);  // the 12th tile's last cell
  assert.deepEqual(pixel(4 * 7, 7), grey);  // where a 13th tile would be
  assert.deepEqual(pixel(8 * 7 - 2, 2 * 7 - 2), grey);
});

test("the votes are drawn on their scale, the input's strokes lightening them as a veil", async () => {
  const votes = ofClass(await drawn(thrice), "votes");
  const [ink, coloured] = [await unpack(thrice.input), colour(slices(thrice.votes)[0], await scale(thrice.vote_scale))];
  const {pixels, width, height} = votes[0];
  assert.deepEqual([width, height], [28, 28]);
  const paper = ink.findIndex((grey) => grey === 0);
  const stroke = ink.findIndex((grey) => grey === 255);
  assert.deepEqual(pixels.subarray(3 * paper, 3 * paper + 3), coloured.subarray(3 * paper, 3 * paper + 3));
  for (let c = 0; c < 3; c++) assert.ok(pixels[3 * stroke + c] > coloured[3 * stroke + c] || coloured[3 * stroke + c] === 255);
});

test("the caption says what routing did: the digit's length and share before and after, and the couplings now", () => {
  const [first, last] = [thrice.lengths[0][3], thrice.lengths[2][3]];
  const said = caption(thrice);
  assert.ok(said.startsWith(`With 3 iterations, routing moved capsule 3's length from ${first.toFixed(2)} `
    + `(iteration 1, every coupling 1/10) to ${last.toFixed(2)}, and its share of all votes from `
    + `${(100 * thrice.shares[0]).toFixed(1)}% to ${(100 * thrice.shares[2]).toFixed(1)}%; single couplings to 3 now `
    + `range ${thrice.last_coupling.min.toFixed(2)}-${thrice.last_coupling.max.toFixed(2)}, their mean `
    + `${thrice.last_coupling.mean.toFixed(2)}. `), said);
  assert.ok(said.endsWith("The longest capsule was 3 before routing too: routing sharpened the answer, not chose it."));
});

test("the caption says so when routing changed the answer", () => {
  const said = caption({...thrice, longest: {first: 5, last: 3}});
  assert.ok(said.endsWith("Routing changed the answer: without it the longest capsule was 5, now it is 3."), said);
  assert.doesNotMatch(said, /sharpened/);
});

test("with 1 iteration the caption says there is no routing", () => {
  assert.equal(caption(once), `With 1 iteration there is no routing: every coupling stays 1/10, capsule 3's length is `
    + `${once.lengths[0][3].toFixed(2)} and it gets ${(100 * once.shares[0]).toFixed(1)}% of all votes. Choose 2 or `
    + "more to see routing work.");
});

test("the caption is written from the numbers given", () => {
  const value = {digit: 7, shares: [0.1, 0.25], lengths: [Array(10).fill(0.5), Array(10).fill(0.125).fill(0.9, 7, 8)],
                 last_coupling: {min: 0.01, max: 0.734, mean: 0.1}, longest: {first: 2, last: 7}};
  assert.equal(caption(value), "With 2 iterations, routing moved capsule 7's length from 0.50 (iteration 1, every "
    + "coupling 1/10) to 0.90, and its share of all votes from 10.0% to 25.0%; single couplings to 7 now range "
    + "0.01-0.73, their mean 0.10. Routing changed the answer: without it the longest capsule was 2, now it is 7.");
});

test("each column's ten lengths are bars on a 0-1 scale, the digit's marked", async () => {
  const {html} = await drawn(thrice);
  const columns = html.split('<div class="iteration">').slice(1);
  columns.forEach((column, r) => {
    const bars = [...column.matchAll(/<span class="(on)?" style="height:(\d+)%" title="capsule (\d): ([\d.]+)"/g)];
    assert.deepEqual(bars.map((bar) => Number(bar[3])), [...Array(10).keys()]);
    assert.deepEqual(bars.filter((bar) => bar[1]).map((bar) => bar[3]), ["3"]);
    bars.forEach((bar, d) => assert.equal(Number(bar[2]), Math.round(100 * thrice.lengths[r][d])));
  });
});

test("the chart has a line per capsule through a point per iteration, the digit's thick and labelled", async () => {
  const {html} = await drawn(fixtures.routing["5"]);
  const chart = html.match(/<figure class="lengths-per-iteration">.*<\/figure>/)[0];
  const lines = all(chart, /<polyline (?:class="on" )?points="([^"]+)"/g);
  assert.equal(lines.length, 10);
  assert.ok(lines.every((points) => points.split(" ").length === 5));
  assert.equal(all(chart, /<polyline class="on"/g).length, 1);
  assert.match(chart, /<text class="on" [^>]*>3<\/text>/);
  assert.deepEqual(all(chart, /text-anchor="middle">(\d)</g), ["1", "2", "3", "4", "5"]);
  assert.match(chart, /capsule 3 thick/);
});

test("the legends' ends: the coupling scale around 1/10, the votes' in percent of all votes", async () => {
  const {html} = await drawn(thrice);
  const legends = html.split('<div class="legend">').slice(1);
  assert.equal(legends.length, 2);
  assert.match(legends[0], /1\/10: an even split/);
  assert.deepEqual(all(legends[0], /<span>([^<]*)<\/span>/g), ["0.05", "0.1", "0.2"]);
  const {low, centre, high} = thrice.vote_scale;
  assert.deepEqual(all(legends[1], /<span>([^<]*)<\/span>/g),
    [low, centre, high].map((share) => `${(100 * share).toFixed(3)}%`));
  legends.forEach((legend) => assert.equal(all(legend, /(rgb\(\d+, \d+, \d+\))/g).length, 9));
});
