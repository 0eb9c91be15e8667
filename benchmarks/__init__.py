"""Speed benchmarks of the kernel engines (``python -m benchmarks``; see benchmarks/README.md)."""
