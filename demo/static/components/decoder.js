// The capsule decoder in the browser: slider moves are redrawn here, with no message to the server.
// (gr.HTML's js_on_load of the reconstruction picture: Gradio passes element, props, trigger and watch.)
//
// The decoder is model.decode exported as an ONNX graph (capsnet/export.py), which network.js runs with ONNX Runtime
// on the page's own thread (capsnetLocal.decode), fetched as the page opens (demo/server/assets.py). Each slider move
// has it decode the 16 slider values for the selected capsule (about a millisecond) and sets props.value to the
// waits. The page's own readings (canvas.js: a drawing, a capsule chosen for it, Reset) are decoded here too; the
// server's answers (an upload, an example, a turn) bring their first reconstruction with them. Until the decoder is
// in, or if the network cannot run in the page, a slider move asks the server instead (trigger("input"): app.py's
// "pose" event), as the page did before.
//
// The play control (#play, a button and a dimension) sweeps one dimension from its drawing value -0.25
// to +0.25 and back, one image per animation frame: a row of the paper's Figure 4 as a movie.
// element.dataset.decoder says where slider moves are drawn: "loading", "browser" or "server".
//
// Two-digit mode (#mode "two") decodes with the pair model's decoder, fetched the first time the mode is
// used, and each decoded image is also handed to overlay.js (a "capsule-decoded" event on the document).
const NETWORK = new URL("lab/network.js", document.baseURI); // demo/server/assets.py's ASSETS_PATH
const NO_CODE = "Slider moves are drawn by the server: the page's network code could not be loaded.";
const SWEEP = 0.25; // the paper's largest perturbation of a pose dimension (Fig. 4)
const SWEEP_PERIOD_MS = 3000; // one sweep: value -> +0.25 -> -0.25 -> value
const SLIDER_ID = /^dim-\d+$/; // app.py's #dim-0 ... #dim-15

let local = null; // network.js's capsnetLocal once imported, "failed" if it could not be
const decoders = {}; // #mode -> where its model's decoder runs: "loading", "browser" or "server"
let asked = 0; // counts the pictures asked for: decodes and the server's answers
let shown = 0; // the number of the picture on show: a decode asked for before it is dropped
let drawingPose = null; // the sliders as the server last set them: the centre of play's sweep
let playing = null; // {dim, centre, pose, start, frame} while a dimension plays
const picture = document.createElement("canvas"); // off-screen: its PNG data URL becomes props.value

function currentMode() {
  return document.querySelector("#mode input:checked")?.value ?? "one";
}

function shapes() {
  return local.manifest.models[currentMode()]; // pose_dims, image_size
}

function place() {
  if (local === "failed" || local?.place === "server") return "server";
  return decoders[currentMode()] ?? "loading";
}

// Pixels in [0, 1] (or null: black, as pictures.black) as a grey PNG data URL.
function pngUrl(image) {
  const size = shapes().image_size;
  picture.width = picture.height = size;
  const pen = picture.getContext("2d");
  const rgba = pen.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    const grey = image ? Math.round(image[p] * 255) : 0;
    rgba.data.set([grey, grey, grey, 255], 4 * p);
  }
  pen.putImageData(rgba, 0, 0);
  return picture.toDataURL("image/png");
}

function paint(image, number) {
  if (number < shown) return; // the server has drawn since it was asked for
  shown = number;
  props.value = pngUrl(image);
  document.dispatchEvent(new CustomEvent("capsule-decoded", {detail: image})); // overlay.js's red drawing
}

// pose (16 values) placed in capsule digit, decoded by the current mode's model and shown; digit null: black.
function show(digit, pose) {
  const number = ++asked;
  if (digit === null) {
    paint(null, number);
  } else {
    local.decode(pose, [digit], currentMode()).then((result) => { if (result !== null) paint(result.images, number); });
  }
}

// Decodes with the current mode's model from now on, fetching its decoder the first time.
function useMode() {
  const mode = currentMode();
  if (local !== null && local !== "failed" && decoders[mode] === undefined) {
    decoders[mode] = "loading";
    local.prepare(mode).then((inPage) => {
      if (!inPage) console.info(`Slider moves are drawn by the server: the ${mode}-digit decoder cannot run here.`);
      decoders[mode] = inPage ? "browser" : "server";
      useMode();
      // The decoder comes after the network: a drawing the page read meanwhile is drawn now.
      if (place() === "browser" && selectedDigit() !== null) show(selectedDigit(), poseOnPage());
    });
  }
  element.dataset.decoder = place();
  if (place() === "browser") {
    drawingPose ??= poseOnPage();
    playControls().button.disabled = false;
  }
}

function selectedDigit() {
  const checked = document.querySelector("#digit input:checked");
  return checked ? Number(checked.value) : null;
}

// The 16 slider values. The number boxes hold the exact values (a range input rounds to its step), but
// during an input event the moved slider's box is not updated yet: that slider's value is the event's.
function poseOnPage(event = null) {
  return Array.from({length: shapes().pose_dims}, (_, dim) => {
    const slider = document.getElementById(`dim-${dim}`);
    const input = event && slider.contains(event.target) ? event.target : slider.querySelector("input[type=number]");
    return Number(input.value);
  });
}

function playControls() {
  const play = document.getElementById("play");
  return {button: play.querySelector("button"), dim: play.querySelector("select"),
          readout: play.querySelector("output")};
}

function playFrame(now) {
  const {dim, centre, pose, start} = playing;
  pose[dim] = centre + SWEEP * Math.sin((2 * Math.PI * (now - start)) / SWEEP_PERIOD_MS);
  show(selectedDigit(), pose);
  playControls().readout.textContent = `dim ${dim} = ${pose[dim].toFixed(2)}`;
  playing.frame = requestAnimationFrame(playFrame);
}

function startPlaying(dim) {
  const pose = poseOnPage();
  const centre = (drawingPose ?? pose)[dim];
  playing = {dim, centre, pose, start: performance.now(), frame: requestAnimationFrame(playFrame)};
  playControls().button.textContent = "■ stop";
}

// Stops the sweep and leaves the picture as it is: whoever stopped it draws the next one.
function stopPlaying() {
  if (playing === null) return;
  cancelAnimationFrame(playing.frame);
  playing = null;
  const {button, readout} = playControls();
  button.textContent = "▶ play";
  readout.textContent = "";
}

function onSliderInput(event) {
  if (!SLIDER_ID.test(event.target.closest?.("[id^='dim-']")?.id ?? "")) return;
  stopPlaying();
  if (place() !== "browser") trigger("input"); // the server draws it
  else show(selectedDigit(), poseOnPage(event));
}

function onPlayClick(event) {
  if (place() !== "browser" || !event.target.closest("#play button")) return;
  if (playing !== null) {
    stopPlaying();
    show(selectedDigit(), poseOnPage());
  } else {
    startPlaying(Number(playControls().dim.value));
  }
}

// A new reconstruction from Python (an upload, an example, a turn): it wins over a running sweep,
// and the sliders it came with are the drawing's pose. They are on the page by the next frame.
// A new answer may come with another mode (a pair example sets it): the next frame also picks its decoder.
watch("value", () => {
  shown = ++asked;
  stopPlaying();
  requestAnimationFrame(() => {
    useMode();
    if (place() === "browser") drawingPose = poseOnPage();
  });
});

// Listening on the document: the sliders and #play are other components, rendered on their own.
document.addEventListener("input", onSliderInput);
document.addEventListener("click", onPlayClick);
// The page's own prediction (canvas.js) is decoded here too: its selected capsule's pose. Once the pen is lifted
// (final), that pose is the drawing's: play's centre, as the sliders are set to it.
document.addEventListener("capsnet-local", ({detail}) => {
  if (place() !== "browser" || !("pose" in detail)) return;
  stopPlaying();
  if (detail.final) drawingPose = detail.pose && Array.from(detail.pose);
  show(detail.digit, detail.pose);
});
document.addEventListener("change", (event) => { if (event.target.closest("#mode")) useMode(); });
import(NETWORK.href).then(
  ({default: capsnetLocal}) => {
    local = capsnetLocal;
    useMode();
  },
  (error) => {
    console.info(NO_CODE, error);
    local = "failed";
    useMode();
  },
);
useMode();
