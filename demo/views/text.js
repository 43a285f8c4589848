// Small pieces the views' HTML shares.

// text as HTML shows it: no markup gets in.
export const escaped = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// An <img> of pixels (pixels.js's pictureUrl) with its alt text, also its tooltip.
export function imgTag(url, alt, cssClass = "") {
  return `<img class="${cssClass}" src="${url}" alt="${escaped(alt)}" title="${escaped(alt)}">`;
}

// A number with its sign and digits decimals, as Python's f"{value:+.2f}" writes it: "+0.25", "-0.05".
export const signed = (value, digits = 2) => `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;

// A number in at most 6 significant digits, no trailing zeros, as Python's f"{value:g}" writes the views' numbers.
export const general = (value) => String(Number(value.toPrecision(6)));
