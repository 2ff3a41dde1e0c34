"""Helpers shared by the generative sub-modules (not public)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._api import LossInputError, LossTypeError, check_min_rank


def call(fn, params, x, *extra):
  """``fn(x, *extra)`` or, when ``params`` is given, ``fn(params, x, *extra)``.

  Keeping the parameters a separate (traced) argument is what lets a static,
  hashable ``fn`` be reused across training steps without a retrace, and
  what makes the penalties differentiable w.r.t. the parameters.
  """
  if not callable(fn):
    raise LossTypeError(f"expected a callable, got {type(fn).__name__}")
  extra = tuple(e for e in extra if e is not None)
  if params is None:
    return fn(x, *extra)
  return fn(params, x, *extra)


def batch_mask_fill(x, where):
  """Zeroes the examples of ``x`` (leading axis) excluded by a ``[B]`` mask."""
  if where is None:
    return x
  check_min_rank("x", x, 1)
  where = jnp.asarray(where)
  if where.shape != x.shape[:where.ndim] or where.ndim > 1:
    raise LossInputError(
        f"where has shape {where.shape}; expected a per-example mask of shape "
        f"{x.shape[:1]}")
  mask = where.reshape(where.shape + (1,) * (x.ndim - where.ndim))
  return jnp.where(mask, x, jnp.zeros((), x.dtype))


def per_example_mean(x):
  """Mean over every axis but the first: ``[B, ...] -> [B]``."""
  return jnp.mean(x.reshape(x.shape[0], -1), axis=-1) if x.ndim > 1 else x


def per_example_sum(x):
  """Sum over every axis but the first: ``[B, ...] -> [B]``."""
  return jnp.sum(x.reshape(x.shape[0], -1), axis=-1) if x.ndim > 1 else x


def feature_list(feature_fn, params, x):
  """The features of ``x`` as a list of arrays (identity when no extractor)."""
  if feature_fn is None:
    return [x]
  out = call(feature_fn, params, x)
  leaves = jax.tree.leaves(out)
  if not leaves:
    raise LossInputError("feature_fn returned no feature arrays (empty pytree, shape ())")
  return leaves


def layer_weights_of(layer_weights, n):
  """Per-layer weights as a length-``n`` list (default all 1)."""
  if layer_weights is None:
    return [1.0] * n
  w = list(layer_weights) if isinstance(layer_weights, (list, tuple)) else None
  if w is None:
    arr = jnp.asarray(layer_weights)
    if arr.shape != (n,):
      raise LossInputError(
          f"layer_weights has shape {arr.shape}; expected ({n},), one per feature layer")
    return [arr[i] for i in range(n)]
  if len(w) != n:
    raise LossInputError(
        f"layer_weights has shape ({len(w)},); expected ({n},), one per feature layer")
  return w


def example_mask(where, x):
  """A per-example ``[B]`` mask reshaped to mask the inputs ``[B, ...]``."""
  if where is None:
    return None
  where = jnp.asarray(where)
  if where.ndim != 1 or where.shape[0] != jnp.shape(x)[0]:
    raise LossInputError(
        f"where has shape {where.shape}; expected a per-example mask of shape "
        f"({jnp.shape(x)[0]},)")
  return where.reshape(where.shape + (1,) * (jnp.ndim(x) - 1))
