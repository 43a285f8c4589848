// Names the pose sliders after what each dimension of the capsule on show tracks: props.value is
// {mode: names[capsule][dim]} (demo/compute/turn_and_stretch.py capsule_names, from each model's pose-dimensions.json).
// The capsule on show changes with a new answer from the server (its reconstruction comes with it), a capsule
// choice, the mode, and the page's own prediction while the pen moves (canvas.js's "capsnet-local").

const names = props.value;

function selected() {
  const checked = document.querySelector("#digit input:checked");
  return checked ? Number(checked.value) : null;
}

function rename(digit) {
  const mode = document.querySelector("#mode input:checked")?.value ?? "one";
  const table = names[mode] ?? names.one;
  table[0].forEach((_, dim) => {
    const label = document.querySelector(`#dim-${dim} [data-testid="block-info"]`);
    const name = digit === null ? `dim ${dim}` : table[digit][dim];
    if (label && label.textContent !== name) label.textContent = name;
  });
}

// After the frame in which Gradio set the new values (the radio's choice with the reconstruction).
const renameSoon = (digit) => requestAnimationFrame(() => rename(digit ?? selected()));

// The server's answers: a new reconstruction, or another capsule checked. Those components may be mounted after
// this one: watched from the first frame in which both are there.
function watchAnswers() {
  const [picture, choice] = [document.getElementById("reconstruction"), document.getElementById("digit")];
  if (picture === null || choice === null) {
    requestAnimationFrame(watchAnswers);
    return;
  }
  const observer = new MutationObserver(() => renameSoon());
  observer.observe(picture, {subtree: true, attributes: true, attributeFilter: ["src"]});
  observer.observe(choice, {subtree: true, attributes: true, attributeFilter: ["aria-checked"]});
  renameSoon();
}
watchAnswers();
document.addEventListener("change", (event) => {
  if (event.target.closest("#digit, #mode")) renameSoon();
});
document.addEventListener("capsnet-local", ({detail}) => renameSoon(detail.digit));
