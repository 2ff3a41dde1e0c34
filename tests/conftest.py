"""Shared test helpers: seeded NumPy data, float32 casts, x64 toggles, finite differences.

Reference values in the tests come from independent float64 NumPy/SciPy code;
these helpers only build inputs and compare. ``slow`` tests (notebooks,
model training) are deselected by ``pytest -m "not slow"`` for a fast inner loop.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest


def rng(seed: int = 0) -> np.random.Generator:
  """A fresh NumPy generator (each test builds its own data, independent of test order)."""
  return np.random.default_rng(seed)


def f32(*xs):
  """NumPy arrays as float32 JAX arrays (one array, or a tuple)."""
  out = tuple(jnp.asarray(np.asarray(x), jnp.float32) for x in xs)
  return out[0] if len(out) == 1 else out


@contextlib.contextmanager
def x64():
  """Runs the block with 64-bit JAX (for gradient checks against float64 references)."""
  with jax.enable_x64(True):
    yield


def numerical_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
  """Central finite differences of a scalar ``f`` at float64 ``x``."""
  x = np.asarray(x, np.float64)
  g = np.zeros_like(x)
  for i in np.ndindex(x.shape):
    e = np.zeros_like(x)
    e[i] = eps
    g[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
  return g


@pytest.fixture
def np_rng():
  return rng(0)
