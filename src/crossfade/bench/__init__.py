"""Benchmarks: protocol clients, workloads, arrivals, the runner, metrics and saved results."""
