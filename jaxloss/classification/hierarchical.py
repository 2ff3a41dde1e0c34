"""Hierarchical classification: cross-entropy over a class tree.

The survey's "hierarchical losses" direction (Elharrouss et al. 2025).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_integer,
  debug_check_labels,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register

__all__ = ['hierarchical_cross_entropy']


@register(tasks=("image classification", "hierarchical classification", "fine-grained recognition"),
          input_kind="logits", peer="",
          references=("Bertinetto et al., Making Better Mistakes: Leveraging Class Hierarchies "
                      "with Deep Networks, CVPR 2020 (hierarchical cross-entropy)",
                      "Redmon & Farhadi, YOLO9000: Better, Faster, Stronger, CVPR 2017 "
                      "(WordTree conditional softmax)"))
@loss_function(static=("parents", "level_weights", "ignore_index"))
def hierarchical_cross_entropy(logits, labels, *, parents, level_weights=None,
                               ignore_index=None, where=None, weights=None, reduction="mean"):
  r"""Cross-entropy over a class tree: the leaf CE plus parent-level terms.

  .. math::
    L = \sum_{l=0}^{H} w_l \big(-\log p^{(l)}_{a_l(y)}\big), \qquad
    \log p^{(l+1)}_g = \operatorname{logsumexp}_{c:\,\pi_l(c) = g} \log p^{(l)}_c

  Level 0 is the ordinary softmax cross-entropy on the leaf classes; each
  parent level sums the probabilities of a node's children (in log space) and
  scores the label's ancestor, so a mistake inside the right super-class costs
  less than one across super-classes (consistency with the hierarchy).

  Args:
    logits: ``[..., C]`` leaf-class logits.
    labels: ``[...]`` integer leaf labels.
    parents: static tuple: the parent index of each leaf class (length ``C``,
      values in ``[0, G)``), or a tuple of such tuples, one per level going up
      (level ``l+1``'s tuple maps level ``l``'s groups to their parents).
    level_weights: static tuple of ``H + 1`` weights (default all 1).
    ignore_index: optional integer label value (static, default None) whose
      entries are excluded from the loss, the gradient and the "mean"
      denominator (torch's ``ignore_index`` semantics).
    where: optional boolean mask over ``[...]``.
    weights: optional per-example weights over ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``labels.shape`` for "none" (the weighted sum
    over levels). The per-level parts are ``hierarchical_cross_entropy`` with
    a one-hot ``level_weights``.

  Raises:
    LossInputError: label shape, parent arrays inconsistent with ``C``,
      wrong number of level weights.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))
    >>> print(jaxloss.hierarchical_cross_entropy(logits, jnp.array([1]), parents=(0, 0, 1)))
    1.427116
  """
  check_floating("logits", logits)
  check_integer("labels", labels)
  if tuple(labels.shape) != tuple(logits.shape[:-1]):
    raise LossInputError(
        f"labels has shape {labels.shape} but logits has shape {logits.shape}; expected "
        f"integer labels of shape {logits.shape[:-1]}")
  levels = parents if parents and isinstance(parents[0], (tuple, list)) else (parents,)
  n = logits.shape[-1]
  maps = []
  for depth, p in enumerate(levels):
    p = tuple(int(v) for v in p)
    if len(p) != n or min(p) < 0:
      raise LossInputError(
          f"parents level {depth} has {len(p)} entries (min {min(p)}); expected {n} "
          f"non-negative group indices")
    maps.append(np.asarray(p))
    n = max(p) + 1
  if level_weights is None:
    level_weights = (1.0,) * (len(levels) + 1)
  if len(level_weights) != len(levels) + 1:
    raise LossInputError(
        f"level_weights has {len(level_weights)} entries; expected {len(levels) + 1} "
        f"(leaves plus one per parent level)")
  nx.check_ignore_index(ignore_index)
  debug_check_labels(labels, logits.shape[-1], ignore_index)
  dtype = nx.compute_dtype(logits)
  where, node = nx.class_ids(labels, ignore_index, where)
  x = nx.mask_fill(logits.astype(dtype), where, trailing=1)
  logp = jax.nn.log_softmax(x, axis=-1)
  values = level_weights[0] * -nx.take_along_last(logp, node)
  for m, w in zip(maps, level_weights[1:], strict=True):
    groups = m.max() + 1
    member = np.where(np.arange(groups)[None, :] == m[:, None], 0.0, -np.inf)  # [C_l, G]
    logp = nx.logsumexp(logp[..., :, None] + jnp.asarray(member, dtype), axis=-2)
    node = jnp.asarray(m)[jnp.clip(node, 0, m.shape[0] - 1)]
    values = values + w * -nx.take_along_last(logp, node)
  return reduce_loss(values, reduction, where=where, weights=weights)

