"""Shared test helpers: seeded NumPy data, float32 casts, comparison with a float64 reference.

Reference values in the tests come from independent float64 NumPy/SciPy code;
these helpers only build inputs and compare. ``slow`` tests (notebooks,
model training) are deselected by ``pytest -m "not slow"`` for a fast inner loop.
"""

from __future__ import annotations

import os

# The suite compiles about 19,000 small XLA programs, and compiling dominates its time (a
# profile of a full run: backend compile 57 %, lowering 15 %, tracing 7 %). Two XLA flags cut
# it, set before JAX creates its CPU backend (conftest is imported before any test runs a
# computation), and inherited by the notebooks' kernels and the tests' subprocesses:
# - LLVM optimisation level 0: about a third faster (the contract tests of ten losses,
#   85 s -> 56 s on 2 cores), and a gradient that relies on XLA not recomputing an operand
#   (jnp.max's equality test) fails here instead of on a user's GPU;
# - XLA:CPU's classic elemental emitters instead of its MLIR fusion emitters: a further ~45 %
#   less compile time (measured in one run, 37 shapes of a few eager ops and a value_and_grad:
#   20.0 s -> 11.2 s). The computed values are the same up to float rounding; users' programs
#   keep XLA's defaults.
SUITE_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), SUITE_XLA_FLAGS]).strip()

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


def host_devices_env(n: int = 8) -> dict:
  """The environment of a subprocess that sees ``n`` CPU devices, importing this checkout.

  The device count is fixed when JAX starts, hence a subprocess; it keeps the suite's
  compile-time XLA flags (compiles dominate these runs).
  """
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": root,
          "XLA_FLAGS": f"--xla_force_host_platform_device_count={n} {SUITE_XLA_FLAGS}"}


def rng(seed: int = 0) -> np.random.Generator:
  """A fresh NumPy generator (each test builds its own data, independent of test order)."""
  return np.random.default_rng(seed)


def f32(x):
  """An array (NumPy, list, scalar) as a float32 JAX array."""
  return jnp.asarray(np.asarray(x, np.float32))


def f32s(*xs):
  """Several arrays as a tuple of float32 JAX arrays (``loss(*f32s(p, t))``)."""
  return tuple(f32(x) for x in xs)


def close(a, b, rtol=1e-5, atol=1e-6):
  """``a`` (a loss's float32 output) matches the float64 reference ``b``."""
  np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=rtol, atol=atol)


# Each xdist worker runs thousands of tests and JAX keeps every compiled program: a worker
# grew past 4.5 GB and XLA crashed compiling late in a run. When a worker's resident memory
# has grown by 1.5 GB since the last time (from 3 GB) its JAX caches are dropped -- once or
# twice a run. Not on a schedule: clearing also drops the small programs every test reuses
# (random keys, eager jnp ops), and clearing once per loss made the contract module several
# times slower. The allocator keeps freed memory, so the next limit counts from the RSS after
# clearing.
_RSS_STEP = 3 << 29
_rss_limit = 3 << 30


def _rss_bytes():
  try:
    with open("/proc/self/statm") as f:
      return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
  except (OSError, ValueError, IndexError):   # not Linux: no limit
    return 0


def pytest_runtest_teardown(item, nextitem):
  global _rss_limit
  if _rss_bytes() > _rss_limit:
    import gc

    import jax

    jax.clear_caches()
    gc.collect()
    _rss_limit = max(_rss_limit, _rss_bytes() + _RSS_STEP)
