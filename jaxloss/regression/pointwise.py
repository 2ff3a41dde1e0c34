"""Regression losses: pointwise errors between predictions and targets.

Conventions of this module:

* ``predictions`` and ``targets`` are floating arrays of the same shape (no
  silent broadcasting); the unreduced loss (``reduction="none"``) has that
  shape.
* ``where`` (boolean, broadcastable to the unreduced loss) excludes entries;
  ``weights`` scales them; ``"mean"`` is the sum over the number of unmasked
  entries (torch's and Keras' rule for per-element weights).
* bfloat16/float16 inputs are computed in float32 and return float32.

The survey (Elharrouss et al. 2025, "Loss Functions for Tabular Data
Prediction" and "Regression") presents MSE, MAE and Huber as the basic
regression losses; the rest are their robust and scale-aware relatives.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_same_shape,
  loss_function,
  paired_inputs,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register

__all__ = ['charbonnier_loss', 'euclidean_loss', 'huber_loss', 'l1_loss', 'l2_loss', 'log_cosh_loss', 'mae', 'mse', 'msle', 'quantile_loss', 'smooth_l1_loss']


def _residual(predictions, targets, where):
  """Validates a (predictions, targets) pair and returns ``predictions - targets``.

  Masked entries are zeroed in the inputs, so a NaN/inf there cannot reach
  the value or the gradient.
  """
  p, t = paired_inputs(predictions, targets, where)
  return p - t


@register(tasks=("regression", "tabular regression", "image reconstruction"),
          peer="torch.nn.functional.mse_loss; optax.losses.squared_error",
          references=("Gauss/Legendre least squares", SURVEY),
          aliases=("euclidean_loss", "l2_loss"), input_kind="values")
@loss_function
def mse(predictions, targets, *, weights=None, where=None, reduction="mean"):
  r"""Mean squared error.

  .. math::
    \ell_i = (p_i - t_i)^2

  Also exported as ``euclidean_loss`` and ``l2_loss``. Note that
  ``optax.losses.l2_loss`` is *half* the squared error; ``jaxloss.l2_loss`` is
  the full squared error, as torch's ``mse_loss``.

  Args:
    predictions: floating array of any shape.
    targets: array of the same shape.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs; False entries
      are excluded.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape.
    LossTypeError: ``predictions`` is not floating.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.mse(jnp.array([1., 2., 3.]), jnp.array([1., 0., 0.])))
    4.333334
  """
  d = _residual(predictions, targets, where)
  return reduce_loss(d * d, reduction, where=where, weights=weights)


euclidean_loss = mse


l2_loss = mse


@register(tasks=("regression", "tabular regression", "image reconstruction"),
          peer="torch.nn.functional.l1_loss",
          references=("Laplace, least absolute deviations", SURVEY),
          aliases=("l1_loss",), input_kind="values")
@loss_function
def mae(predictions, targets, *, weights=None, where=None, reduction="mean"):
  r"""Mean absolute error (L1 loss).

  .. math::
    \ell_i = |p_i - t_i|

  The gradient at a zero residual is 0 (JAX's ``sign``); also exported as
  ``l1_loss``.

  Args:
    predictions: floating array of any shape.
    targets: array of the same shape.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions`` shape.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.mae(jnp.array([1., 2., 3.]), jnp.array([1., 0., 0.])))
    1.666667
  """
  d = _residual(predictions, targets, where)
  return reduce_loss(jnp.abs(d), reduction, where=where, weights=weights)


l1_loss = mae


@register(tasks=("regression", "tabular regression", "object detection"),
          peer="torch.nn.functional.huber_loss; optax.losses.huber_loss",
          references=("Huber, Robust Estimation of a Location Parameter, 1964", SURVEY),
          input_kind="values")
@loss_function(ranges={"delta": "> 0"})
def huber_loss(predictions, targets, *, delta=1.0, weights=None, where=None,
               reduction="mean"):
  r"""Huber loss: quadratic near zero, linear beyond ``delta``.

  .. math::
    \ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| \le \delta \\
             \delta (|d_i| - \tfrac12 \delta) & \text{otherwise} \end{cases},
    \quad d_i = p_i - t_i

  Equals ``delta * smooth_l1_loss(beta=delta)``.

  Args:
    predictions: floating array of any shape.
    targets: array of the same shape.
    delta: threshold between the quadratic and the linear part, > 0
      (default 1.0); may be a traced scalar.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch, or a concrete ``delta <= 0``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.huber_loss(jnp.array([0.5, 3.]), jnp.zeros(2), reduction="none"))
    [0.125 2.5  ]
  """
  d = jnp.abs(_residual(predictions, targets, where))
  delta = jnp.asarray(delta, d.dtype)
  quad = jnp.minimum(d, delta)
  # 0.5 q^2 + delta (d - q) is the Huber loss with no branch (optax's form).
  values = 0.5 * quad * quad + delta * (d - quad)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("object detection", "regression"),
          peer="torch.nn.functional.smooth_l1_loss",
          references=("Girshick, Fast R-CNN, ICCV 2015", SURVEY),
          input_kind="values")
@loss_function(ranges={"beta": ">= 0"})
def smooth_l1_loss(predictions, targets, *, beta=1.0, weights=None, where=None,
                   reduction="mean"):
  r"""Smooth L1 loss (Fast R-CNN): quadratic below ``beta``, L1 above.

  .. math::
    \ell_i = \begin{cases} \tfrac{1}{2\beta} d_i^2 & |d_i| < \beta \\
             |d_i| - \tfrac12 \beta & \text{otherwise} \end{cases}

  ``beta = 0`` is exactly the L1 loss (torch special-cases it the same way).

  Args:
    predictions: floating array of any shape.
    targets: array of the same shape.
    beta: threshold, >= 0 (default 1.0); may be traced.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch, or a concrete ``beta < 0``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.smooth_l1_loss(jnp.array([0.5, 3.]), jnp.zeros(2), reduction="none"))
    [0.125 2.5  ]
  """
  d = jnp.abs(_residual(predictions, targets, where))
  beta = jnp.asarray(beta, d.dtype)
  small = d < beta
  # Double where: beta may be 0, and then the quadratic branch is never taken.
  safe_beta = jnp.where(beta > 0, beta, 1.0)
  values = jnp.where(small, 0.5 * d * d / safe_beta, d - 0.5 * beta)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("regression", "tabular regression"),
          peer="optax.losses.log_cosh; keras.losses.log_cosh",
          references=("Chen et al., Log Hyperbolic Cosine Loss, 2019",),
          input_kind="values")
@loss_function
def log_cosh_loss(predictions, targets, *, weights=None, where=None,
                  reduction="mean"):
  r"""Log-cosh loss, computed without overflow.

  .. math::
    \ell_i = \log\cosh(d_i) = \log\big(1 + 2\sinh^2(d_i/2)\big)
           = |d_i| + \operatorname{softplus}(-2|d_i|) - \log 2

  The first form is used for ``|d| < 10`` (no cancellation: tiny residuals
  give tiny, non-negative losses), the second beyond (finite for residuals in
  the thousands, where ``log(cosh(x))`` overflows in float32 past |x| ≈ 89);
  the gradient is ``tanh(d)``.

  Args:
    predictions: floating array of any shape.
    targets: array of the same shape.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.log_cosh_loss(jnp.array([0., 1e4]), jnp.zeros(2), reduction="none"))
    [   0.      9999.307]
  """
  d = jnp.abs(_residual(predictions, targets, where))
  # Small |d|: log1p(2 sinh^2(d/2)) has no cancellation (the asymptotic form
  # below loses everything to rounding and can even go negative). Large |d|:
  # the asymptotic form cannot overflow. Each branch sees sanitised inputs.
  small = d < 10.0
  s = jnp.sinh(0.5 * jnp.where(small, d, 0.0))
  d_big = jnp.where(small, 10.0, d)
  values = jnp.where(small, jnp.log1p(2.0 * s * s),
                     d_big + jax.nn.softplus(-2.0 * d_big) - jnp.log(2.0).astype(d.dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("quantile regression", "time-series forecasting",
                 "probabilistic forecasting"),
          input_kind="values",
          peer="pytorch_forecasting.metrics.QuantileLoss (without its factor 2)",
          references=("Koenker & Bassett, Regression Quantiles, Econometrica 1978",
                      "Salinas et al., DeepAR, 2020",
                      "Wen et al., A Multi-Horizon Quantile Recurrent Forecaster (MQ-RNN), "
                      "NeurIPS Time Series Workshop 2017"))
@loss_function(ranges={"crossing_penalty": ">= 0"})
def quantile_loss(predictions, targets, *, quantiles=0.5, crossing_penalty=0.0,
                  weights=None, where=None, reduction="mean"):
  r"""Pinball (quantile) loss, for one quantile or a vector of quantiles.

  .. math::
    \ell_{i,q} = \max\big(\tau_q (t_i - p_{i,q}),\ (\tau_q - 1)(t_i - p_{i,q})\big)
      + \lambda \sum_{q} \max(0, p_{i,q} - p_{i,q+1})\,[\text{per quantile}]

  With a vector of ``Q`` quantile levels, ``predictions`` carries a trailing
  quantile axis of length ``Q`` and ``targets`` lacks it. The optional
  crossing penalty ``lambda`` adds ``max(0, p_q - p_{q+1})`` for every adjacent
  pair of levels sorted ascending (penalising predicted quantiles that cross),
  attributed to the lower level of the pair. ``tau = 0.5`` gives half the
  absolute error; pytorch-forecasting's ``QuantileLoss`` and GluonTS multiply
  by 2.

  Args:
    predictions: floating ``[...]`` for a scalar quantile, ``[..., Q]`` for a
      vector of ``Q`` quantiles.
    targets: ``[...]``, the same shape without the quantile axis.
    quantiles: a level in (0, 1) or a ``[Q]`` array of levels in (0, 1),
      ascending (default 0.5); may be traced.
    crossing_penalty: weight ``lambda >= 0`` of the quantile-crossing penalty
      (default 0, off); only used with a vector of quantiles.
    weights: optional weights, broadcastable to the unreduced loss.
    where: optional boolean mask, broadcastable to the unreduced loss.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none" (one value per
    entry and quantile).

  Raises:
    LossInputError: shapes inconsistent with ``quantiles``; concrete
      ``crossing_penalty < 0``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[0., 1., 2.]])
    >>> print(jaxloss.quantile_loss(p, jnp.array([1.]), quantiles=jnp.array([.1, .5, .9]),
    ...                             reduction="none"))
    [[0.1 0.  0.1]]
  """
  check_floating("predictions", predictions)
  quantiles = jnp.asarray(quantiles)
  dtype = nx.compute_dtype(predictions, targets)
  if quantiles.ndim == 0:
    check_same_shape("predictions", predictions, "targets", targets)
    t = targets
  elif quantiles.ndim == 1:
    q = quantiles.shape[0]
    if predictions.ndim < 1 or predictions.shape[-1] != q:
      raise LossInputError(
          f"predictions has shape {predictions.shape}; with {q} quantiles "
          f"expected a trailing quantile axis of length {q}")
    if tuple(jnp.shape(targets)) != predictions.shape[:-1]:
      raise LossInputError(
          f"targets has shape {jnp.shape(targets)} but predictions has shape "
          f"{predictions.shape}; expected targets of shape {predictions.shape[:-1]}")
    t = jnp.asarray(targets)[..., None]
  else:
    raise LossInputError(
        f"quantiles must be a scalar or a 1-D array, got shape {quantiles.shape}")
  p = nx.mask_fill(predictions.astype(dtype), where)
  t = nx.mask_fill(jnp.broadcast_to(t, p.shape).astype(dtype), where)
  tau = quantiles.astype(dtype)
  e = t - p
  values = jnp.maximum(tau * e, (tau - 1.0) * e)
  if quantiles.ndim == 1 and quantiles.shape[0] > 1:
    order = jnp.argsort(tau)
    ps = jnp.take(p, order, axis=-1)
    cross = jnp.maximum(ps[..., :-1] - ps[..., 1:], 0.0)
    cross = jnp.concatenate([cross, jnp.zeros_like(cross[..., :1])], axis=-1)
    # Scatter the penalty back to each lower level's original position.
    inv = jnp.argsort(order)
    values = values + jnp.asarray(crossing_penalty, dtype) * jnp.take(cross, inv, axis=-1)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("image restoration", "super-resolution", "optical flow"),
          peer="LapSRN Charbonnier (sqrt(d^2 + eps^2)); kornia.losses.charbonnier_loss is eps=1 minus 1",
          references=("Charbonnier et al., Two deterministic half-quadratic regularization algorithms, ICIP 1994",
                      "Lai et al., Deep Laplacian Pyramid Networks (LapSRN), CVPR 2017"),
          input_kind="values")
@loss_function(ranges={"eps": "> 0"})
def charbonnier_loss(predictions, targets, *, eps=1e-3, weights=None, where=None,
                     reduction="mean"):
  r"""Charbonnier loss, a smooth L1 (pseudo-Huber with scale ``eps``).

  .. math::
    \ell_i = \sqrt{d_i^2 + \varepsilon^2}

  As in LapSRN (``eps = 1e-3``). kornia's ``charbonnier_loss`` is
  ``sqrt(d^2 + 1) - 1``, i.e. this loss with ``eps=1`` minus 1 (Barron's
  general loss at alpha = 1, see ``jaxloss.general_robust_loss``).

  Args:
    predictions: floating array of any shape.
    targets: array of the same shape.
    eps: smoothing scale > 0 (default 1e-3); may be traced.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch, or a concrete ``eps <= 0``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.charbonnier_loss(jnp.array([0., 3.]), jnp.zeros(2), reduction="none"))
    [0.001      3.000000]
  """
  d = _residual(predictions, targets, where)
  eps = jnp.asarray(eps, d.dtype)
  values = jnp.sqrt(d * d + eps * eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("regression", "count and price regression"),
          input_kind="values", peer="keras.losses.mean_squared_logarithmic_error",
          references=("Keras MeanSquaredLogarithmicError",))
@loss_function
def msle(predictions, targets, *, weights=None, where=None, reduction="mean"):
  r"""Mean squared logarithmic error.

  .. math::
    \ell_i = \big(\log(1 + \max(p_i, \epsilon)) - \log(1 + \max(t_i, \epsilon))\big)^2,
    \quad \epsilon = 10^{-7}

  Inputs are clamped at ``eps = 1e-7`` as in Keras, so negative predictions
  give a finite loss (and zero gradient below the clamp).

  Args:
    predictions: floating array of any shape, expected >= 0.
    targets: array of the same shape, expected >= 0.
    weights: optional per-entry weights, broadcastable to the inputs.
    where: optional boolean mask, broadcastable to the inputs.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch.

  Notes:
    Keras averages over the last axis first; the overall mean is the same.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.msle(jnp.array([0., 3.]), jnp.array([0., 1.]), reduction="none"))
    [0.        0.480453]
  """
  check_floating("predictions", predictions)
  check_same_shape("predictions", predictions, "targets", targets)
  dtype = nx.compute_dtype(predictions, targets)
  p = nx.mask_fill(predictions.astype(dtype), where)
  t = nx.mask_fill(jnp.asarray(targets).astype(dtype), where)
  d = jnp.log1p(jnp.maximum(p, 1e-7)) - jnp.log1p(jnp.maximum(t, 1e-7))
  return reduce_loss(d * d, reduction, where=where, weights=weights)

