// The lab as someone left it, in a link: the state share.js reads off the page, written into the address's fragment
// ("#lab=..."), which the browser never sends to the server. Pure functions, no page:
//   encode(state) -> "lab=<base64url>"
//   decode(text, page) -> state, or throws an Error whose message is one line for the page
//
// state: {mode: "one" | "two" (#mode), strokes: the canvas's strokes, each a list of [x, y] points in whole canvas
// pixels, example: null or {gallery: "examples" | "pair-examples", index} (the input is a shipped example then, not the
// strokes), upload: true when the input is an uploaded file (which the link does not hold), digit: #digit or null,
// pose: the 16 slider values when moved, else null, turn: #transform's five values, iterations: #iterations or null,
// tab: the open tab of #deeper (0, 1, ...)}.
//
// The bytes, then base64url: a version, the mode, the input (strokes as varints: the first point of each, then the
// steps between points, each relative to the point before, so that a pen's small steps take a byte), the capsule,
// the values (to 4 decimals, as the sliders hold them), the iterations, the tab, and an FNV-1a checksum over all of
// it, so that a changed or cut link is refused rather than read as another drawing.
const PREFIX = "lab=";
const VERSION = 1;
const MODES = ["one", "two"];
const GALLERIES = ["examples", "pair-examples"];
const INPUTS = ["strokes", "example", "upload"];
const DECIMALS = 1e4; // the sliders' values are kept to 4 decimals (wiring.PAGE_READ, inputs.slider_values)
const CHECKSUM_BYTES = 4;
// Bounds of what a link may hold, far above what a drawing needs: a hand-made link cannot make the page draw for long
// (every point takes at least two of its bytes).
export const MAX_LENGTH = 12000; // characters after "lab="; a typical digit takes a few hundred
const MAX_COORDINATE = 4096; // |x| and |y|, canvas pixels (canvas.js keeps points within a canvas's size of it)
const MAX_VALUES = 64;
const MAX_VALUE = 1e4; // |value| of a pose or turn value: the sliders' ranges are far smaller
const VARINT_BYTES = 4; // 28 bits: every number here fits

const CANNOT_READ = "This link could not be read";

function refuse(why) {
  throw new Error(`${CANNOT_READ}: ${why}; the lab opens empty.`);
}

// -- writing --------------------------------------------------------------------------------------------------------

function writer() {
  const bytes = [];
  const varint = (n) => {
    if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** (7 * VARINT_BYTES)) throw new Error(`cannot write ${n}`);
    for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n % 0x80) | 0x80);
    bytes.push(n);
  };
  const signed = (n) => varint(n < 0 ? -2 * n - 1 : 2 * n); // zigzag: small either way, small in bytes
  return {bytes, varint, signed};
}

function indexOf(list, value, what) {
  const index = list.indexOf(value);
  if (index < 0) throw new Error(`${what} ${JSON.stringify(value)} is not one of ${list.join(", ")}`);
  return index;
}

function writeStrokes(out, strokes) {
  out.varint(strokes.length);
  let [x, y] = [0, 0];
  for (const stroke of strokes) {
    out.varint(stroke.length);
    for (const [px, py] of stroke) {
      out.signed(px - x);
      out.signed(py - y);
      [x, y] = [px, py];
    }
  }
}

function writeValues(out, values) {
  out.varint(values?.length ?? 0);
  for (const value of values ?? []) out.signed(Math.round(value * DECIMALS));
}

export function encode(state) {
  const out = writer();
  out.varint(VERSION);
  out.varint(indexOf(MODES, state.mode, "mode"));
  if (state.upload) {
    out.varint(INPUTS.indexOf("upload"));
  } else if (state.example) {
    out.varint(INPUTS.indexOf("example"));
    out.varint(indexOf(GALLERIES, state.example.gallery, "gallery"));
    out.varint(state.example.index);
  } else {
    out.varint(INPUTS.indexOf("strokes"));
    writeStrokes(out, state.strokes ?? []);
  }
  out.varint(state.digit === null || state.digit === undefined ? 0 : state.digit + 1);
  writeValues(out, state.pose);
  writeValues(out, state.turn);
  out.varint(state.iterations ?? 0);
  out.varint(state.tab ?? 0);
  const text = PREFIX + base64url([...out.bytes, ...checksum(out.bytes)]);
  if (text.length - PREFIX.length > MAX_LENGTH) throw new Error("The drawing is too long for a link: clear it and draw again.");
  return text;
}

// -- reading ---------------------------------------------------------------------------------------------------------

function reader(bytes) {
  let at = 0;
  const varint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift >= 7 * VARINT_BYTES) refuse("a number in it is too large");
      if (at >= bytes.length) refuse("it ends too soon");
      const byte = bytes[at++];
      n += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return n;
    }
  };
  const signed = () => {
    const n = varint();
    return n % 2 ? -(n + 1) / 2 : n / 2;
  };
  const upTo = (limit, what) => {
    const n = varint();
    if (n > limit) refuse(`it holds ${n} ${what}, more than ${limit}`);
    return n;
  };
  const choice = (list, what) => {
    const n = varint();
    if (n >= list.length) refuse(`it names an unknown ${what}`);
    return list[n];
  };
  return {varint, signed, upTo, choice, done: () => at === bytes.length};
}

function readStrokes(input) {
  const strokes = [];
  let [x, y] = [0, 0];
  for (let count = input.varint(); count > 0; count--) { // each stroke and point reads a byte: a false count runs out
    const length = input.varint();
    if (length === 0) refuse("it holds a stroke with no point");
    const stroke = [];
    for (let n = 0; n < length; n++) {
      [x, y] = [x + input.signed(), y + input.signed()];
      if (Math.abs(x) > MAX_COORDINATE || Math.abs(y) > MAX_COORDINATE) refuse("a point of its drawing is far off the canvas");
      stroke.push([x, y]);
    }
    strokes.push(stroke);
  }
  return strokes;
}

function readValues(input) {
  const count = input.upTo(MAX_VALUES, "values");
  const values = Array.from({length: count}, () => input.signed() / DECIMALS);
  if (values.some((value) => Math.abs(value) > MAX_VALUE)) refuse("a slider value in it is out of range");
  return count ? values : null;
}

export function decode(text, page = null) {
  if (typeof text !== "string" || !text.startsWith(PREFIX)) refuse(`it does not start with "${PREFIX}"`);
  const payload = text.slice(PREFIX.length);
  if (payload.length > MAX_LENGTH) refuse(`it is longer than ${MAX_LENGTH} characters`);
  const bytes = fromBase64url(payload);
  if (bytes.length <= CHECKSUM_BYTES) refuse("it is cut short");
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  if (checksum(body).some((byte, n) => byte !== bytes[body.length + n])) refuse("it was changed or cut short");
  const input = reader(body);
  if (input.varint() !== VERSION) refuse("another version of the lab made it");
  const state = {mode: input.choice(MODES, "mode"), strokes: [], example: null, upload: false};
  const kind = input.choice(INPUTS, "input");
  if (kind === "strokes") state.strokes = readStrokes(input);
  else if (kind === "upload") state.upload = true;
  else state.example = {gallery: input.choice(GALLERIES, "gallery"), index: input.varint()};
  const digit = input.varint();
  Object.assign(state, {digit: digit === 0 ? null : digit - 1, pose: readValues(input), turn: readValues(input)});
  const iterations = input.varint();
  Object.assign(state, {iterations: iterations === 0 ? null : iterations, tab: input.varint()});
  if (!input.done()) refuse("it holds more than a state of the lab");
  if (page !== null) fits(state, page);
  return state;
}

// The state against what the page has (share.js reads it off the page): {modes, digits (how many capsules),
// iterations (the choices), pose: {count, low, high}, turn: [[low, high], ...], galleries: {name: count}, tabs}.
function fits(state, page) {
  const within = (values, ranges) => values.every((value, n) => ranges[n][0] <= value && value <= ranges[n][1]);
  if (!page.modes.includes(state.mode)) refuse(`this page has no "${state.mode}" mode`);
  if (state.example && !(state.example.index < (page.galleries[state.example.gallery] ?? 0))) {
    refuse("this page has no such example");
  }
  if (state.digit !== null && state.digit >= page.digits) refuse(`this page has no capsule ${state.digit}`);
  const {count, low, high} = page.pose;
  if (state.pose && (state.pose.length !== count || !within(state.pose, Array(count).fill([low, high])))) {
    refuse("its pose does not fit the sliders");
  }
  if (state.turn && (state.turn.length !== page.turn.length || !within(state.turn, page.turn))) {
    refuse("its turn and stretch do not fit the sliders");
  }
  if (state.iterations !== null && !page.iterations.includes(state.iterations)) refuse("this page has no such iterations");
  if (state.tab >= page.tabs) refuse("this page has no such tab");
}

// -- bytes and text --------------------------------------------------------------------------------------------------

// FNV-1a, 32 bits, as four bytes: any changed or missing byte changes it.
function checksum(bytes) {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return [hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff];
}

function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) refuse("it holds characters a link of the lab never has");
  if (text.length % 4 === 1) refuse("it is cut short"); // no base64 is: its last character would hold 6 bits alone
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
