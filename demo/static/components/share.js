// A link to the lab as it is (gr.HTML's js_on_load of #share: Gradio passes element, props and trigger). The state
// is read off the page and written into the address's fragment by link.js ("#lab=..."), which the browser never sends
// to the server; the address bar follows the page with history.replaceState (one entry, never one per stroke), and
// #copy-link copies it, or selects it in #link-text where the clipboard cannot be written.
//
// A page opened with such a fragment is put back as it was, once its network has started (or could not), in the
// order in which no part's answer undoes another's: the mode, the input (the strokes, which canvas.js replays and
// reads as after a pen lift; or a shipped example, clicked), the turn (its answer takes the longest capsule and its
// pose), the capsule, the pose, the iterations, the tab. Each is set through the page's own elements, as a person
// sets it, so the server is asked what it is asked then, and sees nothing but the drawing. A link that cannot be
// read leaves the page empty and says why in #link-status, one line; so does an uploaded image, which no link holds.
const LINK = new URL("lab/link.js", document.baseURI); // demo/server/assets.py's ASSETS_PATH
const TURN = ["rotate", "scale", "shear", "shift-x", "shift-y"]; // #transform's sliders (turn_and_stretch.CONTROLS)
const SETTLE_MS = 300; // the address follows the page once it has been still this long
const ANSWER_MS = 30_000; // the longest a restore waits for one answer: the server's may queue on busy cores
const UPLOADED = "An uploaded image is not in the link: it opens the lab without it.";
const PUT_BACK = "This link could not be put back on the page: reload it, or start afresh.";
const NO_CODE = "No link here: this browser could not load the page's link code.";
const status = element.querySelector("#link-status");
const copyButton = element.querySelector("#copy-link");
const linkText = element.querySelector("#link-text");

let codec = null; // link.js, once imported
let strokes = []; // canvas.js's, from its "capsnet-strokes" events
let input = "strokes"; // what the page reads: "strokes", "upload", or a shipped example: {gallery, index}
let posed = false; // a pose slider was moved since the sliders last took a reading's pose
let restoring = true; // a link's state is being put on the page: the address waits
let pressed = false; // a pen or a slider is held: the address waits for its lift (a new address has Chromium fetch
                     // the favicon again, and nothing is to be sent while the pen is down)
let settle = null;

function say(line) {
  status.textContent = line;
}

function checked(id) {
  return document.querySelector(`#${id} input:checked`)?.value ?? null;
}

function numberBox(id) {
  return document.querySelector(`#${id} input[type=number]`);
}

function numbers(ids) {
  return ids.map((id) => Number(numberBox(id).value));
}

function poseIds() {
  const ids = [];
  while (document.getElementById(`dim-${ids.length}`)) ids.push(`dim-${ids.length}`);
  return ids;
}

function tabs() {
  return [...document.querySelectorAll("#deeper [role=tab]")];
}

function thumbnails(gallery) {
  return [...document.querySelectorAll(`#${gallery} .thumbnail-item`)];
}

function decoderPlace() {
  return document.querySelector("#reconstruction [data-decoder]")?.dataset.decoder ?? "loading";
}

function newResult() {
  return numberBox("new-result")?.value; // a new number with every answer that brings views (wiring.Page.shown)
}

function current() {
  const [digit, iterations] = [checked("digit"), checked("iterations")];
  return {mode: checked("mode") ?? "one", strokes, example: typeof input === "object" ? input : null,
          upload: input === "upload", digit: digit === null ? null : Number(digit),
          pose: posed ? numbers(poseIds()) : null, turn: numbers(TURN),
          iterations: iterations === null ? null : Number(iterations),
          tab: Math.max(0, tabs().findIndex((tab) => tab.getAttribute("aria-selected") === "true"))};
}

// What this page has, for link.js to check a link against.
function bounds() {
  const choices = (id) => [...document.querySelectorAll(`#${id} input[type=radio]`)].map((box) => box.value);
  const range = (id) => {
    const slider = document.querySelector(`#${id} input[type=range]`);
    return [Number(slider.min), Number(slider.max)];
  };
  const [low, high] = range("dim-0");
  return {modes: choices("mode"), digits: choices("digit").length, iterations: choices("iterations").map(Number),
          pose: {count: poseIds().length, low, high}, turn: TURN.map(range), tabs: tabs().length,
          galleries: {examples: thumbnails("examples").length, "pair-examples": thumbnails("pair-examples").length}};
}

function address(fragment) {
  history.replaceState(history.state, "", `${location.pathname}${location.search}${fragment ? `#${fragment}` : ""}`);
}

// The address follows the page once it is still; a link too long for the address says so instead.
function remember() {
  clearTimeout(settle);
  settle = setTimeout(() => {
    if (restoring || pressed || codec === null) return;
    try {
      address(codec.encode(current()));
    } catch (error) {
      say(error.message);
    }
  }, SETTLE_MS);
}

async function copyLink() {
  clearTimeout(settle);
  try {
    address(codec.encode(current()));
  } catch (error) {
    say(error.message);
    return;
  }
  const link = location.href;
  const upload = input === "upload" ? " An uploaded image is not in it." : "";
  Object.assign(linkText, {value: link, hidden: false});
  linkText.select();
  try {
    await navigator.clipboard.writeText(link);
    say(`Link copied: ${link.length} characters.${upload}`);
  } catch {
    say(`Copy the link above (Ctrl+C): ${link.length} characters.${upload}`);
  }
}

// -- putting a link's state back -------------------------------------------------------------------------------------

function until(condition, ms = ANSWER_MS) {
  const deadline = performance.now() + ms;
  return new Promise((resolve) => {
    const poll = () => {
      if (condition()) resolve(true);
      else if (performance.now() > deadline) resolve(false);
      else setTimeout(poll, 50);
    };
    poll();
  });
}

// An answer's followers (wiring's js-only events after a new input: the turn back to no change, the capsule and pose
// read in the page; decoder.js's picture) run after the answer is seen: a state set before them would be undone.
function settled() {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

function choose(id, value) {
  document.querySelector(`#${id} input[value="${value}"]`).click();
}

// Values typed into the sliders' number boxes, as a person would: each box's input event is Gradio's and the page's.
function type(ids, values) {
  ids.forEach((id, n) => {
    const box = numberBox(id);
    box.value = String(values[n]);
    box.dispatchEvent(new Event("input", {bubbles: true}));
  });
}

// The strokes drawn by canvas.js and read: by the page (its final "capsnet-local", then #digit takes the reading) or
// by the server (a new answer).
async function replay(paths) {
  const before = newResult();
  const readInPage = new Promise((resolve) => {
    const read = ({detail}) => {
      if (!detail.final) return;
      document.removeEventListener("capsnet-local", read);
      resolve(detail.digit === null ? null : String(detail.digit));
    };
    document.addEventListener("capsnet-local", read);
  });
  document.dispatchEvent(new CustomEvent("capsnet-replay", {detail: paths}));
  await Promise.race([readInPage.then((digit) => until(() => checked("digit") === digit)),
                      until(() => newResult() !== before)]);
}

// Only one-digit mode turns the input (the pair model reads it as drawn): there, letting go of a slider brings the
// server's answer, which the capsule and pose wait for.
async function turn(state) {
  const now = numbers(TURN);
  const moved = TURN.filter((id, n) => state.turn[n] !== now[n]);
  if (moved.length === 0) return;
  const before = newResult();
  type(moved, moved.map((id) => state.turn[TURN.indexOf(id)]));
  if (state.mode !== "one") return;
  numberBox(moved.at(-1)).dispatchEvent(new PointerEvent("pointerup", {bubbles: true}));
  await until(() => newResult() !== before);
  await settled(); // decoder.js takes the answer's picture at the next frame: a pose typed before would be dropped
}

async function restore(state) {
  if (state.mode !== checked("mode")) {
    const before = newResult();
    choose("mode", state.mode);
    await until(() => newResult() !== before && decoderPlace() !== "loading");
  }
  if (state.example) {
    const before = newResult();
    thumbnails(state.example.gallery)[state.example.index].click();
    await until(() => newResult() !== before);
  } else if (state.strokes.length > 0) {
    await replay(state.strokes);
  }
  await settled();
  if (state.upload) {
    input = "upload";
    say(UPLOADED);
  }
  if (state.turn) await turn(state);
  if (state.digit !== null && checked("digit") !== String(state.digit)) {
    const pose = numbers(poseIds());
    choose("digit", state.digit);
    await until(() => numbers(poseIds()).some((value, n) => value !== pose[n]));
    await settled();
  }
  if (state.pose) type(poseIds(), state.pose);
  if (state.iterations !== null && checked("iterations") !== String(state.iterations)) {
    choose("iterations", state.iterations);
  }
  if (tabs()[state.tab].getAttribute("aria-selected") !== "true") tabs()[state.tab].click();
}

async function start() {
  // Read once the page can read a drawing as it will for a person: its network started, or known not to.
  await until(() => decoderPlace() !== "loading" && window.capsnetLocal?.place !== "loading" &&
                    thumbnails("examples").length > 0 && tabs().length > 0);
  const fragment = location.hash.slice(1);
  if (fragment) {
    let state = null;
    try {
      state = codec.decode(fragment, bounds());
    } catch (error) {
      say(error.message);
      address("");
    }
    if (state !== null) {
      await restore(state).catch((error) => {
        console.info(PUT_BACK, error);
        say(PUT_BACK);
      });
    }
  }
  restoring = false;
  element.dataset.link = "ready"; // for the tests: what the link held is on the page
}

// -- following the page ----------------------------------------------------------------------------------------------

document.addEventListener("pointerdown", () => { pressed = true; }, true); // before canvas.js captures the pointer
for (const type of ["pointerup", "pointercancel"]) {
  document.addEventListener(type, () => {
    pressed = false;
    remember();
  }, true);
}
document.addEventListener("capsnet-strokes", ({detail}) => {
  strokes = detail;
  input = "strokes";
  posed = false;
  say("");
  remember();
});
document.addEventListener("capsnet-local", ({detail}) => {
  if (detail.final) posed = false; // the sliders take the page's reading
});
document.addEventListener("input", (event) => {
  const target = event.target;
  if (target.closest?.("[id^='dim-']")) posed = true;
  else if (target.closest?.("#digit, #mode, #transform")) posed = false; // their answers set the sliders
  remember();
});
document.addEventListener("change", (event) => {
  if (event.target.closest?.("#upload")) {
    input = "upload";
    posed = false;
    say(UPLOADED);
  }
  remember();
});
document.addEventListener("drop", (event) => {
  if (!event.target.closest?.("#upload")) return;
  input = "upload";
  say(UPLOADED);
});
document.addEventListener("click", (event) => {
  const thumbnail = event.target.closest?.(".thumbnail-item");
  const gallery = thumbnail?.closest("#examples, #pair-examples");
  if (gallery) {
    input = {gallery: gallery.id, index: thumbnails(gallery.id).indexOf(thumbnail)};
    posed = false;
    say("");
  } else if (event.target.closest?.("#reset, #transform-reset")) {
    posed = false;
  }
  remember();
});
// The server's answers (a turn, a mode) change the capsule: the address follows once it holds a state.
new MutationObserver(() => { if (location.hash.startsWith("#lab=")) remember(); })
  .observe(document.body, {subtree: true, childList: true});
// Another link pasted into this tab's address bar changes only the fragment: the page opens it afresh. (replaceState
// fires no hashchange: this is always someone else's address.)
window.addEventListener("hashchange", () => { if (location.hash.startsWith("#lab=")) location.reload(); });
copyButton.addEventListener("click", copyLink);
copyButton.disabled = true; // until link.js is in
import(LINK.href).then(
  (module) => {
    codec = module;
    copyButton.disabled = false;
    start();
  },
  (error) => {
    console.info(NO_CODE, error);
    say(NO_CODE);
  },
);
