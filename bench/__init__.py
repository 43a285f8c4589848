"""Benchmarks that print measured figures (docs/speed.md and the other pages name them), run as modules from the
repository root: `python -m bench.bench_demo`. The page driver they share with the tests is bench/pagedriver/."""
