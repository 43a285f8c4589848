// #overlay (gr.HTML's js_on_load: Gradio passes element, props and watch), shown in two-digit mode: the
// network's input, and over it the two digit capsules' drawings in one PNG, props.value.drawings: the
// selected capsule's in the red channel, the other digit's in the green one (readers.Reader.overlay, the paper's Figure 5).
//
// A slider move is decoded in the browser by decoder.js, which hands the image over in a "capsule-decoded"
// event: its red channel is replaced here, and the green one, the other digit, stays as the server drew it.
// So one digit changes while the other stays put, with no message to the server. Each new answer from the
// server (a prediction, the capsule choice, Reset) brings both drawings again.
const picture = document.createElement("canvas"); // off-screen: its PNG data URL becomes props.value.drawings
let answer = 0; // counts the server's answers: a recolouring of an older one is dropped
let other = Promise.resolve(null); // the green channel of the server's last drawings, 0-255 per pixel

// channelOf reads the server's drawings; without local.js (not served) the server recolours them instead
const live = import(new URL("lab/local.js", document.baseURI).href).catch(() => null);

function greenOf(url) {
  return live.then((module) => (module ? module.channelOf(url, 1) : null));
}

// red: the selected capsule's fresh drawing (pixels in [0, 1], or null: black), green: the other digit's.
function drawingsUrl(red, green) {
  const size = Math.round(Math.sqrt(green.length));
  picture.width = picture.height = size;
  const pen = picture.getContext("2d");
  const rgba = pen.createImageData(size, size);
  for (let p = 0; p < green.length; p++) {
    rgba.data.set([red ? Math.round(red[p] * 255) : 0, green[p], 0, 255], 4 * p);
  }
  pen.putImageData(rgba, 0, 0);
  return picture.toDataURL("image/png");
}

function twoDigits() {
  return document.querySelector("#mode input:checked")?.value === "two";
}

// The page's own reading of a drawing once the pen is lifted, or of a capsule chosen for it (canvas.js, final): both
// drawings from the capsules' own poses, which the explainer views decoded (explained.js's all-capsules), over the
// network's input.
document.addEventListener("capsnet-local", ({detail}) => {
  if (!twoDigits() || !detail.final) return;
  answer += 1;
  if (detail.digit === null) {
    props.value = {input: detail["input-28"], drawings: detail["input-28"]}; // both black, as Reader.blank_overlay
    return;
  }
  const {images: {pixels, shape: [, height, width]}} = detail["all-capsules"];
  const drawing = (digit) => pixels.subarray(digit * height * width, (digit + 1) * height * width);
  const green = drawing(otherDigit(detail.prediction.lengths, detail.digit));
  other = Promise.resolve(green);
  props.value = {input: detail["input-28"],
                 drawings: drawingsUrl(Array.from(drawing(detail.digit), (p) => p / 255), green)};
});

// The digit that stays put while the sliders move capsule selected: the longer of the two longest capsules that
// isn't it (readers.Result.other).
function otherDigit(lengths, selected) {
  const [first, second] = Array.from(lengths.keys()).sort((a, b) => lengths[b] - lengths[a] || a - b);
  return selected === first ? second : first;
}

watch("value", () => {
  answer += 1;
  other = greenOf(props.value.drawings);
});

document.addEventListener("capsule-decoded", (event) => {
  if (!twoDigits()) return;
  const red = event.detail;
  const from = answer;
  other.then((green) => {
    if (green !== null && from === answer) props.value = {...props.value, drawings: drawingsUrl(red, green)};
  });
});

other = greenOf(props.value.drawings);
