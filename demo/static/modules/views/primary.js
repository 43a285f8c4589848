// #primary: what the primary capsule types say about the selected digit (numbers: explainer.primary). A map per
// type of its capsules' agreement with the digit capsule, the types most agreeing first, each with its mean.
import {colour, pictureUrl, scale, slices} from "../pixels.js";
import {imgTag, legend} from "./text.js";

// +0.123 or -0.045: a mean's sign always written.
const signed = (value) => `${value < 0 ? "" : "+"}${value.toFixed(3)}`;

// {digit, maps: packed (types, grid, grid), means: (types), order: the types most agreeing first, scale: the agreement
// colour scale, its ends at this input's quantile of |agreement|, quantile}.
// picture: pixels, width, height -> an image URL (pixels.js's pictureUrl, which needs a page's canvas).
export async function primary({digit, maps, means, order, scale: agreement, quantile}, picture = pictureUrl) {
  const colours = await scale(agreement);
  const [typeMaps, [, height, width]] = [slices(maps), maps.shape];
  const tiles = order.map((type) => {
    const url = picture(colour(typeMaps[type], colours), width, height);
    return `<figure>${imgTag(url, `type ${type}`)}<figcaption>type ${type}<br>${signed(means[type])}</figcaption>`
      + "</figure>";
  });
  const label = `agreement with capsule ${digit}'s direction (the scale ends at this input's `
    + `${Math.round(100 * quantile)}% quantile; the few beyond are clipped)`;
  return `<div class="type-maps">${tiles.join("")}</div>${legend(colours, label)}`;
}
