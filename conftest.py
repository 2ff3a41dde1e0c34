"""Test-session setup shared by tests/ and the doctests in jaxloss/.

The suite is dominated by XLA compilation (every registered loss is compiled
some dozen times by tests/test_contract.py on small inputs), not by running
the compiled code. LLVM's optimisation passes are most of the CPU compile
time, so the test session compiles with ``--xla_backend_optimization_level=0``
unless ``JAXLOSS_TEST_FULL_OPT=1``: XLA's HLO passes (fusion, algebraic
simplification) still run, so the tests see the program users run; only the
machine code is less optimised, which small test inputs do not notice.
"""

import os

if os.environ.get("JAXLOSS_TEST_FULL_OPT") != "1":
  flags = os.environ.get("XLA_FLAGS", "")
  if "xla_backend_optimization_level" not in flags:
    os.environ["XLA_FLAGS"] = (flags + " --xla_backend_optimization_level=0").strip()
