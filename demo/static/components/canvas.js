// The drawing canvas (gr.HTML's js_on_load: Gradio passes element, props and trigger).
// Pointer events draw with mouse, pen and touch alike.
//
// While a stroke goes on, the page predicts by itself (network.js, the current #mode's model), at most once per
// animation frame, and local.js draws the answer as the server would, sent to the pictures in a "capsnet-local"
// event: nothing crosses the network. When the pen is lifted the page reads the drawing once more, with the
// explainer views (#iterations' routing iterations), and shows it all the same way: still nothing is sent. The
// drawing becomes the canvas's value (a PNG data URL), with no event to the server; the canvas's "change" event
// (a js-only event, wiring.PAGE_READ) puts the capsule read and its pose onto #digit and the sliders, and
// an event that needs the tab's input later (a capsule choice, #mode, the turn) sends the value along, so the server
// reads the drawing only then (wiring.current). A prediction that comes back after a later stroke began is dropped.
// While the network is loading in the page, or could not start there, the drawing goes to the server instead
// (props.value, then trigger("input")): at most every SEND_EVERY_MS while the pen moves, and once when a stroke
// ends, which brings the views; #live-status says why in one line.
//
// A capsule choice (#digit), Reset and #iterations for a drawing the page read are answered here too: the page's
// explain graph makes the views again for that capsule and iteration count, and the sliders take its pose. For
// anything else (an upload, an example or a turn, which the server read; a page without the network) they click
// their hidden button (wiring.Asks), whose event asks the server.
//
// The strokes are kept as points in whole canvas pixels, and drawn as kept, so that replaying them draws the same
// pixels: share.js puts them in the page's link (a "capsnet-strokes" event after each stroke and Clear), and a
// "capsnet-replay" event draws a link's strokes and reads them as after a pen lift.
const SEND_EVERY_MS = 100;
const ASSETS = new URL("lab/", document.baseURI); // demo/server/assets.py's ASSETS_PATH
const NO_CODE = "The network runs on the server: this browser could not load the page's network code.";
const canvas = element.querySelector("canvas");
const pen = canvas.getContext("2d");
let last = null; // the stroke's previous point; null between strokes
let strokes = []; // what is on the canvas: strokes of [x, y] points, whole canvas pixels
let lastSent = 0;
let pending = null; // a send put off by the rate limit
let local = null; // {capsnetLocal, live}: network.js and local.js, once imported
let stroke = 0; // the stroke going on: a prediction made during an earlier one is not shown
let framePending = false; // a prediction is asked for at the next animation frame
let read = null; // {result, mode, url}: the page's reading at the last pen lift (network.js's answer), of drawing url
let lifting = null; // {stroke, digit}: the pen-lift reading on its way, and a capsule chosen meanwhile, which it shows

function clearCanvas() {
  pen.fillStyle = "white";
  pen.fillRect(0, 0, canvas.width, canvas.height);
  // A felt pen about as wide, relative to a digit filling the canvas, as MNIST's strokes.
  pen.strokeStyle = "black";
  pen.lineWidth = 18;
  pen.lineCap = "round";
  pen.lineJoin = "round";
}

function send(value) {
  clearTimeout(pending);
  pending = null;
  lastSent = performance.now();
  props.value = value;
  trigger("input");
}

function sendDrawing() {
  send(canvas.toDataURL("image/png"));
}

function mode() {
  return document.querySelector("#mode input:checked")?.value ?? "one";
}

function inPage() {
  return local?.capsnetLocal.place === "browser";
}

// The canvas is read when the worker is free (not when asked): a prediction never waits behind an older one.
// In the event, for bench/bench_network_js.py: ms, from reading the canvas to the answer, and workerMs, the
// worker's own time for it (framing and network).
function predictInPage() {
  framePending = false;
  if (last === null) return; // the pen was lifted: answerInPage answers this stroke
  const during = stroke;
  const chosen = mode();
  let asked = null;
  const read = () => {
    asked = performance.now();
    return pen.getImageData(0, 0, canvas.width, canvas.height);
  };
  local.capsnetLocal.predict(read, chosen).then((result) => {
    if (result === null || during !== stroke || last === null) return;
    const detail = {...local.live.view(result, chosen), ms: performance.now() - asked,
                    workerMs: result.ms.frame + result.ms.network};
    document.dispatchEvent(new CustomEvent("capsnet-local", {detail}));
  });
}

// The pen moved: predict in the page when it can, else send to the server.
function followPen() {
  if (!inPage()) sendSoon();
  else if (!framePending) {
    framePending = true;
    requestAnimationFrame(predictInPage);
  }
}

function sayWhere(message) {
  element.querySelector("#live-status").textContent = message;
}

function sendSoon() {
  const wait = SEND_EVERY_MS - (performance.now() - lastSent);
  if (wait <= 0) sendDrawing();
  else if (pending === null) pending = setTimeout(sendDrawing, wait);
}

// Whole canvas pixels, whatever size CSS shows the canvas at; a pen that slipped far off the canvas (the stroke goes on)
// is kept within a canvas's size of it, where the link's bounds are (link.js).
function pointOf(event) {
  const box = canvas.getBoundingClientRect();
  const at = (offset, pixels, shown) => Math.min(Math.max(Math.round(offset * (pixels / shown)), -pixels), 2 * pixels);
  return [at(event.clientX - box.left, canvas.width, box.width), at(event.clientY - box.top, canvas.height, box.height)];
}

function lineTo(point) {
  pen.beginPath();
  pen.moveTo(...last);
  pen.lineTo(...point);
  pen.stroke();
  last = point;
}

// A stroke begins: a tap leaves a dot.
function penDown(point) {
  strokes.push([point]);
  last = point;
  lineTo(point);
}

// The pen moved to point; a point the pen is already at is not drawn again (it would darken the dot's rim).
function penTo(point) {
  if (point[0] === last[0] && point[1] === last[1]) return;
  strokes.at(-1).push(point);
  lineTo(point);
}

function strokesChanged() {
  document.dispatchEvent(new CustomEvent("capsnet-strokes", {detail: strokes.map((stroke) => stroke.slice())}));
}

function iterations() {
  return Number(document.querySelector("#iterations input:checked")?.value) || null;
}

// The pen was lifted and the network is in the page: the drawing read, shown at once, then its explainer views
// (#iterations' routing iterations), all shown here. In the last event, for the benchmarks: ms, from the pen lifted to
// the views, and workerMs, the worker's own time for the reading and the views.
function answerInPage() {
  const [during, chosen, lifted] = [stroke, mode(), performance.now()];
  const drawing = pen.getImageData(0, 0, canvas.width, canvas.height);
  // The canvas's value at once, before the reading: an event from now on (#mode, say) sends this drawing.
  const url = canvas.toDataURL("image/png");
  props.value = url;
  // a later stroke has begun, or another mode reads the drawing now (the server, for #mode's event)
  const stale = () => during !== stroke || last !== null || chosen !== mode();
  lifting = {stroke: during, digit: null};
  local.capsnetLocal.predict(drawing, chosen).then((result) => {
    if (result === null || stale()) return null;
    if (result.input28 === null) {
      show({...local.live.view(result, chosen, true), final: true});
      return null;
    }
    document.dispatchEvent(new CustomEvent("capsnet-local", {detail: local.live.view(result, chosen)}));
    read = {result, mode: chosen, url};
    // #iterations and a capsule chosen since the lift; a choice from now on explains `read` again, after this
    const views = {digit: lifting.digit,
                   iterations: iterations() ?? local.capsnetLocal.manifest.models[chosen].iterations};
    lifting = null;
    return local.capsnetLocal.explain(result.id, views).then((answer) => {
      if (answer?.explained == null || stale()) return;
      const shown = local.live.view({...result, explained: answer.explained}, chosen, true);
      show({...shown, final: true, ms: performance.now() - lifted,
            workerMs: result.ms.frame + result.ms.network + answer.ms});
    });
  }).finally(() => { if (lifting?.stroke === during) lifting = null; });
}

// What the page read (local.js's view, final) on the page; the canvas's value is the drawing it read (its PNG data
// URL, "" when empty), the server's should an event need it: no request now.
function show(detail) {
  const {pose_dims: dims} = local.capsnetLocal.manifest.models[mode()];
  const pose = detail.digit === null ? Array(dims).fill(0) : Array.from(detail.pose);
  local.capsnetLocal.read = {digit: detail.digit, pose}; // wiring.PAGE_READ puts it on #digit and the sliders
  document.dispatchEvent(new CustomEvent("capsnet-local", {detail}));
  trigger("change");
}

// Is the tab's input the drawing the page read at the last pen lift, in this mode? (An upload or an example makes
// the canvas's value null; the turn's predictions are the worker's latest, and explain answers null then.)
function ownReading() {
  return read !== null && last === null && read.mode === mode() && props.value === read.url;
}

// The page's reading shown again for capsule digit (null: the longest) with #iterations' routing iterations; or,
// for an input the page did not read, the question (wiring.Asks' name) asked of the server.
function explainAgain(digit, question) {
  const [during, reading] = [stroke, read];
  const ask = () => requestAnimationFrame(() => document.getElementById(`ask-${question}`)?.click());
  if (lifting?.stroke === stroke && last === null) { // the pen-lift reading, on its way, shows this capsule and count
    if (question === "select") lifting.digit = digit;
    return null;
  }
  if (!ownReading()) return ask();
  const views = {digit, iterations: iterations() ?? local.capsnetLocal.manifest.models[reading.mode].iterations};
  local.capsnetLocal.explain(reading.result.id, views).then((answer) => {
    if (during !== stroke || reading !== read) return; // a new drawing since: its reading is on show
    if (answer?.explained == null) return ask(); // the turn's predictions since: the server read the turned input
    show({...local.live.view({...reading.result, explained: answer.explained}, reading.mode, true), final: true});
  });
}

function chosenDigit() {
  const checked = document.querySelector("#digit input:checked");
  return checked ? Number(checked.value) : null;
}

function endStroke() {
  if (last === null) return;
  last = null;
  stroke += 1;
  canvas.dataset.pen = "up";
  strokesChanged();
  if (inPage()) answerInPage();
  else sendDrawing();
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId); // the stroke goes on if the pen slips off the canvas
  canvas.dataset.pen = "down"; // app.py makes the explainer views once it is "up" again
  penDown(pointOf(event));
  followPen();
});
canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  // Fast strokes deliver several positions per event; drawing them all keeps curves round.
  const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of coalesced.length ? coalesced : [event]) penTo(pointOf(e));
  followPen();
});
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
element.querySelector("#clear").addEventListener("click", () => {
  clearCanvas();
  strokes = [];
  strokesChanged();
  stroke += 1; // a prediction still on its way is for the drawing that is gone
  if (inPage()) {
    props.value = "";
    show({...local.live.view({input28: null}, mode(), true), final: true});
  } else {
    send("");
  }
});
// A link's strokes (share.js), drawn on a clean canvas as the pen drew them, then read as after the last pen lift.
document.addEventListener("capsnet-replay", ({detail: paths}) => {
  clearCanvas();
  strokes = [];
  for (const [first, ...rest] of paths) {
    penDown(first);
    rest.forEach(penTo);
  }
  endStroke();
});
document.addEventListener("change", (event) => {
  if (event.target.closest("#mode")) local?.capsnetLocal.prepare(mode()); // fetched now, not at the first stroke
  else if (event.target.closest("#digit")) explainAgain(Number(event.target.value), "select");
  else if (event.target.closest("#iterations")) explainAgain(chosenDigit(), "iterations");
});
document.addEventListener("click", (event) => {
  if (event.target.closest("#reset")) explainAgain(chosenDigit(), "reset");
});
Promise.all([import(new URL("network.js", ASSETS).href), import(new URL("local.js", ASSETS).href)]).then(
  ([{default: capsnetLocal}, live]) => {
    local = {capsnetLocal, live};
    capsnetLocal.ready.then((loaded) => {
      if (loaded) capsnetLocal.prepare(mode());
      else sayWhere(capsnetLocal.message);
    });
  },
  (error) => {
    console.info(NO_CODE, error);
    sayWhere(NO_CODE);
  },
);
clearCanvas();
