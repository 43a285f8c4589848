// A view that views.js draws from numbers (gr.HTML's js_on_load, after app.py's `const VIEW = "<its name>";`:
// Gradio passes element, props and watch). The numbers are the server's answer (props.value) or the page's own
// (a "capsnet-local" event whose detail names this view: canvas.js and turn.js while the pen or a slider moves);
// the server's next answer replaces them.
const views = import(new URL("lab/views.js", document.baseURI).href);
let asked = 0; // counts the values to draw: an older one that takes longer to draw is dropped

function draw() {
  const [value, number] = [props.value, ++asked];
  views.then((module) => module.render(VIEW, value)).then((html) => {
    if (number === asked) element.querySelector(".view").innerHTML = html;
  });
}

watch("value", draw);
document.addEventListener("capsnet-local", ({detail}) => {
  if (!(VIEW in detail)) return;
  props.value = detail[VIEW];
  draw();
});
draw();
