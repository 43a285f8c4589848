// What the page shows for a prediction it made itself (network.js) while the pen moves: the numbers that views.js
// draws, as the server's readers.py sends them, and #input-28's picture. canvas.js hands each prediction to view()
// and sends the result to the page's views in a "capsnet-local" event; the server's answer, once the pen is lifted,
// replaces it.
//
// warp() is capsnet.transforms.warp for one 28x28 image, for the #transform sliders (predicted in the page).
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
// #input-28's picture, and the selected capsule (the longest) and its pose for decoder.js.
export function view(result, mode) {
  const {num_digits: count, reads: {digits, present, blank_message: blank}} = window.capsnetLocal.manifest.models[mode];
  if (result.input28 === null) {
    const reading = {lengths: Array(count).fill(0), digits, present, message: blank};
    return {prediction: reading, lengths: reading, "input-28": imageUrl(null), digit: null, pose: null};
  }
  const {lengths, poses} = result;
  const digit = lengths.indexOf(Math.max(...lengths));
  const dims = poses.length / lengths.length;
  const reading = {lengths: Array.from(lengths), digits, present, message: null};
  return {prediction: reading, lengths: reading, "input-28": imageUrl(result.input28), digit,
          pose: poses.slice(digit * dims, (digit + 1) * dims)};
}

// capsnet.transforms.change_matrix: rotation @ shear @ scale in image coordinates (x right, y down), as
// [[a, b], [c, d]]. rotate: degrees, counter-clockwise on screen; shear: the top leans right, like italics.
function changeMatrix(rotate, scale, shear) {
  const angle = (rotate * Math.PI) / 180;
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  return [[cos * scale, (sin - cos * shear) * scale], [-sin * scale, (cos + sin * shear) * scale]];
}

// capsnet.transforms.warp for one square image (a Float32Array, row-major): each pixel p moved to
// matrix @ p + shift about the image centre, read back bilinearly with zeros outside, as PyTorch's affine_grid
// and grid_sample (align_corners=False) do, in float64 like them.
export function warp(image, {rotate = 0, scale = 1, shear = 0, shift = [0, 0]} = {}) {
  const size = Math.round(Math.sqrt(image.length));
  const [[a, b], [c, d]] = changeMatrix(rotate, scale, shear);
  const det = a * d - b * c;
  const inverse = [[d / det, -b / det], [-c / det, a / det]]; // where each output pixel comes from
  const [dx, dy] = shift.map((value) => (2 * value) / size); // in coordinates of -1..1
  const offset = [-(inverse[0][0] * dx + inverse[0][1] * dy), -(inverse[1][0] * dx + inverse[1][1] * dy)];
  const pixel = (x, y) => (x >= 0 && x < size && y >= 0 && y < size ? image[y * size + x] : 0);
  const warped = new Float32Array(size * size);
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      const [x, y] = [(2 * column + 1) / size - 1, (2 * row + 1) / size - 1];
      const sourceX = ((inverse[0][0] * x + inverse[0][1] * y + offset[0] + 1) * size - 1) / 2;
      const sourceY = ((inverse[1][0] * x + inverse[1][1] * y + offset[1] + 1) * size - 1) / 2;
      const [left, top] = [Math.floor(sourceX), Math.floor(sourceY)];
      const [fx, fy] = [sourceX - left, sourceY - top];
      warped[row * size + column] = pixel(left, top) * (1 - fx) * (1 - fy) + pixel(left + 1, top) * fx * (1 - fy)
        + pixel(left, top + 1) * (1 - fx) * fy + pixel(left + 1, top + 1) * fx * fy;
    }
  }
  return warped;
}
