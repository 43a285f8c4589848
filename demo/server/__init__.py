"""The plumbing under the page: assets, limits, isolation, memory, turns (docs/demo-code.md)."""
