// The network in the page: while a person draws, the page frames the drawing and runs the network's live path
// itself (network_worker.js: frame.js and ONNX Runtime Web in a Web Worker), so nothing crosses the network until
// the pen is lifted; a #transform slider's change is warped there too. A pose slider's move is decoded on the page's
// own thread (runtime.js, one thread): a decode takes about a millisecond and its answer comes within the slider's
// event, in time for the frame that shows the slider; a worker's answer came a frame later, and decodes on the
// prediction's threads slower still (docs/in-page-network.md). What runs is the ONNX graphs exported from the
// server's Python (capsnet/export.py), from the demo's own server (demo/server/assets.py), each file once per
// checkpoint, then from the browser's cache.
//
// An ES module that sets window.capsnetLocal for the page's other scripts:
//   ready      a promise of true (the network runs here) or false (it could not start: the server predicts)
//   place      "loading", "browser" or "server" (as decoder.js's data-decoder); fallback: place is "server"
//   message    "" or, once it is "server", one line saying so, for the page; reason: why, for the console
//   manifest   the runtime, the warp and the models, by name, with their decoders and shapes (onnx_routes.manifest),
//              once fetched
//   threads    the threads the network runs on in the page (more than 1 only in a cross-origin isolated page)
//   predict(imageData, model)  a canvas's ImageData, or a function that returns one (called as the worker takes
//              the call: a drawing that goes on is read when it can be run, not before), read by the model of
//              that name (default: the manifest's first; another is fetched when first asked for) -> a promise
//              of {input28, lengths, poses, iterationLengths, coupling, primary}: Float32Arrays (784), (10),
//              (10 x 16), (r x 10), (r x 1152 x 10), (1152 x 8), row-major, equal to preprocess's input and
//              model(x)'s and model.trace(x)'s outputs (primary: its squashed primary capsules); input28 is
//              null when there is no digit to see (preprocess's None); ms: {frame, network}, the worker's
//              milliseconds for each. It resolves to null when it was not run: a newer call came before it
//              started (only the latest drawing counts), no model has that name, or the network is not in
//              the page.
//   predictInput(input28, model, change)  the same for a network input given as is (784 values in [0, 1], e.g. the
//              framed input): no framing; with change, the #transform sliders' five values (rotate, scale, shear,
//              shift x, shift y: manifest.warp.change), it is first warped as capsnet.warp does, and input28 is
//              the warped input
//   The answers of predict and predictInput have an id, which explain takes:
//   explain(id, views)  the explainer views' numbers of prediction id, views {digit (null: the longest), iterations},
//              made by the explain graph and the decoder on its outputs, which the worker keeps
//              (network_worker.js) -> a promise of {explained: {digit, outputs, decoded} (for explained.js's
//              viewsOf), ms}; explained is null when another prediction has been made since. Null as for predict.
//   decode(poses, digits, model)  poses (N x 16 values) placed in capsules digits (N), drawn by that model's decoder
//              -> a promise of {images, ms}: images (N x 784 values in [0, 1]), model.decode's; ms, the
//              milliseconds it took. Null as for predict: only the latest decode waiting counts. Decodes run as
//              soon as the decoder is in, which is fetched once the network is ready
//   last       the latest prediction that was run, or null
//   prepare(model)  fetches the model of that name now (e.g. as two-digit mode is chosen), not at its first call
//              -> a promise of true once its decoder runs in the page (its network may follow later), false when
//              the page cannot run it or has no model of that name
import * as runtime from "./runtime.js";

const MANIFEST_URL = new URL("manifest.json", import.meta.url);
const FALLBACK_MESSAGE = "The network runs on the server: this browser could not start it in the page.";

let settle;
const capsnetLocal = {
  place: "loading", fallback: false, message: "", reason: "", manifest: null, threads: 0, last: null,
  predict, predictInput, explain, decode, prepare,
  ready: new Promise((resolve) => { settle = resolve; }),
};
let worker = null;
let running = null; // {id, resolve}: the prediction the worker is on
let waiting = null; // {model, message, resolve}: the latest prediction asked for since
let lastId = 0;
let decoding = false; // a decode is running
let waitingDecode = null; // {poses, digits, model, resolve}: the latest decode asked for since
let decoderIn = null; // a promise of true once the default model's decoder runs on this thread, false if it cannot
let decoderReady = false; // decoderIn is true: a decode starts at once

function fallBack(reason) {
  if (capsnetLocal.fallback) return;
  console.info(FALLBACK_MESSAGE, reason);
  Object.assign(capsnetLocal, {place: "server", fallback: true, message: FALLBACK_MESSAGE, reason: String(reason)});
  worker?.terminate();
  for (const call of [running, waiting, waitingDecode]) call?.resolve(null);
  running = waiting = waitingDecode = null;
  settle(false);
}

function known(model) {
  return model in capsnetLocal.manifest.models;
}

function sendNext() {
  if (running !== null || waiting === null || capsnetLocal.place !== "browser") return;
  const {model = Object.keys(capsnetLocal.manifest.models)[0], message, resolve} = waiting;
  waiting = null;
  if (!known(model)) {
    resolve(null);
    return;
  }
  running = {id: ++lastId, resolve};
  const [fields, transfer] = message(); // made as the worker takes the call: a canvas is read now
  worker.postMessage({type: "predict", ...fields, id: running.id, model}, transfer);
}

function onMessage({data}) {
  if (data.type === "ready") {
    capsnetLocal.manifest ??= data.manifest;
    Object.assign(capsnetLocal, {place: "browser", threads: data.threads});
    settle(true);
    sendNext();
  } else if (data.type === "failed") {
    fallBack(data.reason);
  } else if (["answer", "explained"].includes(data.type) && running?.id === data.id) {
    const {resolve} = running;
    const {type, ...result} = data;
    running = null;
    if (type === "answer") capsnetLocal.last = result;
    resolve(result);
    sendNext();
  }
}

function ask(model, message) {
  waiting?.resolve(null); // superseded before it started
  return new Promise((resolve) => {
    if (capsnetLocal.fallback) {
      resolve(null);
      return;
    }
    waiting = {model: model ?? undefined, message, resolve};
    sendNext();
  });
}

function predict(imageData, model = null) {
  return ask(model, () => {
    const pixels = typeof imageData === "function" ? imageData() : imageData;
    const rgba = new Uint8ClampedArray(pixels.data);
    return [{rgba: rgba.buffer, width: pixels.width, height: pixels.height}, [rgba.buffer]];
  });
}

function predictInput(input28, model = null, change = null) {
  const input = Float32Array.from(input28); // a copy, handed over to the worker: the caller keeps theirs
  const values = change && Array.from(change);
  return ask(model, () => [{input28: input.buffer, change: values}, [input.buffer]]);
}

function explain(id, {digit = null, iterations}) {
  return ask(null, () => [{type: "explain", of: id, digit, iterations}, []]);
}

async function decodeNext() {
  if (decoding || waitingDecode === null) return;
  const {poses, digits, model = Object.keys(capsnetLocal.manifest.models)[0], resolve} = waitingDecode;
  waitingDecode = null;
  decoding = true;
  try {
    resolve(known(model) ? await runtime.decode(poses, digits, model) : null);
  } catch (error) {
    resolve(null);
    fallBack(error?.message ?? error);
  }
  decoding = false;
  decodeNext();
}

function decode(poses, digits, model = null) {
  waitingDecode?.resolve(null); // superseded before it started
  return new Promise((resolve) => {
    if (capsnetLocal.fallback) {
      resolve(null);
      return;
    }
    // copies: the caller may change theirs (play sweeps one pose) before the decode runs
    waitingDecode = {poses: Float32Array.from(poses), digits: Array.from(digits), model: model ?? undefined, resolve};
    if (decoderReady) decodeNext();
    else decoderIn.then(decodeNext);
  });
}

function prepare(model) {
  capsnetLocal.ready.then((inPage) => {
    if (inPage && known(model)) worker.postMessage({type: "prepare", model});
  });
  return decoderIn.then((inPage) => inPage && known(model) && runtime.decoder(model)).then(
    (decoder) => Boolean(decoder) && !capsnetLocal.fallback,
    (error) => {
      fallBack(error?.message ?? error);
      return false;
    },
  );
}

// The decoder on this thread, on one thread: a worker's would answer a frame later (see the top).
async function startDecoder() {
  try {
    await runtime.load(MANIFEST_URL.href, 1);
    capsnetLocal.manifest ??= runtime.manifest;
    await runtime.decoder(Object.keys(runtime.manifest.models)[0]);
    decoderReady = true;
    return true;
  } catch (error) {
    fallBack(error?.message ?? error);
    return false;
  }
}

function startWorker() {
  worker = new Worker(new URL("network_worker.js", import.meta.url), {type: "module"});
  worker.onmessage = onMessage;
  worker.onerror = (event) => {
    event.preventDefault();
    fallBack(event.message || "the worker could not start");
  };
  // Threads need a cross-origin isolated page (demo/server/isolation.py); up to 4, as the runtime's own default, but 2 on 2
  // cores, where they made a prediction about a third faster (docs/in-page-network.md, "Speed").
  const threads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  worker.postMessage({type: "load", manifestUrl: MANIFEST_URL.href, threads});
}

window.capsnetLocal = capsnetLocal;
// The decoder after the network: a first visit predicts in the page before the decoder's bytes come, and the
// server draws slider moves until then (docs/in-page-network.md, "What a first visit downloads").
decoderIn = capsnetLocal.ready.then((inPage) => inPage && startDecoder());
try {
  startWorker();
} catch (error) {
  fallBack(error?.message ?? error); // no module workers here
}
export default capsnetLocal;
