// The #transform sliders while they move (gr.HTML's js_on_load of the hidden #transform-live: Gradio passes element,
// props and trigger). When the network runs in the page (network.js) in one-digit mode, a move has the page's
// worker turn and stretch the tab's input as framed (capsnet.warp, exported as an ONNX graph) and predict it, shown
// as canvas.js shows a drawing's ("capsnet-local"): nothing is sent. Letting go of the slider sends the final values
// (app.py's "transform_released": the server's answer, the views and #sweep), and a prediction that comes back after
// that is dropped; a move already let go by the next frame (a click) is not predicted in the page at all. Otherwise (the network loading or not in the page, or two digits, which the pair model reads as
// drawn) each move goes to the server as before: trigger("input"), app.py's "transform" event.
//
// The input as framed is #input-28's picture whenever the sliders are at no change (every new input resets them):
// an 8-bit PNG, within 0.5/255 a pixel of the server's.
const CONTROLS = ["rotate", "scale", "shear", "shift-x", "shift-y"]; // transform.CONTROLS' order, export.CHANGE's
const NO_CHANGE = [0, 1, 0, 0, 0]; // transform.NO_CHANGE_VALUES
let live = null; // local.js, once imported
let framed = null; // the tab's input as framed: 784 values in [0, 1]
let shown = 0; // counts #input-28's pictures: a slower read of an older one is dropped
let asked = 0; // counts the page's predictions and releases: only the latest prediction is shown
let released = 0; // counts the releases (change, pointerup)

// Without local.js (not served), live stays null and every move goes to the server.
import(new URL("lab/local.js", document.baseURI).href).then((module) => { live = module; }, () => {});

function isControl(target) {
  return CONTROLS.some((id) => document.getElementById(id)?.contains(target));
}

// The five values. During an input event the moved slider's number box is not updated yet: its value is the event's.
function slidersOn(event = null) {
  return CONTROLS.map((id) => {
    const slider = document.getElementById(id);
    const input = event && slider.contains(event.target) ? event.target : slider.querySelector("input[type=number]");
    return Number(input?.value);
  });
}

function onNewPicture() {
  const url = document.querySelector("#input-28 img")?.getAttribute("src");
  if (!url || slidersOn().some((value, n) => value !== NO_CHANGE[n])) return;
  const number = ++shown;
  live?.channelOf(url, 0).then((greys) => { if (number === shown) framed = Float32Array.from(greys, (g) => g / 255); });
}

function predictTurned(values) {
  const number = ++asked;
  window.capsnetLocal.predictInput(framed, "one", values).then((result) => {
    if (result === null || number !== asked) return;
    document.dispatchEvent(new CustomEvent("capsnet-local", {detail: live.view(result, "one")}));
  });
}

function inPage() {
  const mode = document.querySelector("#mode input:checked")?.value ?? "one";
  return window.capsnetLocal?.place === "browser" && live !== null && mode === "one";
}

// A move is predicted at the next animation frame, if the slider is still held: a click lets go at once, and then
// the server's answer to the release shows it, which the worker's prediction, dropped, would only have slowed
// (it took the two cores from the server: docs/speed.md, "Twice each").
function predictWhileHeld(values) {
  const heldSince = released;
  requestAnimationFrame(() => { if (released === heldSince) predictTurned(values); });
}

document.addEventListener("input", (event) => {
  if (!isControl(event.target)) return;
  if (!inPage()) requestAnimationFrame(() => trigger("input")); // by then Gradio holds the slider's new value
  else if (framed !== null && !document.querySelector("#prediction .predicted-digit.empty")) {
    predictWhileHeld(slidersOn(event));
  }
});
for (const type of ["change", "pointerup"]) {
  document.addEventListener(type, (event) => {
    if (!isControl(event.target)) return;
    released += 1;
    asked += 1;
  });
}
function watchPictures() { // #input-28 may be rendered after this component
  const picture = document.getElementById("input-28");
  if (picture === null) requestAnimationFrame(watchPictures);
  else new MutationObserver(onNewPicture).observe(picture, {subtree: true, childList: true, attributes: true});
}
watchPictures();
