"""Shared input handling of the segmentation losses (not public)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_broadcastable,
    check_floating,
    check_min_rank,
    check_shape,
    class_labels,
    debug_check_labels,
)

TASKS = ("semantic segmentation", "medical image segmentation")
ACTIVATIONS = ("softmax", "sigmoid", None)


def activate(logits, activation):
  """Applies ``activation`` over the class (last) axis."""
  if activation == "softmax":
    if logits.shape[-1] < 2:
      raise LossInputError(
          f"activation='softmax' needs at least 2 classes, but logits has shape "
          f"{logits.shape}; use activation='sigmoid' for binary segmentation with C = 1")
    return jax.nn.softmax(logits, axis=-1)
  if activation == "sigmoid":
    return jax.nn.sigmoid(logits)
  return logits


def targets(logits, labels, *, ignore_index=None):
  """Dense float targets ``(B, *S, C)`` and a pixel mask ``(B, *S)`` or None.

  Integer labels are one-hot encoded (with ``C = 1`` they are the binary
  foreground indicator itself); ``ignore_index`` pixels get all-zero targets
  and are returned as invalid (:func:`jaxloss._numerics.class_ids`, the
  shared rule of every loss taking ``ignore_index``).
  """
  kind = class_labels(logits, labels)
  dtype = nx.compute_dtype(logits)
  c = logits.shape[-1]
  nx.check_ignore_index(ignore_index)
  if kind == "dense":
    if ignore_index is not None:
      raise LossInputError(
          f"ignore_index needs integer labels, but labels has shape {labels.shape} "
          f"and dtype {labels.dtype}")
    return jnp.asarray(labels).astype(dtype), None
  debug_check_labels(labels, max(c, 2), ignore_index)
  valid, ids = nx.class_ids(labels, ignore_index)
  if c == 1:
    g = (ids == 1).astype(dtype)[..., None]
  else:
    g = nx.one_hot(ids, c, dtype=dtype)
  if valid is not None:
    g = jnp.where(valid[..., None], g, jnp.zeros((), dtype))
  return g, valid


def image_mask(where, logits, include_background, batch, per_class=True):
  """The images ``(B,)`` with at least one entry kept by ``where`` (None if no mask).

  ``where`` masks the unreduced ``(B, C')`` (``per_class``) or ``(B,)`` loss;
  with ``batch=True`` the loss is pooled over the batch and nothing can be
  dropped per image.
  """
  if where is None or batch or np.ndim(logits) < 2:
    return None
  c = logits.shape[-1]
  c_out = c - 1 if (not include_background and c > 1) else c
  shape = (logits.shape[0], c_out) if per_class else (logits.shape[0],)
  check_broadcastable("where", where, shape, "unreduced loss")
  m = broadcast_mask("where", where, shape, "unreduced loss")
  return jnp.any(m, axis=-1) if per_class else m


def prepare(logits, labels, *, activation, include_background=True, ignore_index=None,
            min_rank=3, images=None, pixels=None, return_valid=False):
  """Validates and returns probabilities and targets ``(B, *S, C')``.

  ``include_background=False`` drops channel 0 when ``C > 1`` (MONAI ignores
  it for a single channel); ignored pixels are zeroed in both. ``images``
  (``(B,)`` bool, from :func:`image_mask`) replaces the inputs of excluded
  images by zeros first, so a NaN there reaches neither value nor gradient;
  ``pixels`` (``(B, *S)`` bool, from :func:`pixel_mask`) does the same for
  excluded pixels and treats them as ignored. The logits of ``ignore_index``
  pixels are zero-filled before the activation too (double where: a NaN in
  an ignored pixel reaches neither value nor gradient). With
  ``return_valid`` the kept pixels ``(B, *S)`` (or None) are returned third.
  """
  check_floating("logits", logits)
  check_min_rank("logits", logits, min_rank, "(B, *spatial, C)")
  dtype = nx.compute_dtype(logits)
  for keep in (images, pixels):
    if keep is not None:
      logits = nx.mask_fill(logits, keep, trailing=logits.ndim - keep.ndim)
      if jnp.ndim(labels) == logits.ndim:   # one-hot/soft targets, whatever their dtype
        labels = nx.mask_fill(labels, keep, trailing=labels.ndim - keep.ndim)
  g, valid = targets(logits, labels, ignore_index=ignore_index)
  if pixels is not None:
    valid = pixels if valid is None else valid & pixels
    g = jnp.where(valid[..., None], g, jnp.zeros((), dtype))
  logits = nx.mask_fill(logits.astype(dtype), valid, trailing=1)
  p = activate(logits, activation)
  if valid is not None:
    p = jnp.where(valid[..., None], p, jnp.zeros((), dtype))
  if not include_background and p.shape[-1] > 1:
    p, g = p[..., 1:], g[..., 1:]
  return (p, g, valid) if return_valid else (p, g)


def pixel_mask(where, logits):
  """``where`` broadcast to a ``(B, *S)`` boolean pixel mask (None stays None)."""
  if where is None:
    return None
  check_broadcastable("where", where, logits.shape[:-1], "pixels, logits.shape[:-1]")
  return broadcast_mask("where", where, logits.shape[:-1], "pixel")


def reduce_axes(ndim, batch):
  """Spatial axes of a ``(B, *S, C)`` array, plus the batch axis if ``batch``."""
  spatial = tuple(range(1, ndim - 1))
  return (0, *spatial) if batch else spatial


def check_class_weights(class_weights, num):
  if class_weights is not None:
    check_shape("class_weights", class_weights, (num,),
                "one weight per class after include_background")

