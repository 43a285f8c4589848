// Small pieces the views' HTML shares.
import {colour} from "../pixels.js";

// text as HTML shows it: no markup gets in.
export const escaped = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// An <img> of pixels (pixels.js's pictureUrl) with its alt text, also its tooltip.
export function imgTag(url, alt, cssClass = "") {
  return `<img class="${cssClass}" src="${url}" alt="${escaped(alt)}" title="${escaped(alt)}">`;
}

// value as a percentage with that many decimals: 0.1234 -> "12.3%".
export const percent = (value, decimals) => `${(100 * value).toFixed(decimals)}%`;

// Two significant digits, as Python's "{:.2g}" writes them: 0.05, 0.1, -0.37, 0.
const twoDigits = (value) => String(Number(value.toPrecision(2)));

const RAMP_STOPS = 9; // colours sampled along a legend's ramp, low to high

// A colour scale (pixels.js's scale, unpacked) as a ramp under its label (HTML), with its low end, centre and high
// end written under it (number: their format).
export function legend(colours, label, number = twoDigits) {
  const {low, centre, high} = colours;
  const along = Array.from({length: RAMP_STOPS}, (_, k) => low + ((high - low) * k) / (RAMP_STOPS - 1));
  const rgb = colour(along, colours);
  const stops = along.map((_, k) => `rgb(${rgb.subarray(3 * k, 3 * k + 3).join(", ")})`).join(", ");
  const ends = [low, centre, high].map((value) => `<span>${number(value)}</span>`).join("");
  return `<div class="legend"><span class="label">${label}</span>`
    + `<span class="ramp" style="background:linear-gradient(to right, ${stops})"></span>`
    + `<span class="ends">${ends}</span></div>`;
}

// A number with its sign and digits decimals, as Python's f"{value:+.2f}" writes it: "+0.25", "-0.05".
export const signed = (value, digits = 2) => `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;

// A number in at most 6 significant digits, no trailing zeros, as Python's f"{value:g}" writes the views' numbers.
export const general = (value) => String(Number(value.toPrecision(6)));
