// ONNX Runtime Web and the demo's graphs (the manifest of demo/server/assets.py: ONNX exported from the Python the
// server runs, capsnet/export.py), for one thread of the page: network_worker.js's (the network and the warp) and the
// page's own (network.js: the decoder). An ES module: each thread that imports it has its own runtime and sessions.
export let manifest = null;
export let ort = null;
let manifestUrl = null;
const sessions = new Map(); // a graph's file -> a promise of its InferenceSession

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

// Fetches the manifest and the runtime, which runs each graph on threads threads (more than 1 only in a cross-origin
// isolated page).
export async function load(url, threads) {
  manifestUrl = url;
  manifest = await (await fetchOk(manifestUrl)).json();
  ort = await import(new URL(manifest.runtime, manifestUrl).href);
  // Only the .wasm's URL: a folder would have the runtime fetch its glue code too, which the bundle holds.
  ort.env.wasm.wasmPaths = {wasm: new URL(manifest.runtime_wasm, manifestUrl).href};
  ort.env.wasm.numThreads = threads;
}

// A graph's session, made once; warm: a first run, on blank inputs, which sets up its buffers.
export function session(file, warm = async () => {}) {
  if (!sessions.has(file)) {
    sessions.set(file, (async () => {
      const graph = await (await fetchOk(new URL(file, manifestUrl))).arrayBuffer();
      const created = await ort.InferenceSession.create(new Uint8Array(graph), {executionProviders: ["wasm"]});
      await warm(created);
      return created;
    })());
  }
  return sessions.get(file);
}

export function decoder(model) {
  return session(manifest.models[model].decoder);
}

// poses (N x pose_dims values) placed in capsules digits (N), drawn by the model's decoder -> {images, ms}: images
// (N x 784 values in [0, 1]), model.decode's, and the milliseconds it took.
export async function decode(poses, digits, model) {
  const start = performance.now();
  const [posesName, digitsName] = manifest.decoder.inputs;
  const outputs = await (await decoder(model)).run({
    [posesName]: new ort.Tensor("float32", Float32Array.from(poses), [digits.length, manifest.models[model].pose_dims]),
    [digitsName]: new ort.Tensor("int64", BigInt64Array.from(digits, BigInt), [digits.length]),
  });
  // a copy: not a view into the runtime's memory
  return {images: outputs[manifest.decoder.output].data.slice(), ms: performance.now() - start};
}
