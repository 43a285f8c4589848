// The explainer views' numbers from the page's own graphs: what explainer.py sends from the server, made from the
// outputs of the explain graph (capsnet/explain.py's Explain, exported: routing re-run, votes, agreement, Figure 4's
// poses) and of the decoder on those poses. Nothing is computed here: outputs are shaped and named as the views take
// them (views.js), and the colour scales get this input's ends. tests/js/explained.test.mjs checks the result against
// explainer.py's for the same inputs (fixtures Python writes).

// A graph's output {shape, data} (data flat, row-major) as nested arrays of numbers, as the server's JSON nests them.
export function nested({shape, data}) {
  const values = Array.from(data, Number); // int64 outputs come as BigInts
  const nest = (from, dims) => {
    if (dims.length === 0) return values[from];
    const [size, ...rest] = dims;
    const step = rest.reduce((product, dim) => product * dim, 1);
    return Array.from({length: size}, (_, n) => nest(from + n * step, rest));
  };
  return nest(0, shape);
}

// pictures.gray: pixels in [0, 1] as 0-255 (rounded, clipped), as pixels.js's unpack gives the server's pictures.
export function grey(values) {
  const pixels = new Uint8Array(values.length); // a loop: Uint8Array.from with a function is ten times slower
  for (let n = 0; n < values.length; n++) pixels[n] = Math.round(Math.min(Math.max(values[n], 0), 1) * 255);
  return pixels;
}

// A picture as the views take it (pixels.js's unpack): its shape and its grey pixels, not deflated.
const picture = (shape, values) => ({shape, pixels: grey(values)});

// A float32 output (data: a Float32Array) as the views take a map of numbers (pixels.js's numbers): its shape and its
// values, not packed.
const map = ({shape, data}) => ({shape, values: data});

// The four views for digit capsule digit: outputs, the explain graph's by name ({shape, data}); decoded, the decoder's
// images of outputs.decode_poses ({shape: [N, pixels], data}); input28, the network's input; lengths, the prediction's
// ten lengths (the explain graph's are routing's, re-run); constants, the model's views entry of the manifest
// (explainer.page_constants). -> {routing, primary, figure4, "all-capsules"}, as explainer.explain sends them.
export function viewsOf({outputs, decoded, input28, lengths, digit}, constants) {
  const out = (name) => nested(outputs[name]);
  const [min, max, mean] = out("last_coupling");
  const [first, last] = out("longest");
  const [top] = out("vote_top");
  const [limit] = out("agreement_limit");
  const [images, size] = [decoded.shape[0], Math.sqrt(decoded.shape[1])];
  const [dims, steps] = [constants.names[digit].length, constants.perturbations.length];
  const own = images - dims * steps; // Figure 4's decodes come first, then each capsule's own pose
  const prediction = Array.from(lengths, Number);
  return {
    routing: {digit, coupling: map(outputs.coupling), coupling_scale: constants.coupling_scale,
              votes: map(outputs.votes),
              vote_scale: {...constants.vote_colours, low: 0, centre: top / 2, high: top},
              input: picture([size, size], input28), shares: out("shares"), lengths: out("lengths"),
              last_coupling: {min, max, mean}, longest: {first, last}},
    primary: {digit, maps: map(outputs.agreement), means: out("agreement_means"), order: out("agreement_order"),
              scale: {...constants.agreement_colours, low: -limit, centre: 0, high: limit},
              quantile: constants.quantile},
    figure4: {images: picture([dims, steps, size, size], decoded.data.subarray(0, dims * steps * size * size)),
              perturbations: constants.perturbations, names: constants.names[digit], digit, gap: constants.gap},
    "all-capsules": {images: picture([own, size, size], decoded.data.subarray(dims * steps * size * size)),
                     lengths: prediction, longest: prediction.indexOf(Math.max(...prediction)), selected: digit},
  };
}
