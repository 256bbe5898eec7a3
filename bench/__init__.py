"""Side-by-side benchmarks for issue 8: `python -m bench` writes bench/results.json."""
