// The network in the page: while a person draws, the page frames the drawing and runs the network's live path
// itself (network_worker.js: frame.js and ONNX Runtime Web in a Web Worker), so nothing crosses the network until
// the pen is lifted; a #transform slider's change is warped there too, and a pose slider's move decoded in a second
// worker of its own, on one thread: a decode takes about a millisecond, and waits neither for a prediction nor for
// the threads a prediction runs on, whose wake-ups and spinning cost more than that (docs/in-page-network.md).
// What runs is the ONNX graphs exported from the server's Python (capsnet/export.py), from the demo's own server
// (demo/onnx_routes.py), each file once per checkpoint, then from the browser's cache.
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
//   decode(poses, digits, model)  poses (N x 16 values) placed in capsules digits (N), drawn by that model's decoder
//              -> a promise of {images, ms}: images (N x 784 values in [0, 1]), model.decode's; ms, the
//              worker's milliseconds. Null as for predict: only the latest decode counts. Decodes run as soon as
//              the decoder is in, which may be before ready
//   last       the latest prediction that was run, or null
//   prepare(model)  fetches the model of that name now (e.g. as two-digit mode is chosen), not at its first call
//              -> a promise of true once its decoder runs in the page (its network may follow later), false when
//              the page cannot run it or has no model of that name
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
// A worker for each role (network_worker.js): loaded, a promise resolved once it is ready; the call it is on
// ({id, resolve}) and the latest call made since ({model, message, resolve}): only the latest drawing, or pose, counts.
const lanes = {};
const prepared = new Map(); // model -> {promise, resolve} of prepare's answer
let lastId = 0;

function fallBack(reason) {
  if (capsnetLocal.fallback) return;
  console.info(FALLBACK_MESSAGE, reason);
  Object.assign(capsnetLocal, {place: "server", fallback: true, message: FALLBACK_MESSAGE, reason: String(reason)});
  for (const lane of Object.values(lanes)) {
    lane.worker.terminate();
    lane.running?.resolve(null);
    lane.waiting?.resolve(null);
    lane.running = lane.waiting = null;
  }
  for (const {resolve} of prepared.values()) resolve(false);
  settle(false);
}

function sendNext(lane) {
  if (!lane.ready || lane.running !== null || lane.waiting === null || capsnetLocal.fallback) return;
  const {model = Object.keys(capsnetLocal.manifest.models)[0], message, resolve} = lane.waiting;
  lane.waiting = null;
  if (!(model in capsnetLocal.manifest.models)) {
    resolve(null);
    return;
  }
  lane.running = {id: ++lastId, resolve};
  const [fields, transfer] = message(); // made as the worker takes the call: a canvas is read now
  lane.worker.postMessage({...fields, id: lane.running.id, model}, transfer);
}

function onMessage(lane, {data}) {
  if (data.type === "ready") {
    lane.ready = true;
    capsnetLocal.manifest ??= data.manifest;
    lane.settle();
    if (lane === lanes.network) {
      Object.assign(capsnetLocal, {place: "browser", threads: data.threads});
      settle(true);
    }
    sendNext(lane);
  } else if (data.type === "failed") {
    fallBack(data.reason);
  } else if (data.type === "prepared" && lane === lanes.decoder) {
    prepared.get(data.model)?.resolve(true); // its decoder: its network may come later
  } else if (data.type === "answer" && lane.running?.id === data.id) {
    const {resolve} = lane.running;
    const {type, id, ...result} = data;
    lane.running = null;
    if (lane === lanes.network) capsnetLocal.last = result;
    resolve(result);
    sendNext(lane);
  }
}

function ask(role, model, message) {
  return new Promise((resolve) => {
    if (capsnetLocal.fallback) {
      resolve(null);
      return;
    }
    const lane = lanes[role];
    lane.waiting?.resolve(null); // superseded before it started
    lane.waiting = {model: model ?? undefined, message, resolve};
    sendNext(lane);
  });
}

function predict(imageData, model = null) {
  return ask("network", model, () => {
    const pixels = typeof imageData === "function" ? imageData() : imageData;
    const rgba = new Uint8ClampedArray(pixels.data);
    return [{type: "predict", rgba: rgba.buffer, width: pixels.width, height: pixels.height}, [rgba.buffer]];
  });
}

// Copies of the caller's values, handed over to the worker: the caller keeps theirs, and may change them.
function predictInput(input28, model = null, change = null) {
  const input = Float32Array.from(input28);
  const values = change && Array.from(change);
  return ask("network", model, () => [{type: "predict", input28: input.buffer, change: values}, [input.buffer]]);
}

function decode(poses, digits, model = null) {
  const values = Float32Array.from(poses);
  const capsules = Array.from(digits);
  return ask("decoder", model, () => [{type: "decode", poses: values.buffer, digits: capsules}, [values.buffer]]);
}

function prepare(model) {
  if (!prepared.has(model)) {
    let resolve;
    const promise = new Promise((settled) => { resolve = settled; });
    prepared.set(model, {promise, resolve});
    if (capsnetLocal.fallback) {
      resolve(false);
    } else {
      lanes.decoder.loaded.then(() => {
        if (!(model in capsnetLocal.manifest.models)) {
          resolve(false);
          return;
        }
        for (const lane of Object.values(lanes)) {
          lane.loaded.then(() => lane.worker.postMessage({type: "prepare", model}));
        }
      });
    }
  }
  return prepared.get(model).promise;
}

// role: "network" (the models' live paths and the warp) or "decoder" (their decoders), on threads threads.
function startWorker(role, threads) {
  const lane = {worker: null, ready: false, running: null, waiting: null};
  lane.loaded = new Promise((resolve) => { lane.settle = resolve; });
  lane.worker = new Worker(new URL("network_worker.js", import.meta.url), {type: "module", name: role});
  lane.worker.onmessage = (event) => onMessage(lane, event);
  lane.worker.onerror = (event) => {
    event.preventDefault();
    fallBack(event.message || "the worker could not start");
  };
  lane.worker.postMessage({type: "load", manifestUrl: MANIFEST_URL.href, role, threads});
  lanes[role] = lane;
}

// Threads need a cross-origin isolated page (demo/isolation.py); up to 4, as the runtime's own default, but 2 on 2
// cores, where they made a prediction about a third faster (docs/in-page-network.md, "Speed").
function start() {
  try {
    startWorker("network", crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1);
    startWorker("decoder", 1);
  } catch (error) {
    fallBack(error?.message ?? error); // no module workers here
  }
}

window.capsnetLocal = capsnetLocal;
start();
export default capsnetLocal;
