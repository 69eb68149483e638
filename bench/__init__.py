"""The project's own benchmarks (run as separate commands, never from tests)."""
