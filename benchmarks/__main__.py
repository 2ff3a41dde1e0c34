"""``python -m benchmarks``: every catalog loss vs optax and a memory-bound baseline."""

from benchmarks.run import main

main()
