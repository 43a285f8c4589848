// What the page shows for a prediction it made itself (network.js): the numbers that views.js draws, as the server's
// readers.py and explainer.py send them, and #input-28's picture. canvas.js hands each prediction to view() and
// sends the result to the page's views in a "capsnet-local" event: while the pen moves, the prediction alone; once it
// is lifted, with the explainer views too (explained.js), and nothing goes to the server.
import {viewsOf} from "./explained.js";

const picture = document.createElement("canvas"); // off-screen: its PNG data URL is #input-28's value

// pictures.image_url: pixels in [0, 1] (or null: black) as a grey PNG data URL.
export function imageUrl(pixels, size = 28) {
  picture.width = picture.height = size;
  const pen = picture.getContext("2d");
  const rgba = pen.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    const grey = pixels ? Math.round(Math.min(Math.max(pixels[p], 0), 1) * 255) : 0;
    rgba.data.set([grey, grey, grey, 255], 4 * p);
  }
  pen.putImageData(rgba, 0, 0);
  return picture.toDataURL("image/png");
}

// One colour channel (0 red, 1 green, 2 blue) of the picture at url, 0-255 per pixel, row by row.
export async function channelOf(url, channel) {
  const image = new Image();
  image.src = url;
  await image.decode();
  picture.width = image.width;
  picture.height = image.height;
  const pen = picture.getContext("2d");
  pen.drawImage(image, 0, 0);
  const rgba = pen.getImageData(0, 0, image.width, image.height).data;
  return Uint8ClampedArray.from({length: image.width * image.height}, (_, p) => rgba[4 * p + channel]);
}

// A prediction of network.js (or null: nothing to see) as the page shows it in mode ("one" or "two", whose manifest
// entry says how it reads: readers.Reader.page), by view: the reading of #prediction and #lengths (Reader.reading),
// #input-28's picture, the selected capsule (the longest, or the one the views were asked for) and its pose for
// decoder.js; with the explainer views' numbers when the prediction has them (explained); final (the
// pen is lifted) with nothing to see: those views' waiting lines.
export function view(result, mode, final = false) {
  const {num_digits: count, reads: {digits, present, blank_message: blank}, views} =
    window.capsnetLocal.manifest.models[mode];
  if (result.input28 === null) {
    const reading = {lengths: Array(count).fill(0), digits, present, message: blank};
    const waiting = Object.fromEntries(Object.entries(views.waiting).map(([name, line]) => [name, {waiting: line}]));
    return {prediction: reading, lengths: reading, "input-28": imageUrl(null), digit: null, pose: null,
            ...(final ? waiting : {})};
  }
  const {lengths, poses, explained} = result;
  const digit = explained?.digit ?? lengths.indexOf(Math.max(...lengths));
  const dims = poses.length / lengths.length;
  const reading = {lengths: Array.from(lengths), digits, present, message: null};
  const shown = {prediction: reading, lengths: reading, "input-28": imageUrl(result.input28), digit,
                 pose: poses.slice(digit * dims, (digit + 1) * dims)};
  return explained ? {...shown, ...viewsOf({...explained, input28: result.input28, lengths}, views)} : shown;
}
