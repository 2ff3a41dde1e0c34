"""jaxloss benchmarks: scripts that print a markdown table and write JSON (not part of the tests)."""
