"""Internals shared by the classification sub-modules (not public)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_where,
    check_floating,
    check_same_shape,
    class_labels,
    debug_check_labels,
    debug_check_soft_labels,
)


def class_inputs(logits, labels, axis, where, *, logits_name="logits",
                 ignore_index=None, dense_ignore="raise", fill_id_logits=True):
  """Validates (logits, labels) with the class axis ``axis``.

  Returns ``(logits, labels, kind, where)`` with the class axis moved last,
  logits in the compute dtype, ``kind`` "int" | "dense", and ``where``
  broadcast to the unreduced shape ``logits.shape[:-1]`` (or None). With
  integer labels, ``where`` also excludes the ``ignore_index`` entries and
  ``labels`` are the safe ids of :func:`jaxloss._numerics.class_ids` (0 at
  excluded entries). Excluded entries are replaced by 0 in logits and dense
  labels *before* any arithmetic, so a NaN/inf there reaches neither the
  value nor the gradient; pass the returned ``where`` to the reduction.
  Dense labels are soft labels: the value check (``jaxloss.set_checks``)
  requires rows >= 0 that sum to 1 (a one-hot of any dtype does).

  ``fill_id_logits=False`` leaves the logits of excluded entries as they are
  when the labels are class ids: for a caller whose arithmetic already
  discards them exactly (:func:`jaxloss._numerics.softmax_ce_ids`), saving a
  masked copy of the logits.

  ``dense_ignore``: what an ``ignore_index`` does with one-hot/soft labels:
  "raise" (a :class:`LossInputError`, for the losses whose ``ignore_index``
  defaults to None) or "skip" (torch's ``cross_entropy``: it applies to class
  ids only, and its default -100 is always set).
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
  nx.check_ignore_index(ignore_index)
  dtype = nx.compute_dtype(logits, labels)
  logits = logits.astype(dtype)
  where = broadcast_where(where, logits.shape[:-1])
  if kind == "dense":
    if ignore_index is not None and dense_ignore == "raise":
      raise LossInputError(
          f"ignore_index needs integer class ids of shape {logits.shape[:-1]}, but labels "
          f"has shape {labels.shape} (one-hot/soft targets); exclude entries with where=")
    labels = nx.mask_fill(labels.astype(dtype), where, trailing=1)
    debug_check_soft_labels("labels", labels, where=where)
  else:
    debug_check_labels(labels, logits.shape[-1], ignore_index)
    where, labels = nx.class_ids(labels, ignore_index, where)
  if kind == "dense" or fill_id_logits:
    logits = nx.mask_fill(logits, where, trailing=1)
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

