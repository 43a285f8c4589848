// A view that views.js draws from numbers (gr.HTML's js_on_load, after app.py's `const VIEW = "<its name>";` and
// `const ASKS = <true or false>;`: Gradio passes element, props, trigger and watch). The numbers are the server's
// answer (props.value) or the page's own (a "capsnet-local" event whose detail names this view: canvas.js and
// turn_and_stretch.js as the pen or a slider moves, and once the pen is lifted); the server's next answer replaces
// them. A view the page does not make (ASKS) asks the server (its input event) when the page has read a drawing
// (final) while the view can be seen.
//
// The page's own numbers are drawn as they come, not put into props.value: Gradio keeps props.value as a reactive
// proxy, through which every number of a view is read a hundred times slower (routing's took 250 ms to draw).
const views = import(new URL("lab/views.js", document.baseURI).href);
let asked = 0; // counts the values to draw: an older one that takes longer to draw is dropped

function draw(value) {
  const number = ++asked;
  views.then((module) => module.render(VIEW, value)).then((html) => {
    if (number === asked) element.querySelector(".view").innerHTML = html;
  });
}

// The server's numbers, read out of the proxy once: they are plain JSON.
const served = () => JSON.parse(JSON.stringify(props.value));

watch("value", () => draw(served()));
document.addEventListener("capsnet-local", ({detail}) => {
  // at the next frame: by then Gradio holds the canvas's new value, which the server reads
  if (ASKS && detail.final && element.checkVisibility()) requestAnimationFrame(() => trigger("input"));
  if (VIEW in detail) draw(detail[VIEW]);
});
draw(served());
