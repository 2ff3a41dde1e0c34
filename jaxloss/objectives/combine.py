"""Combining losses: weighted sums, task weighting and deep supervision.

The survey's "interpretable" and "multi-task" directions (Elharrouss et al.
2025) as pure functions that return ``(total, components)``, so
``jax.value_and_grad(..., has_aux=True)`` logs every part of an objective.

* :func:`combine` -- a weighted sum of named losses (weights static, traced or
  learned).
* :func:`uncertainty_weighting` (Kendall et al. 2018),
  :func:`dynamic_weight_average` (Liu et al. 2019), :func:`gradnorm` (Chen et
  al. 2018) -- task weighting.
* :func:`deep_supervision_loss` -- one loss at several resolutions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
)

__all__ = ['combine', 'deep_supervision_loss', 'dynamic_weight_average', 'gradnorm', 'uncertainty_weighting']


def _as_float32(x):
  return jnp.asarray(x, nx.compute_dtype(x))


def combine(losses: Mapping[str, Callable | tuple[Callable, float]]) -> Callable:
  r"""A weighted sum of named losses that returns ``(total, components)``.

  .. math::
    L = \sum_k w_k\, L_k(\text{predictions}, \text{targets})

  Args:
    losses: ``{name: loss_fn}`` or ``{name: (loss_fn, weight)}``; each
      ``loss_fn(predictions, targets, **kwargs)`` returns a scalar (or a
      ``(value, parts)`` tuple, whose value is used). Default weight 1.

  Returns:
    ``f(predictions, targets, *, weights=None, **kwargs) -> (total, components)``.
    ``weights`` (a dict of name -> scalar, possibly traced or learned)
    overrides the static weights at call time; ``kwargs`` go to every loss.
    ``components`` holds each loss's *unweighted* value under its name.

  Raises:
    ValueError: empty ``losses``; ``weights`` naming an unknown loss.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> f = jaxloss.combine({"l1": jaxloss.mae, "l2": (jaxloss.mse, 0.5)})
    >>> total, parts = f(jnp.array([1., 3.]), jnp.zeros(2))
    >>> print(total, parts["l1"], parts["l2"])
    4.5 2.0 5.0
  """
  if not losses:
    raise ValueError("combine: losses is empty")
  table = {}
  for name, spec in losses.items():
    fn, w = (spec if isinstance(spec, tuple) else (spec, 1.0))
    if not callable(fn):
      raise ValueError(f"combine: losses[{name!r}] is not callable")
    table[name] = (fn, w)

  def combined(predictions, targets, *, weights=None, **kwargs):
    weights = dict(weights or {})
    unknown = set(weights) - set(table)
    if unknown:
      raise ValueError(f"combine: weights names unknown losses {sorted(unknown)}; "
                       f"known: {sorted(table)}")
    parts, total = {}, 0.0
    for name, (fn, w) in table.items():
      out = fn(predictions, targets, **kwargs)
      value = out[0] if isinstance(out, tuple) else out
      parts[name] = value
      total = total + weights.get(name, w) * value
    return total, parts

  return combined


def uncertainty_weighting(task_losses, log_vars):
  r"""Homoscedastic-uncertainty task weighting (Kendall, Gal & Cipolla 2018).

  .. math::
    L = \sum_i \tfrac12 e^{-s_i} L_i + \tfrac12 s_i, \qquad s_i = \log \sigma_i^2

  Learn ``log_vars`` (one per task) together with the model: a noisy task
  gets a large :math:`\sigma_i^2` and a small weight; the :math:`\tfrac12 s_i`
  term keeps the variances from growing without bound. Kendall et al.'s Eq. 7
  (regression likelihood) with the log-variance parametrisation they use for
  stability.

  Args:
    task_losses: ``[T]`` array (or sequence of scalars) of per-task losses.
    log_vars: ``[T]`` learnable log-variances :math:`s_i`.

  Returns:
    ``(total, {"weights": [T] effective weights ½e^{-s}, "per_task": [T]
    weighted terms})``.

  Raises:
    LossInputError: shapes differ or are not 1-D.

  References:
    Kendall, Gal & Cipolla, Multi-Task Learning Using Uncertainty to Weigh
    Losses for Scene Geometry and Semantics, CVPR 2018.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> total, parts = jaxloss.uncertainty_weighting(jnp.array([1., 4.]), jnp.zeros(2))
    >>> print(total)
    2.5
  """
  losses = _as_float32(jnp.stack(task_losses) if isinstance(task_losses, (list, tuple))
                       else task_losses)
  s = _as_float32(log_vars)
  if losses.ndim != 1 or losses.shape != s.shape:
    raise LossInputError(
        f"uncertainty_weighting: task_losses has shape {losses.shape} and log_vars has "
        f"shape {s.shape}; expected two 1-D arrays of the same length")
  w = 0.5 * jnp.exp(-s)
  per_task = w * losses + 0.5 * s
  return jnp.sum(per_task), {"weights": w, "per_task": per_task}


def dynamic_weight_average(loss_history, *, temperature=2.0):
  r"""Dynamic Weight Average task weights (Liu, Johns & Davison 2019).

  .. math::
    w_k(t) = \frac{K \exp(r_k(t-1)/T)}{\sum_i \exp(r_i(t-1)/T)}, \qquad
    r_k(t-1) = \frac{L_k(t-1)}{L_k(t-2)}

  Tasks whose loss decreases slowly get more weight. For the first two
  epochs (no history) use weights 1.

  Args:
    loss_history: ``[2, K]``: the per-task (epoch-average) losses at ``t-2``
      (row 0) and ``t-1`` (row 1).
    temperature: softness ``T > 0`` (default 2.0, the paper's).

  Returns:
    ``[K]`` weights summing to ``K`` (no gradient flows into them).

  Raises:
    LossInputError: ``loss_history`` is not ``[2, K]``.

  References:
    Liu, Johns & Davison, End-to-End Multi-Task Learning with Attention,
    CVPR 2019, Eq. 7.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.dynamic_weight_average(jnp.array([[1., 1.], [1., 1.]])))
    [1. 1.]
  """
  h = _as_float32(loss_history)
  if h.ndim != 2 or h.shape[0] != 2:
    raise LossInputError(
        f"dynamic_weight_average: loss_history has shape {h.shape}; expected [2, num_tasks]")
  h = jax.lax.stop_gradient(h)
  r = nx.safe_div(h[1], h[0], fallback=1.0)
  k = h.shape[1]
  return k * jax.nn.softmax(r / temperature)


def gradnorm(task_losses, initial_losses, task_grads, task_weights, *, alpha=1.5):
  r"""GradNorm's gradient-balancing loss for the task weights (Chen et al. 2018).

  .. math::
    L_{grad} = \sum_i \big| G_i - \bar G\, r_i^{\alpha} \big|_1, \quad
    G_i = w_i \|\nabla_W L_i\|_2, \quad
    r_i = \frac{\tilde L_i}{\operatorname{mean}_j \tilde L_j}, \quad
    \tilde L_i = \frac{L_i}{L_i(0)}

  The target :math:`\bar G r_i^\alpha` is a constant (no gradient), as in the
  paper; differentiate ``L_grad`` w.r.t. ``task_weights`` only, then
  renormalise the weights to sum to the number of tasks.

  Args:
    task_losses: ``[T]`` current task losses :math:`L_i`.
    initial_losses: ``[T]`` the losses at step 0, :math:`L_i(0)`.
    task_grads: ``[T, P]`` (or a pytree whose leaves have a leading ``T``
      axis): the gradients of the *unweighted* task losses w.r.t. the shared
      layer ``W``.
    task_weights: ``[T]`` learnable weights :math:`w_i`.
    alpha: restoring-force strength (default 1.5, the paper's).

  Returns:
    ``(L_grad, {"grad_norms": [T] G_i, "targets": [T], "inverse_rates": [T] r_i})``.

  Raises:
    LossInputError: inconsistent numbers of tasks.

  References:
    Chen et al., GradNorm: Gradient Normalization for Adaptive Loss Balancing
    in Deep Multitask Networks, ICML 2018, Eq. 1–2.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> g = jnp.array([[3., 4.], [0., 1.]])
    >>> lg, parts = jaxloss.gradnorm(jnp.ones(2), jnp.ones(2), g, jnp.ones(2))
    >>> print(parts["grad_norms"], lg)
    [5. 1.] 4.0
  """
  losses = _as_float32(task_losses)
  init = _as_float32(initial_losses)
  w = _as_float32(task_weights)
  leaves = jax.tree.leaves(task_grads)
  t = losses.shape[0] if losses.ndim == 1 else -1
  if (losses.ndim != 1 or init.shape != losses.shape or w.shape != losses.shape
      or any(jnp.shape(g)[:1] != (t,) for g in leaves)):
    raise LossInputError(
        f"gradnorm: task_losses {losses.shape}, initial_losses {init.shape}, task_weights "
        f"{w.shape} and the leading axis of task_grads must all be the number of tasks")
  sq = sum(jnp.sum(jnp.reshape(g, (t, -1)).astype(jnp.float32) ** 2, axis=1) for g in leaves)
  norms = w * nx.safe_sqrt(sq)
  ratio = nx.safe_div(losses, init, fallback=1.0)
  inv_rate = nx.safe_div(ratio, jnp.mean(ratio), fallback=1.0)
  target = jax.lax.stop_gradient(jnp.mean(norms) * inv_rate ** alpha)
  return jnp.sum(jnp.abs(norms - target)), {"grad_norms": norms, "targets": target,
                                            "inverse_rates": inv_rate}


def _downsample_targets(targets, shape, kind):
  """Resizes ``targets`` [B, *S, (C)] to spatial ``shape`` (nearest or area)."""
  if kind == "labels":
    src = targets.shape[1:]
    idx = [np.floor((np.arange(n) + 0.5) * s / n).astype(np.int32) for n, s in zip(shape, src,
                                                                                    strict=True)]
    out = targets
    for ax, ix in enumerate(idx):
      out = jnp.take(out, ix, axis=1 + ax)
    return out
  src = targets.shape[1:-1]
  factors = []
  for n, s in zip(shape, src, strict=True):
    if s % n:
      raise LossInputError(
          f"deep_supervision_loss: dense targets of spatial shape {src} cannot be "
          f"area-pooled to {shape}; sizes must divide")
    factors.append(s // n)
  window = (1, *factors, 1)
  summed = jax.lax.reduce_window(targets, 0.0, jax.lax.add, window, window, "VALID")
  return summed / float(np.prod(factors))


def deep_supervision_loss(loss_fn: Callable, predictions: Sequence, targets, *, weights=None,
                          weight_mode="exp", **kwargs):
  r"""One loss applied to predictions at several resolutions, with level weights.

  .. math::
    L = \sum_l w_l\, \ell\big(\hat y^{(l)}, \operatorname{down}_l(y)\big)

  The hierarchical loss of deeply supervised networks (U-Net++, nnU-Net):
  ``predictions[0]`` is the full-resolution output, later entries coarser
  (pixels -> regions -> objects). Integer label maps are downsampled by
  nearest neighbour, dense (one-hot/soft/regression) targets by area pooling
  (sizes must divide), so each level is compared with targets at its own
  resolution. Weights follow MONAI ``DeepSupervisionLoss``: ``"exp"`` gives
  ``w_l = 2^{-l}``, ``"same"`` gives 1, ``"two"`` gives 1 for level 0 and 0.5
  for the rest; explicit ``weights`` override.

  Args:
    loss_fn: ``loss_fn(prediction, target, **kwargs) -> scalar`` (or a
      ``(value, parts)`` tuple), e.g. ``jaxloss.dice_loss``.
    predictions: sequence of ``[B, *S_l, C]`` arrays, finest first.
    targets: ``[B, *S]`` integer labels or ``[B, *S, C]`` dense targets at the
      finest resolution.
    weights: optional sequence of level weights.
    weight_mode: "exp" (default) | "same" | "two".
    **kwargs: passed to ``loss_fn``.

  Returns:
    ``(total, {"level_0": ..., "level_1": ..., "weights": [L]})`` with the
    unweighted per-level losses.

  Raises:
    LossInputError: no predictions, wrong number of weights, unknown mode.

  References:
    Lee et al., Deeply-Supervised Nets, AISTATS 2015; MONAI DeepSupervisionLoss.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> y = jnp.zeros((1, 4, 4, 1))
    >>> preds = [jnp.ones((1, 4, 4, 1)), jnp.ones((1, 2, 2, 1))]
    >>> total, parts = jaxloss.deep_supervision_loss(jaxloss.mse, preds, y)
    >>> print(total, parts["weights"])
    1.5 [1.  0.5]
  """
  if not predictions:
    raise LossInputError("deep_supervision_loss: predictions is empty")
  n = len(predictions)
  if weights is None:
    if weight_mode == "exp":
      weights = [2.0 ** -i for i in range(n)]
    elif weight_mode == "same":
      weights = [1.0] * n
    elif weight_mode == "two":
      weights = [1.0] + [0.5] * (n - 1)
    else:
      raise LossInputError(
          f"deep_supervision_loss: weight_mode must be one of ('exp', 'same', 'two'), "
          f"got {weight_mode!r}")
  if len(weights) != n:
    raise LossInputError(
        f"deep_supervision_loss: got {len(weights)} weights for {n} predictions")
  targets = jnp.asarray(targets)
  kind = "labels" if jnp.issubdtype(targets.dtype, jnp.integer) else "dense"
  parts, total = {}, 0.0
  for level, (pred, w) in enumerate(zip(predictions, weights, strict=True)):
    spatial = tuple(pred.shape[1:-1])
    full = tuple(targets.shape[1:] if kind == "labels" else targets.shape[1:-1])
    tgt = targets if spatial == full else _downsample_targets(targets, spatial, kind)
    out = loss_fn(pred, tgt, **kwargs)
    value = out[0] if isinstance(out, tuple) else out
    parts[f"level_{level}"] = value
    total = total + w * value
  parts["weights"] = jnp.asarray(weights, jnp.float32)
  return total, parts

