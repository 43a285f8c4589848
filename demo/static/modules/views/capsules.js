// #all-capsules: what every digit capsule draws from its own pose, with its length (numbers: explainer.all_capsules).
import {pictureUrl, unpack} from "../pixels.js";
import {imgTag} from "./text.js";

// {images: packed (10, 28, 28) grey, lengths: 10 numbers, longest, selected}
export async function allCapsules({images, lengths, longest, selected}) {
  const pixels = await unpack(images);
  const [count, height, width] = images.shape;
  const cells = Array.from({length: count}, (_, d) => {
    const url = pictureUrl(pixels.subarray(d * height * width, (d + 1) * height * width), width, height);
    const classes = [d === longest ? "longest" : "", d === selected ? "selected" : ""].join(" ").trim();
    return `<figure class="${classes}">${imgTag(url, `capsule ${d} decoded`)}`
      + `<figcaption><b>${d}</b> ${lengths[d].toFixed(2)}</figcaption></figure>`;
  });
  return `<div class="capsule-row">${cells.join("")}</div>`;
}
