// The network's live path in a Web Worker (started by network.js), so that the page stays smooth while it runs.
// On "load" it fetches the manifest (demo/server/assets.py), ONNX Runtime Web and the default (first) model, all
// from the demo's own server, and answers "ready" or "failed"; another model is fetched when first asked for. On
// "predict" it frames a canvas's pixels as preprocess does (frame.js, with the manifest's constants) and runs the
// model: "prediction" with the 28x28 input, the lengths, poses, each routing iteration's lengths and couplings and
// the primary capsules, or an input of null when there is no digit to see. "prepare" fetches a model before its
// first prediction.
import {frame} from "./frame.js";

let manifestUrl = null;
let manifest = null;
let ort = null;
const sessions = new Map(); // model name -> a promise of its InferenceSession

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

function session(name) {
  if (!sessions.has(name)) {
    sessions.set(name, (async () => {
      const model = await (await fetchOk(new URL(manifest.models[name].file, manifestUrl))).arrayBuffer();
      const created = await ort.InferenceSession.create(new Uint8Array(model), {executionProviders: ["wasm"]});
      await run(created, new Float32Array(manifest.models[name].image_size ** 2)); // sets up its buffers
      return created;
    })());
  }
  return sessions.get(name);
}

async function load(url) {
  manifestUrl = url;
  manifest = await (await fetchOk(manifestUrl)).json();
  ort = await import(new URL(manifest.runtime, manifestUrl).href);
  // Only the .wasm's URL: a folder would have the runtime fetch its glue code too, which the bundle holds.
  ort.env.wasm.wasmPaths = {wasm: new URL(manifest.runtime_wasm, manifestUrl).href};
  // Threads need a cross-origin isolated page (demo/server/isolation.py); up to 4, as the runtime's own default, but 2 on
  // 2 cores, where they made a prediction about a third faster (docs/in-page-network.md, "Speed").
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  await session(Object.keys(manifest.models)[0]);
}

async function run(model, input28) {
  const size = Math.sqrt(input28.length);
  const outputs = await model.run({[manifest.input]: new ort.Tensor("float32", input28, [1, 1, size, size])});
  // copies: they are handed over to the page, and must not be views into the runtime's memory
  return Object.fromEntries(manifest.outputs.map((name) => [name, outputs[name].data.slice()]));
}

// ms: how long the framing and the network took here, for the benchmarks (bench/bench_network_js.py).
// input28: a network input given as is (no framing), else the canvas's rgba pixels.
async function predict({rgba, width, height, input28: given, model}) {
  const start = performance.now();
  const input28 = given ? new Float32Array(given) : frame(new Uint8ClampedArray(rgba), width, height, manifest.framing);
  const framed = performance.now();
  if (input28 === null) return {input28: null, ms: {frame: framed - start, network: 0}};
  const outputs = await run(await session(model), input28);
  const {lengths, poses, iteration_lengths: iterationLengths, coupling, primary} = outputs;
  const ms = {frame: framed - start, network: performance.now() - framed};
  return {input28, lengths, poses, iterationLengths, coupling, primary, ms};
}

self.onmessage = async ({data}) => {
  try {
    if (data.type === "load") {
      await load(data.manifestUrl);
      self.postMessage({type: "ready", manifest, threads: ort.env.wasm.numThreads});
    } else if (data.type === "prepare") {
      await session(data.model);
    } else if (data.type === "predict") {
      const result = await predict(data);
      const buffers = Object.values(result).filter((value) => ArrayBuffer.isView(value)).map((array) => array.buffer);
      self.postMessage({type: "prediction", id: data.id, ...result}, buffers);
    }
  } catch (error) {
    self.postMessage({type: "failed", id: data.id, reason: String(error?.message ?? error).split("\n")[0]});
  }
};
