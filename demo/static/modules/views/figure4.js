// #figure4: the paper's Figure 4 for the selected capsule, a row per pose dimension and a column per nudge of it
// (numbers: explainer.figure4).
import {pictureUrl, tile, unpack} from "../pixels.js";
import {escaped, imgTag, signed} from "./text.js";

const WHITE = 255; // between the decodes, as capsnet.figures.figure4 draws them

// {images: packed (16, 11, 28, 28) grey, perturbations: 11 nudges, names: 16 rows' names, digit, gap: pixels
// between the tiles}. picture: pixels -> an image URL (pixels.js's pictureUrl; node's tests pass their own).
export async function figure4({images, perturbations, names, digit, gap}, picture = pictureUrl) {
  const grid = tile(await unpack(images), images.shape, gap, WHITE);
  const nudges = perturbations.map((d) => `<span class="${d === 0 ? "own" : ""}">${signed(d)}</span>`).join("");
  const dims = names.map((name) => `<span>${escaped(name)}</span>`).join("");
  const alt = `Figure 4 for capsule ${digit}: ${names.length} dimensions x ${perturbations.length} nudges`;
  return `<div class="figure4-grid"><div class="corner">capsule ${digit}</div><div class="nudges">${nudges}</div>`
    + `<div class="dims">${dims}</div>${imgTag(picture(grid.pixels, grid.width, grid.height), alt, "grid")}</div>`;
}
