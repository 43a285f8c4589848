// #sweep ("Turn and stretch"): per axis, a caption and two charts against the change, every capsule's length (the
// CNN's probability dashed) and the selected capsule's pose values, with the stretch where the capsule is the
// longest and the slider's value now (numbers: transform.sweep_view; the caption's numbers: Sweep.numbers).
import {numbers, slices} from "../pixels.js";
import {escaped, general, signed} from "./text.js";

// Each axis's name in the captions, its unit and how an amount on it reads.
const AXES = {
  rotate: {name: "turn", unit: "deg", read: (v) => `${v >= 0 ? "+" : ""}${general(v)} deg`},
  scale: {name: "scale", unit: "x", read: (v) => `${general(v)}x`},
};
const [WIDTH, HEIGHT] = [330, 170];
const [LEFT, RIGHT, TOP, BOTTOM] = [34, 10, 10, 26]; // the plot's margins
const LEAST_POSE_SCALE = 0.05; // the pose chart shows at least -0.05..0.05, so that a flat pose stays flat

// {digit, baseline: is the CNN loaded?, names: the pose lines' names, colours: theirs, axes: Sweep.numbers each, its
// lengths (amounts, 10) and pose (amounts, dims) packed}
export function sweep({digit, baseline, names, colours, axes}) {
  const panels = axes.map((axis) => {
    const {name} = AXES[axis.axis];
    return `<div class="sweep-axis" data-axis="${escaped(axis.axis)}"><p class="caption">`
      + `${escaped(caption(axis, digit))}</p><div class="charts">`
      + `<figure>${lengthsChart(axis, digit)}<figcaption>lengths against the ${name}</figcaption></figure>`
      + `<figure>${poseChart(axis, digit, names, colours)}<figcaption>capsule ${digit}'s ${names.length} pose `
      + "values (hover a line for its dimension)</figcaption></figure></div></div>";
  });
  return legend(digit, baseline) + panels.join("");
}

function legend(digit, baseline) {
  return `<p class="legend-line"><span class="key on"></span> capsule ${digit}'s length `
    + '<span class="key other"></span> the other capsules '
    + (baseline ? `<span class="key cnn"></span> CNN: probability of ${digit} `
      : "(no CNN baseline loaded: train it with <code>python train.py --model cnn</code>) ")
    + '<span class="key kept"></span> capsule longest <span class="key now"></span> the slider now</p>';
}

// What this input shows along one axis, in words, from the numbers Python measured (Sweep.numbers).
export function caption(axis, digit) {
  const {name, read} = AXES[axis.axis];
  const stretch = ([low, high]) => (low === axis.amounts[0] && high === axis.amounts.at(-1)
    ? "over the whole sweep" : `from ${read(low)} to ${read(high)}`);
  const named = name[0].toUpperCase() + name.slice(1);
  let text = axis.kept === null
    ? `${named}: at this setting the ${axis.longest_now}, not the ${digit}, is the longest capsule`
    : `${named}: the ${digit} stays the longest capsule ${stretch(axis.kept)}`
      + (axis.others.length > 0 ? ` (beyond, ${axis.others.map((d) => `the ${d}`).join(" or ")})` : "");
  const [least, most] = axis.length_range;
  text += `; capsule ${digit}'s length goes ${least.toFixed(2)}-${most.toFixed(2)} over the sweep.`;
  if (axis.cnn_top !== null) {
    text += axis.cnn_kept === null ? ` At this setting the CNN picks the ${axis.cnn_now}.`
      : ` The CNN picks the ${digit} ${stretch(axis.cnn_kept)}.`;
  }
  const follows = axis.following.map(({dim, r}) => `dim ${dim} (r ${signed(r)})`).join(", ");
  return text + (follows ? ` Pose values that follow the ${name} most closely: ${follows}.` : "");
}

// Every capsule's length against the amount, the selected one thick; the CNN's probability of it dashed.
function lengthsChart(axis, digit) {
  const on = plot(axis.amounts, 0, 1);
  const rows = slices(axis.lengths); // an amount's ten lengths each
  const column = (d) => rows.map((row) => row[d]);
  const others = [...rows[0].keys()].filter((d) => d !== digit);
  const lines = others.map((d) => line(on, axis.amounts, column(d), "other", `capsule ${d}`)).join("")
    + line(on, axis.amounts, column(digit), "on", `capsule ${digit}'s length`)
    + (axis.cnn === null ? "" : line(on, axis.amounts, axis.cnn, "cnn", `CNN: probability of ${digit}`));
  return svg(frame(on, axis, digit, [0, 0.5, 1]) + lines,
             `capsule lengths against the ${AXES[axis.axis].name}; capsule ${digit} thick, the CNN's probability dashed`);
}

// The selected capsule's pose values against the amount, a line per dimension in its colour, named.
function poseChart(axis, digit, names, colours) {
  const top = Math.max(...numbers(axis.pose).map(Math.abs), LEAST_POSE_SCALE);
  const on = plot(axis.amounts, -top, top);
  const rows = slices(axis.pose); // an amount's pose each
  const lines = names.map((name, d) => line(on, axis.amounts, rows.map((row) => row[d]), "pose", name,
                                            colours[d])).join("");
  const ticks = [-Number(top.toFixed(2)), 0, Number(top.toFixed(2))];
  return svg(frame(on, axis, digit, ticks) + lines,
             `capsule ${digit}'s ${names.length} pose values against the ${AXES[axis.axis].name}`);
}

// A plot area: amounts along x (the sweep's range), values along y (low..high, clipped).
function plot(amounts, low, high) {
  const [first, last] = [amounts[0], amounts.at(-1)];
  return {
    x: (amount) => LEFT + ((WIDTH - LEFT - RIGHT) * (amount - first)) / (last - first),
    y: (value) => HEIGHT - BOTTOM - ((HEIGHT - TOP - BOTTOM) * (Math.min(Math.max(value, low), high) - low))
      / (high - low),
  };
}

function line(on, amounts, values, css, title, colour = null) {
  const points = amounts.map((amount, k) => `${on.x(amount).toFixed(1)},${on.y(values[k]).toFixed(1)}`).join(" ");
  const style = colour === null ? "" : ` style="stroke:${escaped(colour)}"`;
  return `<polyline class="${css}" points="${points}"${style}><title>${escaped(title)}</title></polyline>`;
}

// Grid lines, tick labels, the band where the capsule is the longest and the slider's value now.
function frame(on, axis, digit, yTicks) {
  const {unit, read} = AXES[axis.axis];
  const parts = [];
  if (axis.kept !== null) {
    const [low, high] = axis.kept.map(on.x);
    parts.push(`<rect class="kept" x="${low.toFixed(1)}" y="${TOP}" width="${Math.max(high - low, 2).toFixed(1)}" `
      + `height="${HEIGHT - TOP - BOTTOM}"><title>capsule ${digit} longest</title></rect>`);
  }
  for (const v of yTicks) {
    const y = on.y(v);
    parts.push(`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/>`
      + `<text x="${LEFT - 4}" y="${(y + 3).toFixed(1)}" text-anchor="end">${general(v)}</text>`);
  }
  const [first, last] = [axis.amounts[0], axis.amounts.at(-1)];
  for (let k = 0; k <= 4; k++) {
    const v = first + ((last - first) * k) / 4;
    parts.push(`<text x="${on.x(v).toFixed(1)}" y="${HEIGHT - 12}" text-anchor="middle">${general(v)}</text>`);
  }
  parts.push(`<text x="${WIDTH - RIGHT}" y="${HEIGHT - 1}" text-anchor="end">${unit}</text>`);
  const now = on.x(axis.current).toFixed(1);
  parts.push(`<line class="now" x1="${now}" x2="${now}" y1="${TOP}" y2="${HEIGHT - BOTTOM}">`
    + `<title>now: ${read(axis.current)}</title></line>`);
  return parts.join("");
}

function svg(body, label) {
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" `
    + `aria-label="${escaped(label)}">${body}</svg>`;
}
