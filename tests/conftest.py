"""Shared test helpers: seeded NumPy data, float32 casts, comparison with a float64 reference.

Reference values in the tests come from independent float64 NumPy/SciPy code;
these helpers only build inputs and compare. ``slow`` tests (notebooks,
model training) are deselected by ``pytest -m "not slow"`` for a fast inner loop.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


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

