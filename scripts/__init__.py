"""Scripts that make the shipped pictures and examples, run as modules from the repository root:
`python -m scripts.screenshot`."""
