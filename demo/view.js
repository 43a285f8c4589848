// A view that views.js draws from numbers (gr.HTML's js_on_load, after app.py's `const VIEW = "<its name>";`:
// Gradio passes element, props and watch). The numbers are the server's answer (props.value) or, while the pen
// moves, the page's own prediction (canvas.js's "capsnet-local" event); the server's next answer replaces them.
const views = import(new URL("live/views.js", document.baseURI).href);

function draw() {
  const value = props.value;
  views.then((module) => { element.querySelector(".view").innerHTML = module[VIEW](value); });
}

watch("value", draw);
document.addEventListener("capsnet-local", ({detail}) => {
  props.value = detail.reading;
  draw();
});
draw();
