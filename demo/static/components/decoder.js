// The capsule decoder in the browser: slider moves are redrawn here, with no message to the server.
// (gr.HTML's js_on_load of the reconstruction picture: Gradio passes element, props, trigger and watch.)
//
// When the page opens it fetches the loaded model's decoder weights once (demo/weights.py: a JSON
// manifest, then float16 weights). Each slider move then runs the decoder on the 16 slider values for
// the selected capsule and sets props.value to the image, so Gradio's value of the picture is always
// what is shown. A new drawing, the capsule choice and Reset still go to Python, which draws the first
// reconstruction of every prediction. Until the weights are in, or if they can't be fetched, a slider
// move asks the server instead (trigger("input"): app.py's "pose" event), as the page did before.
//
// The play control (#play, a button and a dimension) sweeps one dimension from its drawing value -0.25
// to +0.25 and back, one image per animation frame: a row of the paper's Figure 4 as a movie.
// element.dataset.decoder says where slider moves are drawn: "loading", "browser" or "server".
//
// Two-digit mode (#mode "two") decodes with the pair model's decoder, fetched the first time the mode is
// used, and each decoded image is also handed to overlay.js (a "capsule-decoded" event on the document).
const MANIFESTS = {one: "decoder/manifest.json", two: "decoder-pairs/manifest.json"}; // by #mode: demo/weights.py
const SWEEP = 0.25; // the paper's largest perturbation of a pose dimension (Fig. 4)
const SWEEP_PERIOD_MS = 3000; // one sweep: value -> +0.25 -> -0.25 -> value
const SLIDER_ID = /^dim-\d+$/; // app.py's #dim-0 ... #dim-15

let decoder = null; // the current mode's {poseDims, imageSize, layers: [{weight, bias, inputs, outputs}]} once loaded
const decoders = {}; // #mode -> its decoder, or "loading" or "failed"
let drawingPose = null; // the sliders as the server last set them: the centre of play's sweep
let playing = null; // {dim, centre, pose, start, frame} while a dimension plays
const picture = document.createElement("canvas"); // off-screen: its PNG data URL becomes props.value

// IEEE half precision (sign, 5-bit exponent, 10-bit fraction) to a JavaScript number.
function halfToFloat(half) {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// The manifest's layers, in order: each layer's weight (outputs x inputs, row-major as PyTorch keeps it), then
// its bias. The first layer is kept so (decode reads 16 of its columns); the others are transposed for
// linearOfReLU, which reads one row per input.
function readLayers(manifest, buffer) {
  const halves = new Uint16Array(buffer); // little-endian, as every browser's typed arrays read
  const values = Float32Array.from(halves, halfToFloat);
  let offset = 0;
  const take = (count) => values.subarray(offset, (offset += count));
  return manifest.layers.map(({weight: [outputs, inputs]}, index) => {
    const weight = take(outputs * inputs);
    return {weight: index === 0 ? weight : transpose(weight, outputs, inputs), bias: take(outputs), inputs, outputs};
  });
}

function transpose(matrix, rows, columns) {
  const transposed = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) transposed[c * rows + r] = matrix[r * columns + c];
  }
  return transposed;
}

async function loadDecoder(manifestUrl) {
  const response = await fetch(manifestUrl);
  if (!response.ok) throw new Error(`${manifestUrl}: HTTP ${response.status}`);
  const manifest = await response.json();
  const weightsUrl = new URL(manifest.weights, manifestUrl);
  const weights = await fetch(weightsUrl);
  if (!weights.ok) throw new Error(`${weightsUrl}: HTTP ${weights.status}`);
  return {poseDims: manifest.pose_dims, imageSize: manifest.image_size,
          layers: readLayers(manifest, await weights.arrayBuffer())};
}

// y = W x + b, reading only W's columns firstColumn .. firstColumn + x.length - 1.
function linear({weight, bias, inputs, outputs}, x, firstColumn = 0) {
  const y = new Float32Array(outputs);
  for (let out = 0; out < outputs; out++) {
    const row = out * inputs + firstColumn;
    let sum = bias[out];
    for (let i = 0; i < x.length; i++) sum += weight[row + i] * x[i];
    y[out] = sum;
  }
  return y;
}

// y = W x + b for x = ReLU(...), of which about half is zero (45% and 57% in the decoder's two hidden layers):
// with W transposed (one row per input), only the rows of the inputs that are not zero are added up.
// The same sums as linear's, in another order, with about half the multiplications.
function linearOfReLU({weight, bias, outputs}, x) {
  const y = Float32Array.from(bias);
  for (let i = 0; i < x.length; i++) {
    if (x[i] <= 0) continue;
    const row = i * outputs;
    for (let out = 0; out < outputs; out++) y[out] += weight[row + out] * x[i];
  }
  return y;
}

// capsnet's Decoder.forward for one pose placed in capsule digit: 160 -> 512 -> 1024 -> 784, ReLU, ReLU, sigmoid.
// The other nine capsules are zero, so the first layer needs only the 16 columns of capsule digit.
function decode(digit, pose) {
  const [first, ...rest] = decoder.layers;
  let h = linear(first, pose, digit * decoder.poseDims);
  for (const layer of rest) h = linearOfReLU(layer, h); // the ReLU is linearOfReLU's skipping of x <= 0
  return h.map((value) => 1 / (1 + Math.exp(-value))); // (784,) pixels in [0, 1]
}

// Pixels in [0, 1] (or null: black, as pictures.black) as a grey PNG data URL.
function pngUrl(image) {
  const size = decoder.imageSize;
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

function show(digit, pose) {
  const image = digit === null ? null : decode(digit, pose);
  props.value = pngUrl(image);
  document.dispatchEvent(new CustomEvent("capsule-decoded", {detail: image})); // overlay.js's red drawing
}

function currentMode() {
  return document.querySelector("#mode input:checked")?.value ?? "one";
}

// Decodes with the current mode's decoder from now on, fetching it the first time.
function useMode() {
  const mode = currentMode();
  if (decoders[mode] === undefined) {
    decoders[mode] = "loading";
    loadDecoder(new URL(MANIFESTS[mode], document.baseURI)).then(
      (loaded) => { decoders[mode] = loaded; useMode(); },
      (error) => {
        console.info(`Slider moves are drawn by the server: the ${mode}-digit decoder's weights could not be fetched.`,
                     error);
        decoders[mode] = "failed";
        useMode();
      },
    );
  }
  const entry = decoders[mode];
  decoder = typeof entry === "object" ? entry : null;
  element.dataset.decoder = decoder !== null ? "browser" : entry === "failed" ? "server" : "loading";
  if (decoder !== null) {
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
  return Array.from({length: decoder.poseDims}, (_, dim) => {
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
  if (decoder === null) trigger("input"); // the server draws it
  else show(selectedDigit(), poseOnPage(event));
}

function onPlayClick(event) {
  if (decoder === null || !event.target.closest("#play button")) return;
  if (playing !== null) {
    stopPlaying();
    show(selectedDigit(), poseOnPage());
  } else {
    startPlaying(Number(playControls().dim.value));
  }
}

// A new reconstruction from Python (a drawing, the capsule choice, Reset): it wins over a running sweep,
// and the sliders it came with are the drawing's pose. They are on the page by the next frame.
// A new answer may come with another mode (a pair example sets it): the next frame also picks its decoder.
watch("value", () => {
  stopPlaying();
  requestAnimationFrame(() => {
    useMode();
    if (decoder !== null) drawingPose = poseOnPage();
  });
});

// Listening on the document: the sliders and #play are other components, rendered on their own.
document.addEventListener("input", onSliderInput);
document.addEventListener("click", onPlayClick);
// While the pen moves, the page's own prediction (canvas.js) is decoded here too: its selected capsule's pose.
document.addEventListener("capsnet-local", ({detail}) => {
  if (decoder === null) return;
  stopPlaying();
  show(detail.digit, detail.pose);
});
document.addEventListener("change", (event) => { if (event.target.closest("#mode")) useMode(); });
useMode();
