// What the page computes, in a Web Worker (started by network.js, twice: one for each role), so that the page stays
// smooth while it runs: the ONNX graphs of demo/onnx_routes.py, exported from the Python the server runs
// (capsnet/export.py). On "load" it fetches the manifest, ONNX Runtime Web and the default (first) model's graph for
// its role, all from the demo's own server, and answers "ready" or "failed": the "network" worker the model's live
// path (and the warp when first needed), the "decoder" worker its decoder; another model's when first needed. Each
// call is answered with "answer" and the call's id:
// - "predict" (network): frames a canvas's pixels as preprocess does (frame.js), or takes a 28x28 input as it is,
//   turned and stretched first by the warp graph when the call has the #transform sliders' change, and runs the
//   model: the input, the lengths, poses, each routing iteration's lengths and couplings and the primary capsules,
//   or an input of null when there is no digit to see;
// - "decode" (decoder): runs a model's decoder on a batch of poses placed in their capsules: the images.
// "prepare" fetches a model's graph for the role before its first call, and answers "prepared" once it is in.
import {frame} from "./frame.js";

let manifestUrl = null;
let manifest = null;
let ort = null;
let role = null; // "network" or "decoder"
const sessions = new Map(); // a graph's file -> a promise of its InferenceSession

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

// A graph's session, made once; warm: a first run, on blank inputs, which sets up its buffers.
function session(file, warm = async () => {}) {
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

function network(name) {
  const {file, image_size: size} = manifest.models[name];
  return session(file, (created) => runNetwork(created, new Float32Array(size * size)));
}

function decoder(name) {
  return session(manifest.models[name].decoder);
}

// The role's graph of the model of that name.
function graph(name) {
  return role === "network" ? network(name) : decoder(name);
}

async function load(data) {
  ({manifestUrl, role} = data);
  manifest = await (await fetchOk(manifestUrl)).json();
  ort = await import(new URL(manifest.runtime, manifestUrl).href);
  // Only the .wasm's URL: a folder would have the runtime fetch its glue code too, which the bundle holds.
  ort.env.wasm.wasmPaths = {wasm: new URL(manifest.runtime_wasm, manifestUrl).href};
  ort.env.wasm.numThreads = data.threads; // more than 1 only in a cross-origin isolated page (network.js)
  await graph(Object.keys(manifest.models)[0]);
}

async function runNetwork(model, input28) {
  const size = Math.sqrt(input28.length);
  const outputs = await model.run({[manifest.input]: new ort.Tensor("float32", input28, [1, 1, size, size])});
  // copies: they are handed over to the page, and must not be views into the runtime's memory
  return Object.fromEntries(manifest.outputs.map((name) => [name, outputs[name].data.slice()]));
}

// capsnet.transforms.warp of one 28x28 input by the five slider values (in manifest.warp.change's order).
async function warp(input28, change) {
  const size = Math.sqrt(input28.length);
  const [image, values] = manifest.warp.inputs;
  const outputs = await (await session(manifest.warp.file)).run({
    [image]: new ort.Tensor("float32", input28, [1, 1, size, size]),
    [values]: new ort.Tensor("float32", Float32Array.from(change), [change.length]),
  });
  return outputs[manifest.warp.output].data.slice();
}

// ms: how long the framing (or the warp) and the network took here, for the benchmarks (bench/bench_network_js.py).
// input28: a network input given as is (no framing), else the canvas's rgba pixels.
async function predict({rgba, width, height, input28: given, change, model}) {
  const start = performance.now();
  let input28 = given ? new Float32Array(given) : frame(new Uint8ClampedArray(rgba), width, height);
  if (input28 !== null && change) input28 = await warp(input28, change);
  const framed = performance.now();
  if (input28 === null) return {input28: null, ms: {frame: framed - start, network: 0}};
  const outputs = await runNetwork(await network(model), input28);
  const {lengths, poses, iteration_lengths: iterationLengths, coupling, primary} = outputs;
  const ms = {frame: framed - start, network: performance.now() - framed};
  return {input28, lengths, poses, iterationLengths, coupling, primary, ms};
}

// poses (N x pose_dims) placed in capsules digits (N) -> {images (N x 784), ms}: model.decode's.
async function decode({poses, digits, model}) {
  const start = performance.now();
  const [posesName, digitsName] = manifest.decoder.inputs;
  const count = digits.length;
  const outputs = await (await decoder(model)).run({
    [posesName]: new ort.Tensor("float32", new Float32Array(poses), [count, manifest.models[model].pose_dims]),
    [digitsName]: new ort.Tensor("int64", BigInt64Array.from(digits, BigInt), [count]),
  });
  return {images: outputs[manifest.decoder.output].data.slice(), ms: performance.now() - start};
}

const CALLS = {predict, decode};

self.onmessage = async ({data}) => {
  try {
    if (data.type === "load") {
      await load(data);
      self.postMessage({type: "ready", manifest, threads: ort.env.wasm.numThreads});
    } else if (data.type === "prepare") {
      await graph(data.model);
      self.postMessage({type: "prepared", model: data.model});
    } else if (data.type in CALLS) {
      const result = await CALLS[data.type](data);
      const buffers = Object.values(result).filter((value) => ArrayBuffer.isView(value)).map((array) => array.buffer);
      self.postMessage({type: "answer", id: data.id, ...result}, buffers);
    }
  } catch (error) {
    self.postMessage({type: "failed", id: data.id, reason: String(error?.message ?? error).split("\n")[0]});
  }
};
