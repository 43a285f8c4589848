// The views the page draws from numbers, whoever computed them: the server's answer (a gr.HTML's props.value) or
// the page's own network (network.js). One renderer per view, by the view's name (render); each says where its
// numbers are made in Python. Pictures come as packed pixels (pixels.js).
//
// A reading (readers.Reader.reading): {lengths: 10 numbers, digits: how many of the longest capsules are digits
// (1 or 2), present: from which length a capsule counts as a digit, message: a line to show instead, or null}.
import {allCapsules} from "./views/capsules.js";
import {poseDimensions} from "./views/dimensions.js";
import {figure4} from "./views/figure4.js";
import {primary} from "./views/primary.js";
import {routing} from "./views/routing.js";
import {sweep} from "./views/sweep.js";
import {escaped} from "./views/text.js";

// The view called name for value: its HTML (a promise: pictures are unpacked first). A value {waiting: "..."} is
// a view with nothing to show yet (explainer.waiting).
export async function render(name, value) {
  if (value?.waiting !== undefined) return `<p class="waiting">${escaped(value.waiting)}</p>`;
  return VIEWS[name](value);
}

// The indices of the k largest values, largest first (torch.topk).
function topk(values, k) {
  return Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
}

const fixed = (value) => value.toFixed(2);

// #prediction: the digit (or two) large, with the lengths that chose it; the message when there is none.
export function prediction({lengths, digits, present, message}) {
  if (message !== null) {
    return `<div class="predicted-digit empty">?</div><div class="margin">${escaped(message)}</div>`;
  }
  const [a, b, c] = topk(lengths, 3);
  if (digits === 1) {
    return `<div class="predicted-digit">${a}</div>`
      + `<div class="margin">capsule ${a}: length ${fixed(lengths[a])}; next longest ${b}: ${fixed(lengths[b])}</div>`;
  }
  if (lengths[b] < present) {
    return `<div class="predicted-digit">${a}</div><div class="margin">one digit: ${a} (length ${fixed(lengths[a])}; `
      + `the next, ${b}: ${fixed(lengths[b])}, is under ${present}). Draw a second digit over it for two.</div>`;
  }
  return `<div class="predicted-digit pair">${a} <small>and</small> ${b}</div>`
    + `<div class="margin">capsules ${a}: length ${fixed(lengths[a])} and ${b}: ${fixed(lengths[b])}; `
    + `next longest ${c}: ${fixed(lengths[c])}</div>`;
}

// #lengths: a bar per digit capsule on a fixed 0-1 scale, the digits read marked (none when all are 0); they need
// not sum to 1, so no percentages.
export function lengths({lengths: values, digits}) {
  const marked = new Set(values.some((value) => value !== 0) ? topk(values, digits) : []);
  const bars = Array.from(values, (value, digit) =>
    `<div class="bar${marked.has(digit) ? " longest" : ""}" title="capsule ${digit}: length ${value.toFixed(3)}">`
    + `<span class="value">${fixed(value)}</span>`
    + `<span class="track"><span class="fill" style="height:${(100 * value).toFixed(1)}%"></span></span>`
    + `<span class="name">${digit}</span></div>`).join("");
  const axis = '<div class="axis"><span>1</span><span>0.5</span><span>0</span></div>';
  return `<div class="lengths-chart" aria-label="capsule lengths, 0 to 1">${axis}${bars}</div>`;
}

const VIEWS = {prediction, lengths, routing, primary, figure4, "all-capsules": allCapsules, sweep,
               "pose-dimensions": poseDimensions};
