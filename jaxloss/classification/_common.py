"""Internals shared by the classification sub-modules (not public)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_broadcastable,
    check_floating,
    check_same_shape,
    class_labels,
    debug_check_labels,
)


def broadcast_where(where, shape):
  """``where`` validated and broadcast to the unreduced loss ``shape`` (or None)."""
  if where is None:
    return None
  check_broadcastable("where", where, shape, "unreduced loss")
  return broadcast_mask("where", where, tuple(shape), "unreduced loss")


def class_inputs(logits, labels, axis, where, *, logits_name="logits",
                 ignore_index=None):
  """Validates (logits, labels) with the class axis ``axis``.

  Returns ``(logits, labels, kind, where)`` with the class axis moved last,
  logits in the compute dtype, ``kind`` "int" | "dense", and ``where``
  broadcast to the unreduced shape ``logits.shape[:-1]`` (or None). Entries
  excluded by ``where`` are replaced by 0 in logits and dense labels, so a
  NaN/inf there reaches neither the value nor the gradient.
  """
  check_floating(logits_name, logits)
  logits = jnp.asarray(logits)
  if logits.ndim < 1:
    raise LossInputError(f"{logits_name} must have a class axis, got shape {logits.shape}")
  logits = jnp.moveaxis(logits, axis, -1)
  labels = jnp.asarray(labels)
  if labels.ndim == logits.ndim:   # one-hot/soft targets (any dtype): classes on `axis` too
    labels = jnp.moveaxis(labels, axis, -1)
  kind = class_labels(logits, labels, logits_name=logits_name)
  dtype = nx.compute_dtype(logits, labels)
  logits = logits.astype(dtype)
  where = broadcast_where(where, logits.shape[:-1])
  logits = nx.mask_fill(logits, where, trailing=1)
  if kind == "dense":
    labels = nx.mask_fill(labels.astype(dtype), where, trailing=1)
  else:
    debug_check_labels(labels, logits.shape[-1], ignore_index)
  return logits, labels, kind, where


def class_vector(name, value, num_classes, dtype):
  """A ``[C]`` per-class vector (class weights), validated; None passes through."""
  if value is None:
    return None
  value = jnp.asarray(value, dtype)
  if value.shape != (num_classes,):
    raise LossInputError(
        f"{name} has shape {value.shape}; expected ({num_classes},), one entry per class")
  return value


def binary_inputs(logits, labels, where, *, logits_name="logits"):
  """Validates an elementwise (logits, labels) pair; masked entries zero-filled."""
  check_floating(logits_name, logits)
  logits = jnp.asarray(logits)
  labels = jnp.asarray(labels)
  check_same_shape(logits_name, logits, "labels", labels)
  dtype = nx.compute_dtype(logits, labels)
  where = broadcast_where(where, logits.shape)
  logits = nx.mask_fill(logits.astype(dtype), where)
  labels = nx.mask_fill(labels.astype(dtype), where)
  return logits, labels, where


def and_mask(a, b):
  """Logical and of two optional masks."""
  if a is None:
    return b
  if b is None:
    return a
  return a & b
