"""The `spaces` command: the CLI, the `up` supervisor, the demo and the benchmark runner."""
