"""Benchmarks and scaling experiments (scripts, never timed tests)."""
