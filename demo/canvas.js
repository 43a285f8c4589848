// The drawing canvas (gr.HTML's js_on_load: Gradio passes element, props and trigger).
// Pointer events draw with mouse, pen and touch alike. The picture goes to Python
// untouched, as a PNG data URL in props.value followed by trigger("input"): at most
// every SEND_EVERY_MS while a stroke goes on, so the prediction follows the pen, and
// at once when it ends. capsnet.preprocess does all the image work in Python.
const SEND_EVERY_MS = 100;
const canvas = element.querySelector("canvas");
const pen = canvas.getContext("2d");
let last = null; // the stroke's previous point; null between strokes
let lastSent = 0;
let pending = null; // a send put off by the rate limit

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
  canvas.dataset.pen = "up";
  sendDrawing();
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId); // the stroke goes on if the pen slips off the canvas
  canvas.dataset.pen = "down"; // app.py makes the explainer views once it is "up" again
  last = pointOf(event);
  lineTo(last); // a tap leaves a dot
  sendSoon();
});
canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  // Fast strokes deliver several positions per event; drawing them all keeps curves round.
  const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of coalesced.length ? coalesced : [event]) lineTo(pointOf(e));
  sendSoon();
});
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
element.querySelector("#clear").addEventListener("click", () => {
  clearCanvas();
  send("");
});
clearCanvas();
