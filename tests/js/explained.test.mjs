// demo/static/modules/explained.js makes the explainer views' numbers in the page from the explain graph's and the
// decoder's outputs (onnxruntime's, for a few inputs of the shipped model: tests/js/explain_fixtures.py); they must be
// what explainer.py sends from the server for the same input, capsule and iterations.
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {grey, nested, viewsOf} from "../../demo/static/modules/explained.js";
import {numbers, unpack} from "../../demo/static/modules/pixels.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const {constants, cases} = JSON.parse(readFileSync(join(folder, "explain.json"), "utf8"));

// The server rounds its few numbers (explainer.rounded: 4 decimals at least); the page sends float32 as it is.
const NUMBERS = 1e-4;
const PIXELS = 2; // the decoder's pixels within 2/255 of the server's (the parity)

// The graphs' outputs as the page has them from onnxruntime: typed arrays.
const typed = ({shape, data}) => ({shape, data: Float32Array.from(data)});
const made = (fixture) => viewsOf({outputs: Object.fromEntries(Object.entries(fixture.outputs)
                                     .map(([name, output]) => [name, typed(output)])),
                                   decoded: typed(fixture.decoded),
                                   input28: fixture.input28, lengths: fixture.prediction_lengths,
                                   digit: fixture.digit}, constants);

// How a packed array is read and how near the page's must be: maps of numbers (packed or the page's values) within
// NUMBERS, pictures (packed or the page's pixels) within PIXELS of 255; null for anything else.
function packing(server) {
  if (server === null || typeof server !== "object") return null;
  if ("float32" in server) return {read: numbers, bound: NUMBERS};
  return "deflated" in server || "pixels" in server ? {read: unpack, bound: PIXELS} : null;
}

// page's value at path is the server's: numbers within NUMBERS, packed arrays within their bound, all else equal.
async function same(page, server, path) {
  const packed = packing(server);
  if (packed !== null) {
    assert.deepEqual(page.shape, server.shape, `${path}: shape`);
    const [ours, theirs] = await Promise.all([packed.read(page), packed.read(server)]);
    const worst = ours.reduce((most, value, n) => Math.max(most, Math.abs(value - theirs[n])), 0);
    assert.ok(worst <= packed.bound, `${path}: ${worst} from the server's (at most ${packed.bound})`);
  } else if (typeof server === "number") {
    assert.ok(Math.abs(page - server) <= NUMBERS, `${path}: ${page}, the server's ${server}`);
  } else if (Array.isArray(server)) {
    assert.equal(page.length, server.length, `${path}: length`);
    for (const [n, value] of server.entries()) await same(page[n], value, `${path}[${n}]`);
  } else if (server !== null && typeof server === "object") {
    assert.deepEqual(Object.keys(page).sort(), Object.keys(server).sort(), `${path}: its keys`);
    for (const [key, value] of Object.entries(server)) await same(page[key], value, `${path}.${key}`);
  } else {
    assert.equal(page, server, path);
  }
}

for (const fixture of cases) {
  const name = `capsule ${fixture.digit}, ${fixture.iterations} iteration${fixture.iterations > 1 ? "s" : ""}`;
  for (const view of ["routing", "primary", "figure4", "all-capsules"]) {
    test(`${name}: #${view}'s numbers made in the page are the server's`, async () => {
      await same(made(fixture)[view], fixture.expected[view], view);
    });
  }
}

test("nested shapes a flat output as the server's JSON nests it, int64's BigInts as numbers", () => {
  assert.deepEqual(nested({shape: [2, 3], data: [1, 2, 3, 4, 5, 6]}), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(nested({shape: [3], data: BigInt64Array.of(7n, 0n, 2n)}), [7, 0, 2]);
  assert.equal(nested({shape: [], data: [0.5]}), 0.5);
});

test("grey rounds pixels in [0, 1] to 0-255 and clips what is outside, as pictures.gray", () => {
  assert.deepEqual(Array.from(grey([-0.5, 0, 0.5, 1, 2])), [0, 0, 128, 255, 255]);
});

test("a changed constant is found: the page's numbers are compared, not assumed", async () => {
  const [fixture] = cases;
  const drifted = {...made(fixture).routing, shares: made(fixture).routing.shares.map((share) => share + 1e-3)};
  await assert.rejects(same(drifted, fixture.expected.routing, "routing"));
});
