"""Shared helpers of the embedding family: validation, distance/similarity matrices, masks."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_floating,
    check_integer,
    check_rank,
    reduce_loss,
)

_PML = "pytorch-metric-learning 2.9 (Musgrave et al., A Metric Learning Reality Check, ECCV 2020)"


# --------------------------------------------------------------------------
# Shared helpers: validation, the pairwise matrices and the label masks.
# --------------------------------------------------------------------------


def row_mask(where, n: int):
  """The ``(n,)`` boolean row mask of a batch loss (``where`` of shape ``(n,)`` or ``()``)."""
  if where is None:
    return jnp.ones((n,), bool)
  if tuple(jnp.shape(where)) not in ((n,), ()):
    raise LossInputError(f"where has shape {tuple(jnp.shape(where))}; expected ({n},)")
  return broadcast_mask("where", where, (n,), "batch")


def _batch_inputs(embeddings, labels, where, normalize):
  """Validates ``embeddings [N, D]`` / ``labels [N]``; returns (x, valid, dtype).

  Rows excluded by ``where`` are zero-filled (so a NaN there cannot leak) and
  ``valid`` marks the rows that take part.
  """
  check_floating("embeddings", embeddings)
  check_rank("embeddings", embeddings, 2, "[N, D]")
  check_integer("labels", labels)
  n = embeddings.shape[0]
  if tuple(jnp.shape(labels)) != (n,):
    raise LossInputError(
        f"labels has shape {tuple(jnp.shape(labels))}; expected ({n},) "
        f"(embeddings has shape {tuple(embeddings.shape)})")
  dtype = nx.compute_dtype(embeddings)
  x = embeddings.astype(dtype)
  valid = row_mask(where, n)
  if where is not None:
    x = nx.mask_fill(x, valid, trailing=1)
  if normalize:
    x = nx.l2_normalize(x)
  return x, valid, dtype


def _label_masks(labels, valid):
  """``pos[i, j]``: same label, ``i != j``, both valid; ``neg``: different labels."""
  n = labels.shape[0]
  same = labels[:, None] == labels[None, :]
  both = valid[:, None] & valid[None, :]
  pos = same & both & ~jnp.eye(n, dtype=bool)
  neg = ~same & both
  return pos, neg


def _sq_distances(x, y=None):
  """Squared Euclidean distances from the Gram matrix, clamped at 0.

  ``||x||^2 + ||y||^2 - 2 x.y`` is one matrix product (no ``[N, N, D]``
  difference tensor); round-off can make it slightly negative, hence the
  clamp. For ``y is None`` the diagonal is set to exactly 0.
  """
  self_dist = y is None
  y = x if y is None else y
  xx = jnp.sum(x * x, axis=-1)
  yy = jnp.sum(y * y, axis=-1)
  d2 = jnp.maximum(xx[:, None] + yy[None, :] - 2.0 * (x @ y.T), 0.0)
  if self_dist:
    d2 = jnp.where(jnp.eye(x.shape[0], dtype=bool), 0.0, d2)
  return d2


def _distances(x, squared=False):
  d2 = _sq_distances(x)
  # safe_sqrt: gradient 0 (not inf/NaN) where the distance is exactly 0.
  return d2 if squared else nx.safe_sqrt(d2)


def pairwise_distances(embeddings, other=None, *, squared=False):
  r"""Euclidean distance matrix with finite gradients at zero distance.

  .. math::
    D_{ij} = \sqrt{\max(\|x_i\|^2 + \|y_j\|^2 - 2 x_i\cdot y_j,\ 0)}

  Args:
    embeddings: ``[N, D]``.
    other: optional ``[M, D]`` (default: ``embeddings``; the diagonal is then
      exactly 0).
    squared: return squared distances (default False).

  Returns:
    ``[N, M]`` distances.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.pairwise_distances(jnp.array([[0., 0.], [3., 4.]])))
    [[0. 5.]
     [5. 0.]]
  """
  x = nx.to_float(embeddings)
  d2 = _sq_distances(x, None if other is None else nx.to_float(other).astype(x.dtype))
  return d2 if squared else nx.safe_sqrt(d2)


def _reduce_anchors(values, ok, reduction, weights):
  """Per-anchor values -> reduction over the anchors where ``ok``."""
  values = jnp.where(ok, values, 0.0)
  return reduce_loss(values, reduction, where=ok, weights=weights)


def _cosine(x, y=None):
  """Cosine-similarity matrix (torch ``F.normalize`` clamp, finite at zero vectors)."""
  xn = nx.l2_normalize(x)
  yn = xn if y is None else nx.l2_normalize(y)
  return xn @ yn.T


def _ndim(x):
  return len(jnp.shape(x))
