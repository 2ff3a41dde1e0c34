"""Bootstrap (predictor vs. target network) losses: BYOL's normalised regression loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import check_floating, check_min_rank, loss_function, paired_inputs, reduce_loss
from jaxloss.catalog import register

__all__ = ["byol_loss"]


@register(tasks=("self-supervised learning", "representation learning"),
          peer="deepmind-research byol/utils/helpers.py regression_loss",
          references=("Grill et al., Bootstrap Your Own Latent: A New Approach to "
                      "Self-Supervised Learning (BYOL), NeurIPS 2020",
                      "Chen, He, Exploring Simple Siamese Representation Learning (SimSiam), "
                      "CVPR 2021"),
          input_kind="embeddings")
@loss_function
def byol_loss(predictions, targets, *, weights=None, where=None, reduction="mean"):
  r"""BYOL: normalised squared error between online predictions and target projections.

  .. math::
    \ell_i = \Big\| \frac{p_i}{\|p_i\|} - \frac{\operatorname{sg}(z_i)}{\|z_i\|} \Big\|_2^2
           = 2 - 2\,\frac{p_i \cdot z_i}{\|p_i\|\,\|z_i\|}

  over the last axis, with :math:`\operatorname{sg}` the stop-gradient.

  Args:
    predictions: floating ``[..., D]`` online-network predictions
      :math:`q_\theta(z_\theta)`.
    targets: ``[..., D]`` target-network projections :math:`z'_\xi`. The
      loss stops their gradient.
    weights: optional per-example weights broadcastable to ``[...]``.
    where: optional boolean ``[...]``; False examples are excluded.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The mean (or sum) over examples; per-example values ``[...]`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions``.

  Notes:
    Matches DeepMind's BYOL ``regression_loss`` (the squared distance of the
    L2-normalised vectors, i.e. ``2 - 2 cos``). The paper's symmetrised loss
    is ``byol_loss(p1, z2) + byol_loss(p2, z1)`` (two calls, views swapped).
    Stop-gradient: *this loss* applies ``jax.lax.stop_gradient`` to
    ``targets``, as the paper's :math:`\operatorname{sg}(z'_\xi)` and
    SimSiam's ``D(p, z.detach())``; in the official JAX code the targets come
    from separate (EMA) parameters that are not differentiated, which gives
    the same gradients for the online network. Normalisation divides by
    ``max(||x||, 1e-12)`` (``torch.nn.functional.normalize``; the official code
    floors ``||x||^2`` at 1e-12): only a vector of norm below 1e-6 sees the
    difference. A zero vector normalises to 0, so the loss there is 1, not 2.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[1., 0.], [1., 1.]])
    >>> z = jnp.array([[0., 2.], [2., 2.]])
    >>> print(jaxloss.byol_loss(p, z, reduction="none"))
    [2. 0.]
  """
  check_floating("predictions", predictions)
  check_min_rank("predictions", predictions, 1, "[..., D]")
  p, z = paired_inputs(predictions, targets, where, names=("predictions", "targets"),
                       trailing=1)
  z = jax.lax.stop_gradient(z)
  values = jnp.sum((nx.l2_normalize(p) - nx.l2_normalize(z)) ** 2, axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)
