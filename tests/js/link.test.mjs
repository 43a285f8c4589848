// demo/static/modules/link.js without a browser: a state goes into a link and comes back the same; a link that was cut,
// changed, made too long or made by hand for another page is refused with one line, never read as another state.
//   node --test tests/js/link.test.mjs
import assert from "node:assert/strict";
import {test} from "node:test";

import {MAX_LENGTH, decode, encode} from "../../demo/static/modules/link.js";

// What the demo's page has (share.js reads it off the page).
const PAGE = {modes: ["one", "two"], digits: 10, iterations: [1, 2, 3, 4, 5], pose: {count: 16, low: -0.8, high: 0.8},
              turn: [[-60, 60], [0.5, 1.5], [-0.5, 0.5], [-6, 6], [-6, 6]], tabs: 2,
              galleries: {examples: 24, "pair-examples": 8}};
const NO_CHANGE = [0, 1, 0, 0, 0];

function drawn(overrides = {}) {
  return {mode: "one", strokes: [[[120, 40], [118, 44], [117, 49]], [[150, 60]]], example: null, upload: false,
          digit: 7, pose: null, turn: NO_CHANGE, iterations: 3, tab: 0, ...overrides};
}

// A pen's path as canvas.js keeps it: whole pixels, small steps, no point twice in a row.
function randomStrokes(random) {
  return Array.from({length: 1 + Math.floor(random() * 4)}, () => {
    let [x, y] = [Math.floor(random() * 280), Math.floor(random() * 280)];
    return Array.from({length: 1 + Math.floor(random() * 120)}, (_, n) => {
      if (n > 0) [x, y] = [x + 1 + Math.floor(random() * 9) - 5, y + Math.floor(random() * 9) - 4];
      return [x, y];
    });
  });
}

// Seeded (mulberry32): a failure names its seed, and the same seed fails again.
function generator(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomState(random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const decimals = (low, high) => Math.round((low + random() * (high - low)) * 1e4) / 1e4 + 0; // + 0: no -0
  const input = pick(["strokes", "example", "upload"]);
  return {mode: pick(PAGE.modes), strokes: input === "strokes" ? randomStrokes(random) : [],
          example: input === "example" ? {gallery: "examples", index: Math.floor(random() * 24)} : null,
          upload: input === "upload", digit: pick([null, 0, 3, 9]),
          pose: random() < 0.5 ? null : Array.from({length: 16}, () => decimals(-0.8, 0.8)),
          turn: PAGE.turn.map(([low, high]) => decimals(low, high)), iterations: pick([null, 1, 3, 5]),
          tab: pick([0, 1])};
}

function refused(text, page = PAGE) {
  assert.throws(() => decode(text, page), (error) => {
    assert.match(error.message, /^This link could not be read: [^\n]+$/);
    return true;
  });
}

test("a drawing with its capsule, turn, iterations and tab comes back from its link", () => {
  const state = drawn({pose: Array.from({length: 16}, (_, n) => (n - 8) * 500 + 1).map((n) => n / 1e4),
                       turn: [15, 1.25, -0.1, 2.5, -3],
                       iterations: 5, tab: 1});
  assert.deepEqual(decode(encode(state), PAGE), state);
});

test("an example, an upload and an empty canvas come back from their links", () => {
  for (const state of [drawn({strokes: [], example: {gallery: "pair-examples", index: 7}, mode: "two"}),
                       drawn({strokes: [], upload: true, digit: null}), drawn({strokes: [], digit: null})]) {
    assert.deepEqual(decode(encode(state), PAGE), state);
  }
});

test("a thousand random states come back from their links", () => {
  for (let seed = 1; seed <= 1000; seed++) {
    const state = randomState(generator(seed));
    assert.deepEqual(decode(encode(state), PAGE), state, `seed ${seed}`);
  }
});

test("a link is 'lab=' and base64url, a few hundred characters for a long stroke", () => {
  const stroke = Array.from({length: 150}, (_, n) => [100 + Math.round(40 * Math.sin(n / 10)), 40 + n]);
  const link = encode(drawn({strokes: [stroke]}));
  assert.match(link, /^lab=[A-Za-z0-9_-]+$/);
  assert.ok(link.length < 500, `${link.length} characters`);
});

test("every cut link is refused", () => {
  const link = encode(drawn({pose: Array(16).fill(0.25)}));
  for (let end = 0; end < link.length; end++) refused(link.slice(0, end));
});

test("a link with any one character changed is refused, or reads as the same state", () => {
  const state = drawn();
  const link = encode(state);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let at = "lab=".length; at < link.length; at++) {
    for (const char of alphabet.replace(link[at], "")) {
      const edited = link.slice(0, at) + char + link.slice(at + 1);
      let read = null;
      try {
        read = decode(edited, PAGE);
      } catch (error) {
        assert.match(error.message, /^This link could not be read: [^\n]+$/);
        continue;
      }
      assert.deepEqual(read, state, `${edited} read as another state`); // the last character's unused bits
    }
  }
});

test("a link longer than any the lab makes is refused before it is read", () => {
  refused(`lab=${"A".repeat(MAX_LENGTH + 1)}`);
  assert.throws(() => encode(drawn({strokes: [Array.from({length: 5000}, (_, n) => [n % 280, n % 2])]})),
                /too long for a link/);
});

test("text that is not a link of the lab is refused", () => {
  for (const text of ["", "lab=", "lab", "draw=AAAA", "lab=AAAA", "lab=ab$c", "lab=%41%42", `lab=${"_".repeat(9)}`]) {
    refused(text);
  }
});

test("a link for another page is refused: a capsule, pose, turn, example, iterations or tab it lacks", () => {
  for (const state of [drawn({digit: 10}), drawn({pose: Array(15).fill(0)}), drawn({pose: Array(16).fill(0.9)}),
                       drawn({turn: [61, 1, 0, 0, 0]}), drawn({turn: [0, 1, 0]}),
                       drawn({strokes: [], example: {gallery: "examples", index: 24}}),
                       drawn({strokes: [], example: {gallery: "pair-examples", index: 0}}), drawn({iterations: 6}),
                       drawn({tab: 2}), drawn({mode: "two"})]) {
    refused(encode(state), {...PAGE, modes: state.mode === "two" ? ["one"] : PAGE.modes,
                            galleries: state.example?.gallery === "pair-examples" ? {examples: 24} : PAGE.galleries});
  }
});

test("a drawing far off the canvas or a slider value far out of range is refused even without the page", () => {
  refused(encode(drawn({strokes: [[[10, 10], [5000, 10]]]})), null);
  refused(encode(drawn({pose: Array(16).fill(1.2e4)})), null);
});
