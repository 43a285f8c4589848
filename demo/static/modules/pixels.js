// Numbers into pixels for the page's views (views.js): what the server sends (demo/compute/pictures.py) unpacked, values
// coloured on a colour scale, and pixels made into pictures. The colouring is a port of matplotlib's TwoSlopeNorm
// and Colormap lookup, its colours from Python (pictures.colour_scale); tests/js/pixels.test.mjs checks it against
// matplotlib on fixtures Python writes.

// pictures.packed: {shape, deflated: base64 of the zlib-deflated uint8 bytes} -> Uint8Array, row-major; a picture
// the page made itself comes as {shape, pixels} (explained.js), already a Uint8Array.
export async function unpack({deflated, pixels}) {
  if (pixels !== undefined) return pixels;
  const bytes = Uint8Array.from(atob(deflated), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// pictures.packed_numbers: {shape, float32: base64 of the little-endian float32 values} -> Float32Array, row-major;
// numbers the page computed itself come as {shape, values} (explained.js), already a Float32Array.
export function numbers({float32, values}) {
  if (values !== undefined) return values;
  return new Float32Array(Uint8Array.from(atob(float32), (c) => c.charCodeAt(0)).buffer);
}

// A packed array (or the page's {shape, values}) split along its first axis: one flat Float32Array view per
// iteration or per capsule type.
export function slices(packed) {
  const values = numbers(packed);
  const size = values.length / packed.shape[0];
  return Array.from({length: packed.shape[0]}, (_, n) => values.subarray(n * size, (n + 1) * size));
}

const luts = new Map(); // a colour map's packed colours -> a promise of them unpacked: the maps are few and fixed

// pictures.colour_scale, unpacked: {lut: Uint8Array (steps x 3), bad: [r, g, b], low, centre, high}.
export async function scale({lut, ...rest}) {
  if (!luts.has(lut.deflated)) luts.set(lut.deflated, unpack(lut));
  return {lut: await luts.get(lut.deflated), ...rest};
}

// values (any array) on a two-slope scale: low -> 0, centre -> 0.5, high -> 1, clipped (NumPy's interp), then
// the colour map's step at that position (matplotlib: int(position * steps), the top end in the last step).
// Returns RGB, 3 bytes a value; NaN gets the map's "bad" colour.
export function colour(values, {lut, bad, low, centre, high}) {
  const steps = lut.length / 3;
  const rgb = new Uint8ClampedArray(values.length * 3);
  for (let n = 0; n < values.length; n++) {
    const value = values[n];
    if (Number.isNaN(value)) {
      rgb.set(bad, 3 * n);
      continue;
    }
    const v = Math.min(Math.max(value, low), high);
    const position = v < centre ? (0.5 / (centre - low)) * (v - low) : (0.5 / (high - centre)) * (v - centre) + 0.5;
    const step = Math.min(Math.max(Math.floor(position * steps), 0), steps - 1);
    rgb.set(lut.subarray(3 * step, 3 * step + 3), 3 * n);
  }
  return rgb;
}

// RGB (3 bytes a pixel) or grey (1 byte) pixels, width x height, as a PNG data URL for an <img>.
export function pictureUrl(pixels, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const pen = canvas.getContext("2d");
  const rgba = pen.createImageData(width, height);
  const channels = pixels.length / (width * height);
  for (let p = 0; p < width * height; p++) {
    const [r, g, b] = channels === 3 ? pixels.subarray(3 * p, 3 * p + 3) : [pixels[p], pixels[p], pixels[p]];
    rgba.data.set([r, g, b, 255], 4 * p);
  }
  pen.putImageData(rgba, 0, 0);
  return canvas.toDataURL("image/png");
}

// capsnet.figures.tile: pixels of shape (rows, cols, h, w), row-major, as one picture of the tiles, gap pixels of
// fill between them -> {pixels, width: cols * (w + gap) - gap, height: rows * (h + gap) - gap}.
export function tile(pixels, [rows, cols, h, w], gap, fill) {
  const [width, height] = [cols * (w + gap) - gap, rows * (h + gap) - gap];
  const picture = new Uint8Array(width * height).fill(fill);
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      for (let y = 0; y < h; y++) {
        const from = ((row * cols + col) * h + y) * w;
        picture.set(pixels.subarray(from, from + w), (row * (h + gap) + y) * width + col * (w + gap));
      }
    }
  }
  return {pixels: picture, width, height};
}
