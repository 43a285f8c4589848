// The network in the page: while a person draws, the page frames the drawing and runs the network's live path
// itself (network_worker.js: frame.js and ONNX Runtime Web in a Web Worker), so nothing crosses the network until
// the pen is lifted. Everything comes from the demo's own server (demo/server/assets.py), the model once per
// checkpoint, then from the browser's cache.
//
// An ES module that sets window.capsnetLocal for the page's other scripts:
//   ready      a promise of true (the network runs here) or false (it could not start: the server predicts)
//   place      "loading", "browser" or "server" (as decoder.js's data-decoder); fallback: place is "server"
//   message    "" or, once it is "server", one line saying so, for the page; reason: why, for the console
//   manifest   the runtime and the models, by name, with their shapes (onnx_routes.manifest), once ready
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
//   predictInput(input28, model)  the same for a network input given as is (784 values in [0, 1], e.g. the
//              framed input turned by live.js's warp): no framing
//   last       the latest prediction that was run, or null
//   prepare(model)  fetches the model of that name now (e.g. as two-digit mode is chosen), not at its first
//              prediction; nothing when the network is not in the page or has no model of that name
const MANIFEST_URL = new URL("manifest.json", import.meta.url);
const FALLBACK_MESSAGE = "The network runs on the server: this browser could not start it in the page.";

let settle;
const capsnetLocal = {
  place: "loading", fallback: false, message: "", reason: "", manifest: null, threads: 0, last: null, predict,
  predictInput,
  prepare,
  ready: new Promise((resolve) => { settle = resolve; }),
};
let worker = null;
let running = null; // {id, resolve}: the call the worker is on
let waiting = null; // {imageData or input28, model, resolve}: the latest call made since
let lastId = 0;

function fallBack(reason) {
  if (capsnetLocal.fallback) return;
  console.info(FALLBACK_MESSAGE, reason);
  Object.assign(capsnetLocal, {place: "server", fallback: true, message: FALLBACK_MESSAGE, reason: String(reason)});
  worker?.terminate();
  running?.resolve(null);
  waiting?.resolve(null);
  running = waiting = null;
  settle(false);
}

function sendNext() {
  if (running !== null || waiting === null || capsnetLocal.place !== "browser") return;
  const {imageData, input28, resolve} = waiting;
  const model = waiting.model ?? Object.keys(capsnetLocal.manifest.models)[0];
  waiting = null;
  if (!(model in capsnetLocal.manifest.models)) {
    resolve(null);
    return;
  }
  running = {id: ++lastId, resolve};
  if (input28) {
    const input = Float32Array.from(input28); // a copy, handed over to the worker: the caller keeps theirs
    worker.postMessage({type: "predict", id: running.id, input28: input.buffer, model}, [input.buffer]);
    return;
  }
  const pixels = typeof imageData === "function" ? imageData() : imageData;
  const rgba = new Uint8ClampedArray(pixels.data);
  worker.postMessage({type: "predict", id: running.id, rgba: rgba.buffer, width: pixels.width,
                      height: pixels.height, model}, [rgba.buffer]);
}

function onMessage({data}) {
  if (data.type === "ready") {
    Object.assign(capsnetLocal, {place: "browser", manifest: data.manifest, threads: data.threads});
    settle(true);
    sendNext();
  } else if (data.type === "failed") {
    fallBack(data.reason);
  } else if (data.type === "prediction" && running?.id === data.id) {
    const {resolve} = running;
    const {type, id, ...result} = data;
    running = null;
    capsnetLocal.last = result;
    resolve(result);
    sendNext();
  }
}

function ask(call) {
  waiting?.resolve(null); // superseded before it started
  return new Promise((resolve) => {
    if (capsnetLocal.fallback) {
      resolve(null);
      return;
    }
    waiting = {...call, resolve};
    sendNext();
  });
}

function predict(imageData, model = null) {
  return ask({imageData, model});
}

function predictInput(input28, model = null) {
  return ask({input28, model});
}

function prepare(model) {
  capsnetLocal.ready.then((inPage) => {
    if (inPage && model in capsnetLocal.manifest.models) worker.postMessage({type: "prepare", model});
  });
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
