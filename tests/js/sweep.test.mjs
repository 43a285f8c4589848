// demo/static/modules/views/sweep.js draws #sweep from the numbers the server sends (transform.sweep_view): for a drawn 7 with the
// shipped models, with the CNN baseline and without (tests/js/view_fixtures.py), and its captions' sentences from
// small hand-made numbers (Sweep.numbers).
//   python3 -m tests.js.fixtures DIR && JS_FIXTURES=DIR node --test tests/js/*.test.mjs
import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {join} from "node:path";
import {test} from "node:test";

import {slices} from "../../demo/static/modules/pixels.js";
import {caption, sweep} from "../../demo/static/modules/views/sweep.js";

const folder = process.env.JS_FIXTURES;
if (!folder) throw new Error("JS_FIXTURES is not set: write them with python3 -m tests.js.fixtures DIR");
const {with_cnn: withCnn, without_cnn: withoutCnn, markup} = JSON.parse(readFileSync(join(folder, "sweep.json"), "utf8"));

const panels = (html) => [...html.matchAll(/<div class="sweep-axis" data-axis="(\w+)">(.*?)<\/div><\/div>/g)]
  .map(([, axis, panel]) => ({axis, panel, charts: panel.split("<svg").slice(1)}));
const lines = (chart, css) => [...chart.matchAll(new RegExp(`<polyline class="${css}" [^>]*><title>(.*?)</title>`, "g"))]
  .map(([, title]) => title);

test("both axes, the turn and the scale, each with its caption and two charts", () => {
  const shown = panels(sweep(withCnn));
  assert.deepEqual(shown.map(({axis}) => axis), ["rotate", "scale"]);
  for (const {panel, charts} of shown) {
    assert.equal(charts.length, 2);
    assert.match(panel, /<p class="caption">(Turn|Scale): .*over the sweep\./);
  }
});

test("the lengths chart has a line per capsule, the selected one thick, and the CNN's probability", () => {
  for (const {charts: [lengths]} of panels(sweep(withCnn))) {
    assert.deepEqual(lines(lengths, "other"), [0, 1, 2, 3, 4, 5, 6, 8, 9].map((d) => `capsule ${d}`));
    assert.deepEqual(lines(lengths, "on"), ["capsule 7&#39;s length"]);
    assert.deepEqual(lines(lengths, "cnn"), ["CNN: probability of 7"]);
  }
});

test("the pose chart has a line per pose dimension, named and coloured as Python sends them, the names as text", () => {
  for (const {charts: [, pose]} of panels(sweep(withCnn))) {
    assert.equal(lines(pose, "pose").length, 16);
    assert.deepEqual(lines(pose, "pose").slice(1), withCnn.names.slice(1));
    assert.equal(lines(pose, "pose")[0], "dim 0 - &#60;b&#62;slant&#60;/b&#62; &#38; &#34;size&#34;");
    const colours = [...pose.matchAll(/style="stroke:(#[0-9a-f]{6})"/g)].map(([, colour]) => colour);
    assert.deepEqual(colours, withCnn.colours);
  }
  assert.ok(!sweep(withCnn).includes(markup));
});

test("each point is the amount and the value on the chart's scale", () => {
  const [{charts: [lengths]}] = panels(sweep(withCnn));
  const points = lengths.match(/<polyline class="on" points="([^"]*)"/)[1].split(" ").map((p) => p.split(",").map(Number));
  const {amounts, lengths: packed} = withCnn.axes[0];
  const values = slices(packed);
  assert.equal(points.length, amounts.length);
  const tenth = 0.05 + 1e-9;  // written to a tenth of a pixel
  points.forEach(([x, y], k) => {  // the plot: x 34..320 over -60..60 deg, y 144..10 over lengths 0..1
    assert.ok(Math.abs(x - (34 + (286 * (amounts[k] + 60)) / 120)) <= tenth, `x of amount ${amounts[k]}`);
    assert.ok(Math.abs(y - (144 - 134 * values[k][7])) <= tenth, `y of amount ${amounts[k]}`);
  });
});

test("without the CNN baseline there is no CNN line, and the legend says how to train it", () => {
  const html = sweep(withoutCnn);
  assert.ok(!html.includes('class="cnn"') && !html.includes("CNN picks"));
  assert.match(html, /no CNN baseline loaded: train it with <code>python train.py --model cnn<\/code>/);
  assert.match(sweep(withCnn), /<span class="key cnn"><\/span> CNN: probability of 7/);
});

test("the slider's value now is a line on each chart, titled with the value", () => {
  const html = sweep(withCnn);
  const titles = [...html.matchAll(/<line class="now" [^>]*><title>(.*?)<\/title>/g)].map(([, title]) => title);
  assert.deepEqual(titles, ["now: +0 deg", "now: +0 deg", "now: 1x", "now: 1x"]);
});

test("the band where the capsule is the longest is drawn from its kept stretch", () => {
  const turned = {...withCnn, axes: [{...withCnn.axes[0], kept: [-30, 30]}, {...withCnn.axes[1], kept: null}]};
  const [rotate, scale] = panels(sweep(turned));
  const band = rotate.charts.map((chart) => chart.match(/<rect class="kept" x="([\d.]+)" y="10" width="([\d.]+)"/));
  assert.deepEqual(band.map((match) => [Number(match[1]), Number(match[2])]), [[105.5, 143], [105.5, 143]]);
  assert.ok(!scale.panel.includes('class="kept"'));
});

// One axis's numbers as Sweep.numbers sends them, for a 7 turned -60..60 deg: only what the caption reads.
function turn(numbers) {
  const amounts = Array.from({length: 25}, (_, k) => -60 + 5 * k);
  return {axis: "rotate", amounts, kept: [-35, 35], longest_now: 7, others: [1], length_range: [0.123, 0.9],
          cnn_top: amounts.map(() => 7), cnn_kept: [-30, 30], cnn_now: 7, following: [], ...numbers};
}

test("the caption says where the capsule and the CNN keep the digit, and what the capsule's length does", () => {
  assert.equal(caption(turn({others: [1, 2]}), 7),
               "Turn: the 7 stays the longest capsule from -35 deg to +35 deg (beyond, the 1 or the 2); capsule 7's "
               + "length goes 0.12-0.90 over the sweep. The CNN picks the 7 from -30 deg to +30 deg.");
});

test("the caption names the pose values that follow the change most, with their r", () => {
  const text = caption(turn({following: [{dim: 3, r: 0.9981}, {dim: 12, r: -0.95}]}), 7);
  assert.ok(text.endsWith(" Pose values that follow the turn most closely: dim 3 (r +1.00), dim 12 (r -0.95)."));
});

test("the caption says so when the digit is not the longest at the slider's setting, for either network", () => {
  const text = caption(turn({kept: null, longest_now: 1, cnn_kept: null, cnn_now: 2}), 7);
  assert.match(text, /^Turn: at this setting the 1, not the 7, is the longest capsule; capsule 7's length/);
  assert.ok(text.endsWith(" At this setting the CNN picks the 2."));
});

test("a stretch over every amount reads as the whole sweep; a scale reads as a factor", () => {
  assert.match(caption(turn({kept: [-60, 60], others: []}), 7), /the 7 stays the longest capsule over the whole sweep;/);
  const scale = turn({axis: "scale", amounts: [0.5, 1, 1.5], kept: [0.65, 1.5], cnn_top: null});
  assert.equal(caption(scale, 7), "Scale: the 7 stays the longest capsule from 0.65x to 1.5x (beyond, the 1); "
                                  + "capsule 7's length goes 0.12-0.90 over the sweep.");
});
