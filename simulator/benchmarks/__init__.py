"""Benchmarks run by `make bench` (never by `make test`): results go to bench/results.json."""
