"""Benchmarks: load generators, peers and fake servers; run by `spaces bench`."""
