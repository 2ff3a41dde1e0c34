"""Shared preamble of the distribution family: sample-set validation, sample weights, distances.

Private to :mod:`jaxloss.distribution` (other families use its public losses only).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import LossInputError, broadcast_where, check_floating, shape_of


def sample_sets(x, y, where, *, names=("x", "y")):
  """Validates two sample sets ``(..., N, D)`` and ``(..., M, D)``; returns them cast and masked.

  The leading (batch) axes must be equal; each batch entry is one pair of sets
  and gives one loss value. Entries excluded by ``where`` (over the batch
  shape) are replaced by zeros *before* any arithmetic, so a NaN there reaches
  neither the value nor the gradient.

  Returns:
    ``(x, y, batch_shape)``, ``x``/``y`` in the compute dtype.
  """
  nx_, ny_ = names
  check_floating(nx_, x)
  check_floating(ny_, y)
  xs, ys = shape_of(x), shape_of(y)
  if len(xs) < 2:
    raise LossInputError(f"{nx_} has shape {xs}; expected a sample set of shape (..., N, D)")
  if len(ys) != len(xs) or ys[:-2] != xs[:-2] or ys[-1] != xs[-1]:
    raise LossInputError(
        f"{ny_} has shape {ys} but {nx_} has shape {xs}; expected {ny_} of shape "
        f"{xs[:-2] + ('M', xs[-1])} (same batch axes and feature size D = {xs[-1]})")
  batch = xs[:-2]
  broadcast_where(where, batch)
  dtype = nx.compute_dtype(x, y)
  x = nx.mask_fill(jnp.asarray(x).astype(dtype), where, trailing=2)
  y = nx.mask_fill(jnp.asarray(y).astype(dtype), where, trailing=2)
  return x, y, batch


def sample_weights(name, w, shape, dtype):
  """Per-sample weights ``w`` (broadcastable to ``shape = (..., N)``), normalised to sum 1.

  ``None`` gives uniform weights ``1 / N``. A set whose weights sum to 0 gets
  zero weights (and a zero loss contribution) instead of a NaN.
  """
  if w is None:
    return jnp.full(shape, 1.0 / shape[-1], dtype)
  ws = shape_of(w)
  try:
    ok = np.broadcast_shapes(ws, tuple(shape)) == tuple(shape)
  except ValueError:
    ok = False
  if not ok:
    raise LossInputError(
        f"{name} has shape {ws}; expected per-sample weights broadcastable to {tuple(shape)}")
  w = jnp.broadcast_to(jnp.asarray(w, dtype), shape)
  return nx.safe_div(w, jnp.sum(w, axis=-1, keepdims=True))


def sq_distances(a, b):
  """Pairwise squared Euclidean distances ``(..., N, M)`` of ``(..., N, D)`` and ``(..., M, D)``.

  Expanded as ``|a|^2 + |b|^2 - 2 a.b`` (one matmul, O(N M) memory) after
  centring both sets on their pooled mean -- distances are translation
  invariant and centring shrinks the norms that cancel, so the rounding error
  is relative to the spread of the data, not its offset -- and clamped at 0.
  The matmul runs at full precision (TPU's default would round to bfloat16).
  The gradient at coincident points is finite: no square root is taken here.
  """
  centre = jax.lax.stop_gradient(
      (jnp.sum(a, axis=-2, keepdims=True) + jnp.sum(b, axis=-2, keepdims=True))
      / (a.shape[-2] + b.shape[-2]))
  a, b = a - centre, b - centre
  ab = jnp.einsum("...nd,...md->...nm", a, b, precision=jax.lax.Precision.HIGHEST)
  d2 = jnp.sum(a * a, -1)[..., :, None] + jnp.sum(b * b, -1)[..., None, :] - 2.0 * ab
  return jnp.maximum(d2, 0.0)


def self_sq_distances(a):
  """Squared distances within one set, with an exact zero diagonal."""
  d2 = sq_distances(a, a)
  n = a.shape[-2]
  return jnp.where(jnp.eye(n, dtype=bool), jnp.zeros((), d2.dtype), d2)


def kernel_mean(k, wa, wb, *, exclude_diagonal=False):
  """``sum_ij wa_i wb_j k_ij`` (a V-statistic), or over ``i != j`` renormalised (a U-statistic)."""
  w = wa[..., :, None] * wb[..., None, :]
  if not exclude_diagonal:
    return jnp.sum(w * k, axis=(-2, -1))
  off = ~jnp.eye(k.shape[-1], dtype=bool)
  w = jnp.where(off, w, jnp.zeros((), w.dtype))
  return nx.safe_div(jnp.sum(w * k, axis=(-2, -1)), jnp.sum(w, axis=(-2, -1)))
