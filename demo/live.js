// What the page shows for a prediction it made itself (network.js) while the pen moves: the same HTML as the
// server's handlers.py (one digit) and pairs.py (two digits) draw, with the same classes, so that the page's CSS
// and tests apply to both. canvas.js hands each prediction to view() and sends the result to the page's pictures
// in a "capsnet-local" event; the server's answer, once the pen is lifted, replaces it.
const BLANK_MESSAGE = {one: "Draw a digit", two: "Draw two digits over each other"}; // handlers.py, pairs.py
const PRESENT = 0.5; // pairs.PRESENT: a capsule this long counts as a digit that is there
const picture = document.createElement("canvas"); // off-screen: its PNG data URL is #input-28's value

// The indices of the k largest values, largest first (torch.topk).
function topk(values, k) {
  return Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
}

// handlers.lengths_html: a bar per digit capsule on a fixed 0-1 scale, the marked longest ones marked.
export function lengthsHtml(lengths, marked = 1) {
  const longest = new Set(lengths.some((value) => value !== 0) ? topk(lengths, marked) : []);
  const bars = Array.from(lengths, (value, digit) =>
    `<div class="bar${longest.has(digit) ? " longest" : ""}" title="capsule ${digit}: length ${value.toFixed(3)}">`
    + `<span class="value">${value.toFixed(2)}</span>`
    + `<span class="track"><span class="fill" style="height:${(100 * value).toFixed(1)}%"></span></span>`
    + `<span class="name">${digit}</span></div>`).join("");
  const axis = '<div class="axis"><span>1</span><span>0.5</span><span>0</span></div>';
  return `<div class="lengths-chart" aria-label="capsule lengths, 0 to 1">${axis}${bars}</div>`;
}

// handlers.prediction_html: the longest capsule's digit with its length and the runner-up's; the message when none.
export function predictionHtml(lengths, message = BLANK_MESSAGE.one) {
  if (lengths === null) return `<div class="predicted-digit empty">?</div><div class="margin">${message}</div>`;
  const [best, runnerUp] = topk(lengths, 2);
  return `<div class="predicted-digit">${best}</div>`
    + `<div class="margin">capsule ${best}: length ${lengths[best].toFixed(2)}; `
    + `next longest ${runnerUp}: ${lengths[runnerUp].toFixed(2)}</div>`;
}

// pairs.prediction_html: both digits with their lengths; only the first, and why, when the second is short.
export function pairPredictionHtml(lengths) {
  const [a, b, c] = topk(lengths, 3);
  const [first, second, third] = [a, b, c].map((digit) => lengths[digit].toFixed(2));
  if (lengths[b] < PRESENT) {
    return `<div class="predicted-digit">${a}</div><div class="margin">one digit: ${a} (length ${first}; `
      + `the next, ${b}: ${second}, is under ${PRESENT}). Draw a second digit over it for two.</div>`;
  }
  return `<div class="predicted-digit pair">${a} <small>and</small> ${b}</div>`
    + `<div class="margin">capsules ${a}: length ${first} and ${b}: ${second}; next longest ${c}: ${third}</div>`;
}

// handlers.image_url: pixels in [0, 1] (or null: black) as a grey PNG data URL.
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

// A prediction of network.js (or null: nothing to see) as the page shows it in mode ("one" or "two"): the HTML of
// #prediction and #lengths, #input-28's picture, and the selected capsule (the longest) and its pose for decoder.js.
export function view(result, mode) {
  const two = mode === "two";
  if (result.input28 === null) {
    return {prediction: predictionHtml(null, BLANK_MESSAGE[mode]), lengths: lengthsHtml(new Float32Array(10)),
            "input-28": imageUrl(null), digit: null, pose: null};
  }
  const {lengths, poses} = result;
  const digit = topk(lengths, 1)[0];
  const dims = poses.length / lengths.length;
  return {prediction: two ? pairPredictionHtml(lengths) : predictionHtml(lengths),
          lengths: lengthsHtml(lengths, two ? 2 : 1), "input-28": imageUrl(result.input28),
          digit, pose: poses.slice(digit * dims, (digit + 1) * dims)};
}
