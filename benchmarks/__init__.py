"""Benchmarks that print figures (`python -m benchmarks`, `make bench`); no pass/fail test depends on a timing."""
