"""Shared helpers of the self-supervised family."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._api import LossInputError, broadcast_mask


def row_mask(where, n: int):
  """The ``(n,)`` boolean mask of the batch rows (``where`` of shape ``(n,)`` or ``()``)."""
  if where is None:
    return jnp.ones((n,), bool)
  if tuple(jnp.shape(where)) not in ((n,), ()):
    raise LossInputError(f"where has shape {tuple(jnp.shape(where))}; expected ({n},)")
  return broadcast_mask("where", where, (n,), "batch")
