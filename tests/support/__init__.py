"""Helpers the tests (and benchmarks/faults.py) share that are not part of the package."""
