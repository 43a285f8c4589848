// The network's live path in a Web Worker (started by network.js), so that the page stays smooth while it runs. On
// "load" it fetches the manifest, ONNX Runtime Web and the default (first) model (runtime.js), all from the demo's own
// server, and answers "ready" or "failed"; another model, and the warp, are fetched when first needed. On "predict"
// it frames a canvas's pixels as preprocess does (frame.js), or takes a 28x28 input as it is, turned and stretched
// first by the warp graph (capsnet.transforms.warp) when the call has the #transform sliders' change, and runs the
// model: "answer" with the input, the lengths, poses, each routing iteration's lengths and couplings and the primary
// capsules, or an input of null when there is no digit to see. "explain" ({of: a prediction's id, digit, iterations})
// runs the explain graph for that many iterations on that prediction's outputs, kept here, and the decoder on its
// poses (the explainer views' numbers, capsnet/explain.py): "explained"; null when a later prediction has been made
// since. "prepare" fetches a model before its first prediction.
import {frame} from "./frame.js";
import {load, manifest, ort, session} from "./runtime.js";

function network(name) {
  const {file, image_size: size} = manifest.models[name];
  return session(file, (created) => run(created, new Float32Array(size * size)));
}

async function run(model, input28) {
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

// The explainer views' numbers for digit capsule digit (null: the longest) with that many routing iterations, from the
// network's outputs: the explain graph's outputs and the decoder's images of its poses, each {shape, data}, and the
// digit (explained.js makes the views of them).
async function explain(model, {predictions, poses, lengths}, {digit, iterations}) {
  const entry = manifest.models[model];
  const chosen = digit ?? lengths.indexOf(Math.max(...lengths));
  const [predictionsName, posesName, digitName] = manifest.explain.inputs;
  const graph = await session(entry.explain[String(iterations)]);
  const explained = await graph.run({
    [predictionsName]: new ort.Tensor("float32", predictions,
                                      [1, entry.primary_capsules, lengths.length, entry.pose_dims]),
    [posesName]: new ort.Tensor("float32", poses, [1, lengths.length, entry.pose_dims]),
    [digitName]: new ort.Tensor("int64", BigInt64Array.of(BigInt(chosen)), [1]),
  });
  const outputs = Object.fromEntries(manifest.explain.outputs.map(
    (name) => [name, {shape: explained[name].dims, data: explained[name].data.slice()}]));
  const [decodePoses, decodeDigits] = [explained.decode_poses, explained.decode_digits];
  const [posesIn, digitsIn] = manifest.decoder.inputs;
  const images = (await (await session(entry.decoder)).run({[posesIn]: decodePoses, [digitsIn]: decodeDigits}))[
    manifest.decoder.output];
  const decoded = {shape: [images.dims[0], images.data.length / images.dims[0]], data: images.data.slice()};
  return {digit: chosen, outputs, decoded};
}

let last = null; // {id, model, outputs}: the latest prediction's network outputs, which "explain" reads

// ms: how long the framing (or the warp) and the network took here, for the benchmarks (bench/bench_network_js.py).
// input28: a network input given as is (no framing), else the canvas's rgba pixels.
async function predict({id, rgba, width, height, input28: given, change, model}) {
  const start = performance.now();
  let input28 = given ? new Float32Array(given) : frame(new Uint8ClampedArray(rgba), width, height, manifest.framing);
  if (input28 !== null && change) input28 = await warp(input28, change);
  const framed = performance.now();
  last = null;
  if (input28 === null) return {input28: null, ms: {frame: framed - start, network: 0}};
  const outputs = await run(await network(model), input28);
  const {predictions, lengths, poses, iteration_lengths: iterationLengths, coupling, primary} = outputs;
  // copies of what is handed over to the page (its buffers go with the answer)
  last = {id, model, outputs: {predictions, lengths: lengths.slice(), poses: poses.slice()}};
  const ms = {frame: framed - start, network: performance.now() - framed};
  return {input28, lengths, poses, iterationLengths, coupling, primary, ms};
}

// The explainer views' numbers of prediction of (ms: their time here), or null when it is no longer the latest.
async function explainLast({of, digit, iterations}) {
  if (last?.id !== of) return {explained: null};
  const start = performance.now();
  const explained = await explain(last.model, last.outputs, {digit, iterations});
  return {explained, ms: performance.now() - start};
}

self.onmessage = async ({data}) => {
  try {
    if (data.type === "load") {
      await load(data.manifestUrl, data.threads);
      await network(Object.keys(manifest.models)[0]);
      self.postMessage({type: "ready", manifest, threads: ort.env.wasm.numThreads});
    } else if (data.type === "prepare") {
      await network(data.model);
    } else if (data.type === "predict") {
      const result = await predict(data);
      const buffers = Object.values(result).filter((value) => ArrayBuffer.isView(value)).map((array) => array.buffer);
      self.postMessage({type: "answer", id: data.id, ...result}, buffers);
    } else if (data.type === "explain") {
      const result = await explainLast(data);
      const buffers = result.explained ? [result.explained.decoded.data.buffer] : [];
      self.postMessage({type: "explained", id: data.id, ...result}, buffers);
    }
  } catch (error) {
    self.postMessage({type: "failed", id: data.id, reason: String(error?.message ?? error).split("\n")[0]});
  }
};
