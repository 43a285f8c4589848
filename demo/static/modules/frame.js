// The page's framing of a drawing: capsnet.preprocess (capsnet/preprocessing.py) for a canvas's pixels, step by
// step with the same names, so that the network in the page (network.js) sees the 28x28 image the server's model
// would see. preprocess stays the reference, and the constants are Python's, by the same names: framing_constants()
// in capsnet/preprocessing.py, handed over by the manifest (demo/server/assets.py). tests/js/frame.test.mjs
// (`node --test`) checks this port against preprocess on fixtures Python writes (tests/js/frame_fixtures.py), within
// 2/255 a pixel.
//
// An image here is {data: Float32Array, height, width}, row-major. A Float32Array rounds what it stores to float32,
// and Math.fround rounds in between, as PyTorch's and NumPy's float32 operations do: where a value's being exactly
// zero matters (crop_to_ink), the pixels come out as in Python, not one pixel wider.
const f32 = Math.fround;

// Python's round(): halves go to the even neighbour (round(2.5) is 2), where Math.round takes them up.
function pyRound(x) {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

function image(height, width, data = new Float32Array(height * width)) {
  return {data, height, width};
}

// A canvas's RGBA pixels (ImageData.data) of width x height as the network's input: a Float32Array of 28 x 28
// values in [0, 1], or null when there is no digit to see (blank, uniform or near-blank, a lone dot): preprocess.
// constants: the manifest's "framing" (capsnet.preprocessing.framing_constants()).
export function frame(rgba, width, height, constants) {
  const {MAX_SIDE, MIN_ELONGATION} = constants;
  if (height === 0 || width === 0) return null;
  // preprocess shrinks larger images first: not ported, a canvas is smaller
  if (Math.max(height, width) > MAX_SIDE) throw new Error(`frame.js takes images of at most ${MAX_SIDE} px a side`);
  let ink = inkOf(toGray(rgba, width, height), constants);
  if (ink === null) return null;
  ink = toWorkSize(cropToInk(ink), constants);
  const stroke = strokeWidth(ink);
  if (Math.max(ink.height, ink.width) < MIN_ELONGATION * stroke) return null;
  ink = normaliseStroke(ink, stroke, constants);
  return centreByMass(fitBox(cropToInk(ink), constants), constants).data;
}

const GREY_LEVELS = Float32Array.from({length: 256}, (_, level) => level / 255); // NumPy's uint8 / 255, float32

// _to_gray for an RGBA image (a canvas's PNG is one): PIL's luma, 8 bits, then transparency as the paper.
function toGray(rgba, width, height) {
  const count = width * height;
  const luma = new Float32Array(count);
  let opaque = true;
  for (let p = 0, q = 0; p < count; p++, q += 4) {
    luma[p] = GREY_LEVELS[(rgba[q] * 19595 + rgba[q + 1] * 38470 + rgba[q + 2] * 7471 + 0x8000) >> 16]; // PIL's L
    opaque &&= rgba[q + 3] === 255;
  }
  if (opaque) return image(height, width, luma); // a canvas: luma * 1 + paper * 0 below
  let inked = 0;
  let opacity = 0;
  for (let p = 0; p < count; p++) {
    inked += f32(luma[p] * GREY_LEVELS[rgba[4 * p + 3]]);
    opacity += GREY_LEVELS[rgba[4 * p + 3]];
  }
  const paper = inked / Math.max(opacity, 1e-6) < 0.5 ? 1 : 0;
  const gray = image(height, width);
  for (let p = 0; p < count; p++) {
    const alpha = GREY_LEVELS[rgba[4 * p + 3]];
    gray.data[p] = f32(luma[p] * alpha) + f32(paper * f32(1 - alpha));
  }
  return gray;
}

function median(values) {
  const sorted = Float32Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : f32(f32(sorted[middle - 1] + sorted[middle]) / 2);
}

// _ink: how much each pixel differs from the paper (the border's median), on the side that holds more.
function inkOf(gray, {MIN_CONTRAST, NOISE_FLOOR}) {
  const {data, height, width} = gray;
  const noiseFloor = f32(NOISE_FLOOR); // NumPy compares a float32 array with a Python float in float32
  const border = [];
  for (let c = 0; c < width; c++) border.push(data[c]);
  for (let c = 0; c < width; c++) border.push(data[(height - 1) * width + c]);
  for (let r = 0; r < height; r++) border.push(data[r * width]);
  for (let r = 0; r < height; r++) border.push(data[r * width + width - 1]);
  const paper = median(border);
  let [darkerSum, lighterSum, darkest, lightest] = [0, 0, 0, 0];
  for (let p = 0; p < data.length; p++) {
    const difference = f32(data[p] - paper);
    if (difference < 0) {
      darkerSum -= difference;
      darkest = Math.max(darkest, -difference);
    } else {
      lighterSum += difference;
      lightest = Math.max(lightest, difference);
    }
  }
  const side = darkerSum > lighterSum ? -1 : 1; // the ink is darker than the paper, or lighter
  const contrast = side < 0 ? darkest : lightest;
  if (contrast < MIN_CONTRAST) return null;
  const ink = image(height, width);
  for (let p = 0; p < data.length; p++) {
    const value = f32(Math.max(side * f32(data[p] - paper), 0) / contrast);
    ink.data[p] = value < noiseFloor ? 0 : value;
  }
  return ink;
}

function cropToInk({data, height, width}) {
  let [top, bottom, left, right] = [height, -1, width, -1];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (data[r * width + c] === 0) continue;
      top = Math.min(top, r);
      bottom = Math.max(bottom, r);
      left = Math.min(left, c);
      right = Math.max(right, c);
    }
  }
  const cropped = image(bottom - top + 1, right - left + 1);
  for (let r = top; r <= bottom; r++) {
    cropped.data.set(data.subarray(r * width + left, r * width + right + 1), (r - top) * cropped.width);
  }
  return cropped;
}

// The longer side to `longer` px, aspect kept: each side max(1, round(side * scale)), as preprocess sizes them.
function scaledSize({height, width}, longer) {
  const scale = longer / Math.max(height, width);
  return [scale, Math.max(1, pyRound(height * scale)), Math.max(1, pyRound(width * scale))];
}

// to_work_size: shrinking takes the max of each block (adaptive_max_pool2d), growing is bilinear.
function toWorkSize(ink, {WORK_SIZE}) {
  const [scale, height, width] = scaledSize(ink, WORK_SIZE);
  return scale < 1 ? adaptiveMaxPool(ink, height, width) : bilinear(ink, height, width);
}

// F.adaptive_max_pool2d: output cell i covers inputs floor(i * in / out) to ceil((i + 1) * in / out) - 1.
function adaptiveMaxPool(ink, height, width) {
  const pooled = image(height, width);
  for (let r = 0; r < height; r++) {
    const [r0, r1] = [Math.floor((r * ink.height) / height), Math.ceil(((r + 1) * ink.height) / height)];
    for (let c = 0; c < width; c++) {
      const [c0, c1] = [Math.floor((c * ink.width) / width), Math.ceil(((c + 1) * ink.width) / width)];
      let most = -Infinity;
      for (let y = r0; y < r1; y++) {
        for (let x = c0; x < c1; x++) most = Math.max(most, ink.data[y * ink.width + x]);
      }
      pooled.data[r * width + c] = most;
    }
  }
  return pooled;
}

// For F.interpolate(mode="bilinear", align_corners=False) along one axis: output i reads inputs index and
// index + 1 (the last one at the edge) with weights 1 - lambda and lambda, computed in float32 as PyTorch does.
function linearTaps(inputs, outputs) {
  const scale = f32(inputs / outputs);
  return Array.from({length: outputs}, (_, i) => {
    const source = Math.max(f32(f32(scale * f32(i + 0.5)) - 0.5), 0);
    const index = Math.min(Math.floor(source), inputs - 1);
    const lambda = Math.min(Math.max(f32(source - index), 0), 1);
    return {index, next: index < inputs - 1 ? index + 1 : index, lambda};
  });
}

function bilinear(ink, height, width) {
  const rows = linearTaps(ink.height, height);
  const cols = linearTaps(ink.width, width);
  const grown = image(height, width);
  const at = (r, c) => ink.data[r * ink.width + c];
  for (let r = 0; r < height; r++) {
    const {index: r0, next: r1, lambda: ly} = rows[r];
    for (let c = 0; c < width; c++) {
      const {index: c0, next: c1, lambda: lx} = cols[c];
      const top = at(r0, c0) * (1 - lx) + at(r0, c1) * lx;
      const bottom = at(r1, c0) * (1 - lx) + at(r1, c1) * lx;
      grown.data[r * width + c] = top * (1 - ly) + bottom * ly;
    }
  }
  return grown;
}

// stroke_width: twice the ink's area over its outline's length (the summed gradient magnitude, forward
// differences on the image padded with one zero pixel all round).
function strokeWidth({data, height, width}) {
  const at = (r, c) => (r >= 0 && r < height && c >= 0 && c < width ? data[r * width + c] : 0);
  let area = 0;
  let outline = 0;
  for (const value of data) area += value;
  for (let r = -1; r < height; r++) {
    for (let c = -1; c < width; c++) {
      const gradY = at(r + 1, c) - at(r, c);
      const gradX = at(r, c + 1) - at(r, c);
      outline += Math.sqrt(gradX * gradX + gradY * gradY);
    }
  }
  return (2 * area) / Math.max(outline, 1e-6);
}

// _normalise_stroke: grow every edge of a thin stroke, or shrink a fat one, to MNIST's width for its length.
function normaliseStroke(ink, width, {STROKE_RANGE}) {
  const length = Math.max(ink.height, ink.width);
  const target = Math.min(Math.max(width / length, STROKE_RANGE[0]), STROKE_RANGE[1]);
  const radius = ((target - width / length) * length) / (2 * (1 - target));
  if (radius > 0) return dilate(pad(ink, Math.ceil(radius)), radius);
  if (radius < 0) {
    const thinner = dilate(map(ink, (value) => f32(1 - value)), -radius);
    thinner.data.forEach((value, p) => { thinner.data[p] = f32(1 - value); });
    return largest(thinner.data) > 0.5 ? thinner : ink;
  }
  return ink;
}

function largest(values) {
  let most = -Infinity;
  for (const value of values) most = Math.max(most, value);
  return most;
}

function map({data, height, width}, fn) {
  return image(height, width, data.map(fn));
}

function pad({data, height, width}, border) {
  const padded = image(height + 2 * border, width + 2 * border);
  for (let r = 0; r < height; r++) {
    padded.data.set(data.subarray(r * width, (r + 1) * width), (r + border) * padded.width + border);
  }
  return padded;
}

// _dilate: whole pixels, then the last fraction blended, t + a * (grown - t) in float32.
function dilate(ink, radius) {
  const t = image(ink.height, ink.width, Float32Array.from(ink.data));
  for (let step = 0; step < Math.ceil(radius); step++) {
    const grown = growOnePixel(t, step);
    const a = f32(Math.min(radius - step, 1.0));
    for (let p = 0; p < t.data.length; p++) t.data[p] = f32(t.data[p] + f32(a * f32(grown[p] - t.data[p])));
  }
  return t;
}

// _grow_one_pixel: the max over a 3x3 square on even steps, over a cross on odd ones (outside counts as nothing).
// The square is a max across 3 columns of the max down 3 rows; the cross, the larger of the two.
function growOnePixel({data, height, width}, step) {
  const down = new Float32Array(data.length); // max of each pixel and those above and below it
  const across = new Float32Array(data.length); // max of each pixel and those left and right of it
  for (let r = 0; r < height; r++) {
    for (let c = 0, p = r * width; c < width; c++, p++) {
      let most = data[p];
      if (r > 0 && data[p - width] > most) most = data[p - width];
      if (r < height - 1 && data[p + width] > most) most = data[p + width];
      down[p] = most;
      most = data[p];
      if (c > 0 && data[p - 1] > most) most = data[p - 1];
      if (c < width - 1 && data[p + 1] > most) most = data[p + 1];
      across[p] = most;
    }
  }
  const source = step % 2 === 0 ? down : data; // square: the rows' maxima, then across them
  for (let r = 0; r < height; r++) {
    for (let c = 0, p = r * width; c < width; c++, p++) {
      let most = step % 2 === 0 ? source[p] : Math.max(down[p], across[p]);
      if (step % 2 === 0) {
        if (c > 0 && source[p - 1] > most) most = source[p - 1];
        if (c < width - 1 && source[p + 1] > most) most = source[p + 1];
      }
      across[p] = most;
    }
  }
  return across;
}

// For F.interpolate(mode="bilinear", antialias=True, align_corners=False) along one axis: PyTorch's separable
// triangle filter, widened by the scale when shrinking, each output's weights normalised to sum to 1.
function antialiasTaps(inputs, outputs) {
  const scale = inputs / outputs;
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  return Array.from({length: outputs}, (_, i) => {
    const centre = scale * (i + 0.5);
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const count = Math.min(Math.trunc(centre + support + 0.5), inputs) - first;
    const triangle = (j) => Math.max(0, 1 - Math.abs((j + first - centre + 0.5) * invscale));
    const weights = Array.from({length: count}, (_, j) => triangle(j));
    const total = weights.reduce((sum, w) => sum + w, 0);
    return {first, weights: total !== 0 ? weights.map((w) => w / total) : weights};
  });
}

// Resamples one axis (columns when horizontal, else rows) to `outputs` px; an axis of the same size is kept.
function resampleAxis(source, outputs, horizontal) {
  const inputs = horizontal ? source.width : source.height;
  if (inputs === outputs) return source;
  const taps = antialiasTaps(inputs, outputs);
  const [height, width] = horizontal ? [source.height, outputs] : [outputs, source.width];
  const result = image(height, width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const {first, weights} = taps[horizontal ? c : r];
      let sum = 0;
      for (let j = 0; j < weights.length; j++) {
        const [y, x] = horizontal ? [r, first + j] : [first + j, c];
        sum += weights[j] * source.data[y * source.width + x];
      }
      result.data[r * width + c] = sum;
    }
  }
  return result;
}

// _fit_box: the longer side to 20 px, anti-aliased (width first, then height, as PyTorch), the strongest ink 1.
function fitBox(ink, {DIGIT_BOX}) {
  const [, height, width] = scaledSize(ink, DIGIT_BOX);
  const small = resampleAxis(resampleAxis(ink, width, true), height, false);
  const clamped = map(small, (value) => Math.min(Math.max(value, 0), 1));
  const strongest = Math.max(largest(clamped.data), f32(1e-6));
  return map(clamped, (value) => f32(value / strongest));
}

// _centre_by_mass: pasted into 28x28 with the centre of mass on MNIST_CENTRE, moved by whole pixels.
function centreByMass(digit, {MNIST_CENTRE, MNIST_SIZE}) {
  const {data, height, width} = digit;
  let mass = 0;
  let rowMoment = 0;
  let colMoment = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const value = data[r * width + c];
      mass += value;
      rowMoment += r * value;
      colMoment += c * value;
    }
  }
  const top = Math.min(Math.max(pyRound(MNIST_CENTRE - rowMoment / mass), 0), MNIST_SIZE - height);
  const left = Math.min(Math.max(pyRound(MNIST_CENTRE - colMoment / mass), 0), MNIST_SIZE - width);
  const field = image(MNIST_SIZE, MNIST_SIZE);
  for (let r = 0; r < height; r++) {
    field.data.set(data.subarray(r * width, (r + 1) * width), (r + top) * MNIST_SIZE + left);
  }
  return field;
}
