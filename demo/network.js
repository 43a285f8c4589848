// The network in the page: while a person draws, the page frames the drawing and runs the network's live path
// itself (network_worker.js: frame.js and ONNX Runtime Web in a Web Worker), so nothing crosses the network until
// the pen is lifted; a pose slider's move is decoded and a #transform slider's change warped there too. What runs
// is the ONNX graphs exported from the server's Python (capsnet/export.py), from the demo's own server
// (demo/onnx_routes.py), each file once per checkpoint, then from the browser's cache.
//
// An ES module that sets window.capsnetLocal for the page's other scripts:
//   ready      a promise of true (the network runs here) or false (it could not start: the server predicts)
//   place      "loading", "browser" or "server" (as decoder.js's data-decoder); fallback: place is "server"
//   message    "" or, once it is "server", one line saying so, for the page; reason: why, for the console
//   manifest   the runtime, the warp and the models, by name, with their decoders and shapes (onnx_routes.manifest),
//              once ready
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
//   decode(poses, digits, model)  poses (N x 16 values) placed in capsules digits (N), drawn by that model's decoder
//              -> a promise of {images, ms}: images (N x 784 values in [0, 1]), model.decode's; ms, the
//              worker's milliseconds. Null as for predict: only the latest decode counts (a decode waits for
//              no prediction that was asked for before it: it takes about a millisecond)
//   last       the latest prediction that was run, or null
//   prepare(model)  fetches the model of that name now (e.g. as two-digit mode is chosen), not at its first call
//              -> a promise of true once its decoder runs in the page (its network follows), false when the
//              network is not in the page or has no model of that name
const MANIFEST_URL = new URL("manifest.json", import.meta.url);
const FALLBACK_MESSAGE = "The network runs on the server: this browser could not start it in the page.";

let settle;
const capsnetLocal = {
  place: "loading", fallback: false, message: "", reason: "", manifest: null, threads: 0, last: null, predict,
  predictInput,
  decode,
  prepare,
  ready: new Promise((resolve) => { settle = resolve; }),
};
let worker = null;
let running = null; // {id, kind, resolve}: the call the worker is on
const waiting = {decode: null, predict: null}; // the latest call of each kind made since, {..., resolve}: decode first
const prepared = new Map(); // model -> {promise, resolve} of prepare's answer
let lastId = 0;

function fallBack(reason) {
  if (capsnetLocal.fallback) return;
  console.info(FALLBACK_MESSAGE, reason);
  Object.assign(capsnetLocal, {place: "server", fallback: true, message: FALLBACK_MESSAGE, reason: String(reason)});
  worker?.terminate();
  for (const call of [running, waiting.decode, waiting.predict]) call?.resolve(null);
  running = waiting.decode = waiting.predict = null;
  for (const {resolve} of prepared.values()) resolve(false);
  settle(false);
}

// A copy of values (an array or a typed array) as a Float32Array, handed over to the worker: the caller keeps theirs.
function handedOver(values) {
  const copy = Float32Array.from(values);
  return [copy.buffer, [copy.buffer]];
}

function sendNext() {
  if (running !== null || capsnetLocal.place !== "browser") return;
  const kind = waiting.decode !== null ? "decode" : "predict";
  const call = waiting[kind];
  if (call === null) return;
  waiting[kind] = null;
  const model = call.model ?? Object.keys(capsnetLocal.manifest.models)[0];
  if (!(model in capsnetLocal.manifest.models)) {
    call.resolve(null);
    sendNext();
    return;
  }
  running = {id: ++lastId, kind, resolve: call.resolve};
  const message = {type: kind, id: running.id, model};
  if (kind === "decode") {
    const [poses, buffers] = handedOver(call.poses);
    worker.postMessage({...message, poses, digits: Array.from(call.digits)}, buffers);
  } else if (call.input28) {
    const [input28, buffers] = handedOver(call.input28);
    worker.postMessage({...message, input28, change: call.change && Array.from(call.change)}, buffers);
  } else {
    const pixels = typeof call.imageData === "function" ? call.imageData() : call.imageData;
    const rgba = new Uint8ClampedArray(pixels.data);
    worker.postMessage({...message, rgba: rgba.buffer, width: pixels.width, height: pixels.height}, [rgba.buffer]);
  }
}

function onMessage({data}) {
  if (data.type === "ready") {
    Object.assign(capsnetLocal, {place: "browser", manifest: data.manifest, threads: data.threads});
    settle(true);
    sendNext();
  } else if (data.type === "failed") {
    fallBack(data.reason);
  } else if (data.type === "prepared") {
    prepared.get(data.model)?.resolve(true);
  } else if (data.type === "answer" && running?.id === data.id) {
    const {kind, resolve} = running;
    const {type, id, ...result} = data;
    running = null;
    if (kind === "predict") capsnetLocal.last = result;
    resolve(result);
    sendNext();
  }
}

function ask(kind, call) {
  waiting[kind]?.resolve(null); // superseded before it started
  return new Promise((resolve) => {
    if (capsnetLocal.fallback) {
      resolve(null);
      return;
    }
    waiting[kind] = {...call, resolve};
    sendNext();
  });
}

function predict(imageData, model = null) {
  return ask("predict", {imageData, model});
}

function predictInput(input28, model = null, change = null) {
  return ask("predict", {input28, model, change});
}

function decode(poses, digits, model = null) {
  return ask("decode", {poses, digits, model});
}

function prepare(model) {
  if (!prepared.has(model)) {
    let resolve;
    const promise = new Promise((settled) => { resolve = settled; });
    prepared.set(model, {promise, resolve});
    capsnetLocal.ready.then((inPage) => {
      if (inPage && model in capsnetLocal.manifest.models) worker.postMessage({type: "prepare", model});
      else resolve(false);
    });
  }
  return prepared.get(model).promise;
}

function start() {
  try {
    worker = new Worker(new URL("network_worker.js", import.meta.url), {type: "module"});
  } catch (error) {
    fallBack(error?.message ?? error); // no module workers here
    return;
  }
  worker.onmessage = onMessage;
  worker.onerror = (event) => {
    event.preventDefault();
    fallBack(event.message || "the worker could not start");
  };
  worker.postMessage({type: "load", manifestUrl: MANIFEST_URL.href});
}

window.capsnetLocal = capsnetLocal;
start();
export default capsnetLocal;
