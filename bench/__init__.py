"""Benchmarks and the corpus helpers they share with the tests (not part of the installed package)."""
