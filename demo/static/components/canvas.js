// The drawing canvas (gr.HTML's js_on_load: Gradio passes element, props and trigger).
// Pointer events draw with mouse, pen and touch alike. The picture goes to Python
// untouched, as a PNG data URL in props.value followed by trigger("input"), once when a
// stroke ends: the server's prediction and the explainer views.
//
// While a stroke goes on, the page predicts by itself (network.js, the current #mode's model), at most once per
// animation frame, and local.js draws the answer as the server would, sent to the pictures in a "capsnet-local"
// event: nothing crosses the network. A prediction that comes back after the pen is lifted is dropped, so it
// never hides the server's answer. While the network is loading in the page, or could not start there, the
// drawing goes to the server instead, at most every SEND_EVERY_MS, and #live-status says why in one line.
const SEND_EVERY_MS = 100;
const ASSETS = new URL("lab/", document.baseURI); // demo/server/assets.py's ASSETS_PATH
const NO_CODE = "The network runs on the server: this browser could not load the page's network code.";
const canvas = element.querySelector("canvas");
const pen = canvas.getContext("2d");
let last = null; // the stroke's previous point; null between strokes
let lastSent = 0;
let pending = null; // a send put off by the rate limit
let local = null; // {capsnetLocal, live}: network.js and local.js, once imported
let stroke = 0; // the stroke going on: a prediction made during an earlier one is not shown
let framePending = false; // a prediction is asked for at the next animation frame

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
  if (last === null) return; // the pen was lifted: the server answers this stroke
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

// Canvas pixels, whatever size CSS shows the canvas at.
function pointOf(event) {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * (canvas.width / box.width), (event.clientY - box.top) * (canvas.height / box.height)];
}

function lineTo(point) {
  pen.beginPath();
  pen.moveTo(...last);
  pen.lineTo(...point);
  pen.stroke();
  last = point;
}

function endStroke() {
  if (last === null) return;
  last = null;
  stroke += 1;
  canvas.dataset.pen = "up";
  sendDrawing();
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId); // the stroke goes on if the pen slips off the canvas
  canvas.dataset.pen = "down"; // app.py makes the explainer views once it is "up" again
  last = pointOf(event);
  lineTo(last); // a tap leaves a dot
  followPen();
});
canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  // Fast strokes deliver several positions per event; drawing them all keeps curves round.
  const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of coalesced.length ? coalesced : [event]) lineTo(pointOf(e));
  followPen();
});
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
element.querySelector("#clear").addEventListener("click", () => {
  clearCanvas();
  send("");
});
document.addEventListener("change", (event) => {
  if (event.target.closest("#mode")) local?.capsnetLocal.prepare(mode()); // fetched now, not at the first stroke
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
