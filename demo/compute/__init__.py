"""What the page shows, computed: plain Python, no Gradio (docs/demo-code.md)."""
