// Small pieces the views' HTML shares.

// text as HTML shows it: no markup gets in.
export const escaped = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// An <img> of pixels (pixels.js's pictureUrl) with its alt text, also its tooltip.
export function imgTag(url, alt, cssClass = "") {
  return `<img class="${cssClass}" src="${url}" alt="${escaped(alt)}" title="${escaped(alt)}">`;
}
