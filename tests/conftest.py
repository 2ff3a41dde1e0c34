"""Test-session settings.

XLA's optimisation passes dominate the suite's time (hundreds of small
compilations, each run a few times); disabling most of them cuts the CPU time
by about a third without changing what is computed. Benchmarks never run with
this setting.
"""

import jax

jax.config.update("jax_disable_most_optimizations", True)
