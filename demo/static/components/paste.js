// Pasting an image anywhere on the page (Ctrl+V, or "Paste" on a phone) uploads it as if it had
// been dropped on #upload: Gradio's file input gets the file and its own upload code does the rest.
() => {
  document.addEventListener("paste", (event) => {
    const image = [...(event.clipboardData?.files ?? [])].find((file) => file.type.startsWith("image/"));
    const input = document.querySelector("#upload input[type=file]");
    if (!image || !input) return;
    event.preventDefault();
    const files = new DataTransfer();
    files.items.add(image);
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
}
