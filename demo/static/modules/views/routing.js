// #routing: routing by agreement, iteration by iteration (numbers: explainer.routing). A caption says what routing
// did for this input; a column per iteration shows the coupling of every primary capsule to the digit, where the
// digit's votes come from in the input, its share of all votes and the ten lengths; then the lengths after each
// iteration as a chart, and the colour legends.
import {colour, pictureUrl, scale, slices, unpack} from "../pixels.js";
import {imgTag, legend, percent} from "./text.js";

const TILE_COLUMNS = 8; // the primary capsule types' grids, 8 to a row (the paper's 32: 4 rows)
const GAP_GREY = 205; // between the tiles: a little darker than the coupling scale's white centre
const VEIL = 0.35; // the input's strokes over the vote map: full ink lightens it this much toward white

const fixed = (value) => value.toFixed(2);

// {digit, coupling: packed (r, types, grid, grid), coupling_scale, votes: packed (r, 28, 28), vote_scale, input:
// packed (28, 28) grey, shares: (r), lengths: (r, 10), last_coupling: {min, max, mean}, longest: {first, last}}.
// picture: pixels, width, height -> an image URL (pixels.js's pictureUrl, which needs a page's canvas).
export async function routing(value, picture = pictureUrl) {
  const {digit, shares, lengths} = value;
  const [couplingScale, voteScale, ink] = await Promise.all(
    [scale(value.coupling_scale), scale(value.vote_scale), unpack(value.input)]);
  const [coupling, votes] = [slices(value.coupling), slices(value.votes)];
  const [[, types, grid], [, height, width]] = [value.coupling.shape, value.votes.shape];
  const coupled = `coupling of the ${types * grid * grid} primary capsules to ${digit}`;
  const columns = shares.map((share, r) => `<div class="iteration"><h4>iteration ${r + 1}</h4>`
    + imgTag(picture(...mosaic(coupling[r], types, grid, couplingScale)), `iteration ${r + 1}: ${coupled}`, "mosaic")
    + imgTag(picture(colourOver(votes[r], ink, voteScale), width, height),
      `iteration ${r + 1}: where the votes for ${digit} come from`, "votes")
    + `<p class="share">votes for ${digit}: <b>${percent(share, 1)}</b> of all</p>`
    + `${miniLengths(lengths[r], digit)}</div>`);
  const legends = legend(couplingScale, `coupling c<sub>ij</sub> to this digit (1/${lengths[0].length}: an even split)`)
    + legend(voteScale, "share of all votes, per input pixel", (share) => percent(share, 3));
  return `<p class="caption">${caption(value)}</p><div class="iterations">${columns.join("")}</div>`
    + `<div class="routing-extras">${lengthsChart(lengths, digit)}${legends}</div>`;
}

// An honest sentence on how much routing changed things for this input.
export function caption({digit, shares, lengths, last_coupling: coupling, longest}) {
  const [first, last, even] = [lengths[0], lengths.at(-1), `1/${lengths[0].length}`];
  if (lengths.length === 1) {
    return `With 1 iteration there is no routing: every coupling stays ${even}, capsule ${digit}'s length is `
      + `${fixed(first[digit])} and it gets ${percent(shares[0], 1)} of all votes. Choose 2 or more to see routing `
      + "work.";
  }
  const moved = `With ${lengths.length} iterations, routing moved capsule ${digit}'s length from `
    + `${fixed(first[digit])} (iteration 1, every coupling ${even}) to ${fixed(last[digit])}, and its share of all `
    + `votes from ${percent(shares[0], 1)} to ${percent(shares.at(-1), 1)}; single couplings to ${digit} now range `
    + `${fixed(coupling.min)}-${fixed(coupling.max)}, their mean ${fixed(coupling.mean)}. `;
  if (longest.first !== longest.last) {
    return `${moved}Routing changed the answer: without it the longest capsule was ${longest.first}, now it is `
      + `${longest.last}.`;
  }
  return `${moved}The longest capsule was ${longest.last} before routing too: routing sharpened the answer, not `
    + "chose it.";
}

// The types' grids (cells: types x grid x grid, row-major) on the colour scale as tiles, TILE_COLUMNS to a row,
// GAP_GREY lines between them -> [RGB pixels, width, height].
function mosaic(cells, types, grid, colours) {
  const columns = Math.min(types, TILE_COLUMNS);
  const [width, height] = [columns * (grid + 1) - 1, Math.ceil(types / columns) * (grid + 1) - 1];
  const rgb = new Uint8ClampedArray(3 * width * height).fill(GAP_GREY);
  const tiles = colour(cells, colours); // (types * grid * grid * 3)
  for (let type = 0; type < types; type++) {
    const [top, left] = [Math.floor(type / columns) * (grid + 1), (type % columns) * (grid + 1)];
    for (let row = 0; row < grid; row++) {
      const from = 3 * grid * (type * grid + row);
      rgb.set(tiles.subarray(from, from + 3 * grid), 3 * ((top + row) * width + left));
    }
  }
  return [rgb, width, height];
}

// A vote map (row-major, as many values as the input's pixels) on the colour scale with the input's strokes
// (grey, 0-255) over it as a light veil -> RGB pixels.
function colourOver(map, ink, colours) {
  const rgb = colour(map, colours);
  for (let n = 0; n < rgb.length; n++) {
    const veil = (VEIL * ink[Math.floor(n / 3)]) / 255;
    rgb[n] = Math.round(rgb[n] * (1 - veil) + 255 * veil);
  }
  return rgb;
}

// Ten thin bars on a 0-1 scale, the selected digit's marked.
function miniLengths(values, digit) {
  const bars = values.map((value, d) => `<span class="${d === digit ? "on" : ""}" `
    + `style="height:${(100 * value).toFixed(0)}%" title="capsule ${d}: ${value.toFixed(3)}"></span>`).join("");
  const names = values.map((_, d) => `<i>${d}</i>`).join("");
  return `<div class="mini-lengths">${bars}</div><div class="mini-names">${names}</div>`;
}

// Each capsule's length (0-1) after each iteration (r, 10) as a line; the selected digit's thick and labelled.
function lengthsChart(lengths, digit, width = 260, height = 150) {
  const [left, bottom, top, right] = [30, height - 22, 8, width - 24];
  const x = (r) => left + ((right - left) * r) / Math.max(lengths.length - 1, 1);
  const y = (value) => bottom - (bottom - top) * value;
  const at = (coordinate) => coordinate.toFixed(1);
  const points = (d) => lengths.map((row, r) => `${at(x(r))},${at(y(row[d]))}`).join(" ");
  const others = lengths[0].map((_, d) => d).filter((d) => d !== digit)
    .map((d) => `<polyline points="${points(d)}"><title>capsule ${d}</title></polyline>`).join("");
  const yTicks = [0, 0.5, 1].map((v) => `<text x="${left - 4}" y="${at(y(v) + 4)}" text-anchor="end">${v}</text>`
    + `<line x1="${left}" x2="${right}" y1="${at(y(v))}" y2="${at(y(v))}"></line>`).join("");
  const xTicks = lengths.map((_, r) => `<text x="${at(x(r))}" y="${height - 6}" text-anchor="middle">${r + 1}</text>`)
    .join("");
  const label = `<text class="on" x="${at(x(lengths.length - 1) + 4)}" y="${at(y(lengths.at(-1)[digit]) + 4)}">`
    + `${digit}</text>`;
  return `<figure class="lengths-per-iteration"><svg viewBox="0 0 ${width} ${height}" width="${width}" `
    + `height="${height}" role="img" aria-label="capsule lengths after each iteration">${yTicks}${xTicks}${others}`
    + `<polyline class="on" points="${points(digit)}"></polyline>${label}</svg>`
    + `<figcaption>lengths after each iteration (x), capsule ${digit} thick</figcaption></figure>`;
}
