"""Forecast scores used as losses: CRPS, interval score, MAPE/sMAPE/MASE/WAPE, trend-aware.

Part of the ``probabilistic`` (time-series) family of the catalog, with
:mod:`jaxloss.probabilistic.nll` (likelihoods) and
:mod:`jaxloss.probabilistic.sequence` (CTC, soft-DTW, DILATE). Same
conventions: prediction first, targets second,
positive parameters clamped at ``eps`` in the value only, ``where`` /
``weights`` over the unreduced loss, ``"mean"`` over unmasked entries,
float32 results for bfloat16/float16 inputs.

Percentage errors follow pytorch-forecasting (fractions, ``eps = 1e-8``);
MASE uses GluonTS' in-sample seasonal-naive scale; the CRPS functions match
``properscoring``.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax.scipy.special import ndtr

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    broadcast_mask,
    check_floating,
    check_same_shape,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.probabilistic.nll import _prepare

__all__ = [
    "crps_ensemble", "crps_gaussian", "interval_score", "mape", "mase", "smape",
    "trend_aware_loss", "wape", "winkler_score",
]

# --------------------------------------------------------------------------
# Proper scores.
# --------------------------------------------------------------------------


@register(tasks=("probabilistic forecasting", "weather forecasting"),
          input_kind="values", peer="properscoring.crps_gaussian",
          references=("Gneiting et al., Calibrated probabilistic forecasting using "
                      "ensemble model output statistics, MWR 2005",
                      "Gneiting & Raftery, Strictly proper scoring rules, JASA 2007"))
@loss_function(ranges={"eps": ">= 0"})
def crps_gaussian(mean, targets, std, *, eps=1e-6, weights=None, where=None,
                  reduction="mean"):
  r"""Continuous ranked probability score of a Gaussian forecast (closed form).

  .. math::
    \mathrm{CRPS}(\mathcal N(\mu, \sigma^2), y) = \sigma\Big(z\,(2\Phi(z) - 1)
      + 2\varphi(z) - \tfrac{1}{\sqrt\pi}\Big), \quad z = \frac{y - \mu}{\sigma}

  In the units of the targets; tends to ``|y - mu|`` as ``std -> 0``.
  ``std`` is clamped at ``eps`` (value only).

  Args:
    mean: floating ``[...]``.
    targets: ``[...]``, same shape.
    std: standard deviation > 0 (not the variance), broadcastable to ``[...]``.
    eps: std clamp (default 1e-6); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``mean.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    Gneiting et al. 2005, eq. (5); equals ``properscoring.crps_gaussian(targets,
    mean, std)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.crps_gaussian(jnp.array([0.]), jnp.array([0.]), jnp.array([1.])))
    0.233695
  """
  m, t, (s,) = _prepare("mean", mean, targets, where, [("std", std, 1.0)])
  s = nx.clamp_min_straight_through(s, jnp.asarray(eps, m.dtype))
  z = (t - m) / s
  pdf = jnp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
  values = s * (z * (2.0 * ndtr(z) - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("probabilistic forecasting", "ensemble forecasting",
                 "generative forecasting"),
          input_kind="samples", peer="properscoring.crps_ensemble (fair=False)",
          references=("Gneiting & Raftery, Strictly proper scoring rules, JASA 2007",
                      "Ferro, Fair scores for ensemble forecasts, QJRMS 2014"))
@loss_function(static=("fair",))
def crps_ensemble(samples, targets, *, fair=False, weights=None, where=None,
                  reduction="mean"):
  r"""Sample-based CRPS of an ensemble, in O(m log m) by sorting.

  .. math::
    \mathrm{CRPS} = \frac1m \sum_i |x_i - y| - \frac{1}{2 m^2}\sum_{i,j}|x_i - x_j|,
    \quad \sum_{i,j}|x_i - x_j| = 2\sum_{k=1}^{m}(2k - m - 1)\,x_{(k)}

  with ``x_(k)`` the sorted samples. ``fair=True`` divides the spread term
  by ``2 m (m - 1)`` instead (Ferro 2014), an unbiased estimate of the CRPS
  of the distribution the samples are drawn from. Gradients flow to the
  samples (e.g. reparametrised draws of a generative forecaster).

  Args:
    samples: floating ``[..., m]``, the ensemble on the last axis.
    targets: ``[...]``.
    fair: use the fair (unbiased) spread term (default False), static.
    weights: optional weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``targets.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape is not ``samples.shape[:-1]``, or
      ``fair=True`` with fewer than 2 samples.

  Notes:
    Gneiting & Raftery 2007, eq. (21); the fair spread term is Ferro 2014's.
    ``fair=False`` equals ``properscoring.crps_ensemble(targets, samples)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 1., 2.]])
    >>> print(jaxloss.crps_ensemble(x, jnp.array([1.])), jaxloss.crps_ensemble(x, jnp.array([1.]), fair=True))
    0.222222 0.0
  """
  check_floating("samples", samples)
  if samples.ndim < 1 or shape_of(targets) != samples.shape[:-1]:
    raise LossInputError(
        f"targets has shape {shape_of(targets)} but samples has shape {samples.shape}; "
        f"expected targets of shape {samples.shape[:-1]} (ensemble on the last axis)")
  m = samples.shape[-1]
  if fair and m < 2:
    raise LossInputError(f"fair=True needs at least 2 samples, got samples shape {samples.shape}")
  dtype = nx.compute_dtype(samples, targets)
  x = nx.mask_fill(samples.astype(dtype), where, trailing=1)
  y = nx.mask_fill(jnp.asarray(targets).astype(dtype), where)
  skill = jnp.mean(jnp.abs(x - y[..., None]), axis=-1)
  xs = jnp.sort(x, axis=-1)
  coef = (2.0 * jnp.arange(1, m + 1, dtype=dtype) - m - 1.0)
  spread = jnp.sum(coef * xs, axis=-1)  # = 0.5 * sum_ij |x_i - x_j|
  den = m * (m - 1) if fair else m * m
  values = skill - spread / den
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("probabilistic forecasting", "prediction intervals"),
          input_kind="values",
          peer="gluonts.evaluation.metrics.msis (without the seasonal scaling)",
          references=("Gneiting & Raftery, Strictly proper scoring rules, JASA 2007",
                      "Winkler, A decision-theoretic approach to interval estimation, "
                      "JASA 1972"),
          aliases=("winkler_score",))
@loss_function(ranges={"alpha": "(0, 1)"})
def interval_score(intervals, targets, *, alpha=0.1, weights=None, where=None,
                   reduction="mean"):
  r"""Interval (Winkler) score of a central ``(1 - alpha)`` prediction interval.

  .. math::
    S_\alpha(l, u; y) = (u - l) + \tfrac{2}{\alpha}(l - y)\,[y < l]
      + \tfrac{2}{\alpha}(y - u)\,[y > u]

  Also exported as ``winkler_score``. Dividing by the in-sample seasonal
  error gives GluonTS' MSIS.

  Args:
    intervals: floating ``[..., 2]``: lower and upper bounds on the last axis.
    targets: ``[...]``.
    alpha: miscoverage level in (0, 1) (default 0.1, a 90% interval); may be
      traced.
    weights: optional weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``targets.shape`` for "none".

  Raises:
    LossInputError: ``intervals`` is not ``targets.shape + (2,)``; concrete
      ``alpha`` outside (0, 1).

  Notes:
    Gneiting & Raftery 2007, eq. (43).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> iv = jnp.array([[0., 1.], [0., 1.]])
    >>> print(jaxloss.interval_score(iv, jnp.array([0.5, 2.]), reduction="none"))
    [ 1. 21.]
  """
  check_floating("intervals", intervals)
  if intervals.ndim < 1 or intervals.shape[-1] != 2 or intervals.shape[:-1] != shape_of(targets):
    raise LossInputError(
        f"intervals has shape {intervals.shape} and targets has shape {shape_of(targets)}; "
        f"expected intervals of shape {shape_of(targets) + (2,)} (lower, upper)")
  dtype = nx.compute_dtype(intervals, targets)
  iv = nx.mask_fill(intervals.astype(dtype), where, trailing=1)
  y = nx.mask_fill(jnp.asarray(targets).astype(dtype), where)
  lo, hi = iv[..., 0], iv[..., 1]
  a = jnp.asarray(alpha, dtype)
  values = (hi - lo) + (2.0 / a) * (jnp.maximum(lo - y, 0.0) + jnp.maximum(y - hi, 0.0))
  return reduce_loss(values, reduction, where=where, weights=weights)


winkler_score = interval_score


# --------------------------------------------------------------------------
# Point-forecast scores used as losses.
# --------------------------------------------------------------------------


@register(tasks=("time-series forecasting", "demand forecasting"),
          peer="pytorch_forecasting.metrics.MAPE",
          references=("Hyndman & Koehler, Another look at measures of forecast accuracy, "
                      "IJF 2006",),
          input_kind="values")
@loss_function(ranges={"eps": ">= 0"})
def mape(predictions, targets, *, eps=1e-8, weights=None, where=None, reduction="mean"):
  r"""Mean absolute percentage error, as a fraction (not x100).

  .. math::
    \ell_i = \frac{|p_i - y_i|}{|y_i| + \varepsilon}

  Zero targets give a large but finite value (``|p| / eps``). Keras'
  ``mean_absolute_percentage_error`` is 100 times this with ``max(|y|,
  1e-7)`` in the denominator.

  Args:
    predictions: floating ``[...]``.
    targets: ``[...]``, same shape.
    eps: added to ``|y|`` (default 1e-8, pytorch-forecasting's); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.mape(jnp.array([1.1, 1.5]), jnp.array([1., 2.]), reduction="none"))
    [0.100000 0.25      ]
  """
  p, t, _ = _prepare("predictions", predictions, targets, where)
  values = jnp.abs(p - t) / (jnp.abs(t) + jnp.asarray(eps, p.dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("time-series forecasting", "demand forecasting"),
          peer="pytorch_forecasting.metrics.SMAPE",
          references=("Makridakis, Accuracy measures: theoretical and practical concerns, "
                      "IJF 1993", "M4 competition (sMAPE)"),
          input_kind="values")
@loss_function(ranges={"eps": ">= 0"})
def smape(predictions, targets, *, eps=1e-8, weights=None, where=None, reduction="mean"):
  r"""Symmetric mean absolute percentage error, in [0, 2].

  .. math::
    \ell_i = \frac{2\,|p_i - y_i|}{|p_i| + |y_i| + \varepsilon}

  Args:
    predictions: floating ``[...]``.
    targets: ``[...]``, same shape.
    eps: added to the denominator (default 1e-8, pytorch-forecasting's);
      ``p = y = 0`` gives 0 with a finite gradient; may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    GluonTS' ``smape`` metric has no ``eps`` (M4 convention, x100 in the
    competition tables).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.smape(jnp.array([1., 0.]), jnp.array([3., 0.]), reduction="none"))
    [1. 0.]
  """
  p, t, _ = _prepare("predictions", predictions, targets, where)
  values = 2.0 * jnp.abs(p - t) / (jnp.abs(p) + jnp.abs(t) + jnp.asarray(eps, p.dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("time-series forecasting",),
          input_kind="values", peer="gluonts.evaluation.metrics.mase (seasonal_error)",
          references=("Hyndman & Koehler, Another look at measures of forecast accuracy, "
                      "IJF 2006",))
@loss_function(static=("season_length",), ranges={"eps": ">= 0"})
def mase(predictions, targets, insample, *, season_length=1, eps=1e-8, weights=None,
         where=None, reduction="mean"):
  r"""Mean absolute scaled error, scaled by the in-sample seasonal-naive error.

  .. math::
    \ell_{s,h} = \frac{|p_{s,h} - y_{s,h}|}{\frac{1}{T - m}\sum_{t=m+1}^{T}
      |z_{s,t} - z_{s,t-m}| + \varepsilon}

  for series ``s``, horizon step ``h``, history ``z`` of length ``T`` and
  season length ``m``. The unreduced loss is per step, so ``"mean"`` over a
  series' horizon is its MASE (and over a batch, the mean MASE when all
  series have the same horizon). If the history is not longer than ``m``,
  ``m = 1`` is used, as GluonTS does. The scale is computed from the
  history only; ``where`` masks horizon steps.

  Args:
    predictions: floating ``[..., H]`` forecasts (time on the last axis).
    targets: ``[..., H]``.
    insample: ``[..., T]`` in-sample history of each series.
    season_length: ``m >= 1`` (default 1, the naive one-step scale), static.
    eps: added to the scale (default 1e-8), so a constant history gives a
      finite loss; may be traced.
    weights: optional weights, broadcastable to ``[..., H]``.
    where: optional boolean mask, broadcastable to ``[..., H]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``predictions``';
      ``insample`` leading shape is not ``predictions.shape[:-1]``;
      ``season_length < 1``.

  Notes:
    The scale is GluonTS' ``seasonal_error`` (in-sample seasonal naive);
    pytorch-forecasting's ``MASE`` instead uses one-step differences of the
    encoder target.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> hist = jnp.array([[1., 3., 2., 4.]])
    >>> print(jaxloss.mase(jnp.array([[5., 5.]]), jnp.array([[4., 6.]]), hist, season_length=2))
    1.0
  """
  check_floating("predictions", predictions)
  check_same_shape("predictions", predictions, "targets", targets)
  if predictions.ndim < 1 or _ndim(insample) != predictions.ndim or (
      shape_of(insample)[:-1] != predictions.shape[:-1]):
    raise LossInputError(
        f"insample has shape {shape_of(insample)} but predictions has shape "
        f"{predictions.shape}; expected insample of shape {predictions.shape[:-1] + ('T',)}")
  if season_length < 1:
    raise LossInputError(f"season_length must be >= 1, got {season_length}")
  dtype = nx.compute_dtype(predictions, targets, insample)
  p = nx.mask_fill(predictions.astype(dtype), where)
  t = nx.mask_fill(jnp.asarray(targets).astype(dtype), where)
  z = jnp.asarray(insample).astype(dtype)
  m = season_length if z.shape[-1] > season_length else 1
  if z.shape[-1] <= m:
    raise LossInputError(
        f"insample has shape {z.shape}; expected a history of length >= 2")
  scale = jnp.mean(jnp.abs(z[..., m:] - z[..., :-m]), axis=-1, keepdims=True)
  values = jnp.abs(p - t) / (scale + jnp.asarray(eps, dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


def _ndim(x):
  return len(shape_of(x))


@register(tasks=("demand forecasting", "time-series forecasting"),
          input_kind="values", peer="gluonts.ev.metrics.ND (per series)",
          references=("Kolassa & Schütz, Advantages of the MAD/MEAN ratio over the MAPE, "
                      "Foresight 2007",))
@loss_function(ranges={"eps": ">= 0"})
def wape(predictions, targets, *, eps=1e-8, weights=None, where=None, reduction="mean"):
  r"""Weighted absolute percentage error (MAD/mean ratio) per series.

  .. math::
    \ell_{s,h} = \frac{|p_{s,h} - y_{s,h}|}{\frac{1}{|U_s|}\sum_{k \in U_s}|y_{s,k}| + \varepsilon},
    \qquad \frac{1}{|U_s|}\sum_{h\in U_s} \ell_{s,h}
      = \frac{\sum_h |p_{s,h} - y_{s,h}|}{\sum_h |y_{s,h}|}

  Time is the last axis; ``U_s`` are the unmasked steps of series ``s``. The
  unreduced loss is per step, scaled so that its mean over one series is
  that series' WAPE (sum of absolute errors over sum of absolute targets);
  ``"mean"`` over a batch weights series by their number of unmasked steps.
  For a WAPE pooled over all series, reshape to a single series first.

  Args:
    predictions: floating ``[..., H]``.
    targets: ``[..., H]``, same shape.
    eps: added to the scale (default 1e-8); may be traced.
    weights: optional weights, broadcastable to ``[..., H]``.
    where: optional boolean mask, broadcastable to ``[..., H]``; masked steps
      leave the scale too.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    The MAD/Mean ratio of Kolassa & Schütz 2007. Per series it equals GluonTS'
    ``ND`` metric, ``sum |y - p| / sum |y|``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.wape(jnp.array([[1., 2., 6.]]), jnp.array([[2., 2., 4.]])))
    0.375
  """
  p, t, _ = _prepare("predictions", predictions, targets, where)
  if p.ndim < 1:
    raise LossInputError(f"predictions has shape {p.shape}; expected a time axis")
  if where is None:
    scale = jnp.mean(jnp.abs(t), axis=-1, keepdims=True)
  else:
    mask = broadcast_mask("where", where, p.shape, "predictions")
    count = jnp.sum(mask, axis=-1, keepdims=True, dtype=p.dtype)
    scale = nx.safe_div(jnp.sum(jnp.where(mask, jnp.abs(t), 0.0), -1, keepdims=True), count)
  values = jnp.abs(p - t) / (scale + jnp.asarray(eps, p.dtype))
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Contextual (trend-aware) loss.
# --------------------------------------------------------------------------


def moving_average(x, window: int):
  """Centred moving average along the last axis with edge replication.

  Autoformer / FEDformer's ``series_decomp`` (an ``AvgPool1d`` over the
  series padded by repeating its end values); the output has ``x``'s shape.
  """
  if window == 1:
    return x
  left = (window - 1) // 2
  right = window - 1 - left
  xp = jnp.concatenate([jnp.repeat(x[..., :1], left, axis=-1), x,
                        jnp.repeat(x[..., -1:], right, axis=-1)], axis=-1)
  c = jnp.cumsum(jnp.concatenate([jnp.zeros_like(xp[..., :1]), xp], axis=-1), axis=-1)
  return (c[..., window:] - c[..., :-window]) / window


@register(tasks=("time-series forecasting", "contextual loss"),
          input_kind="values",
          references=(SURVEY, "Wu et al., Autoformer: decomposition transformers with "
                      "auto-correlation, NeurIPS 2021"),
          components=("trend", "residual", "diff"))
@loss_function(static=("window", "return_components"),
               ranges={"trend_weight": ">= 0", "residual_weight": ">= 0",
                       "diff_weight": ">= 0"})
def trend_aware_loss(predictions, targets, *, window=5, trend_weight=1.0,
                     residual_weight=0.25, diff_weight=0.0, return_components=False,
                     weights=None, where=None, reduction="mean"):
  r"""Squared error split into a trend part and a residual (noise) part.

  .. math::
    e = p - y,\quad \bar e = \mathrm{MA}_k(e),\quad
    \ell_t = w_\text{trend}\,\bar e_t^{\,2} + w_\text{res}\,(e_t - \bar e_t)^2
      + w_\text{diff}\,(\Delta e_t)^2

  ``MA_k`` is Autoformer's series decomposition (centred moving average of
  window ``k`` with edge replication), a linear map, so the trend part of
  the error is the error of the trends. With ``trend_weight >
  residual_weight`` a forecast that follows the noise but misses the trend
  costs more than one that follows the trend and smooths the noise: the
  survey's "contextual" loss. ``trend_weight = residual_weight = 1`` is close
  to (not exactly, the cross term is dropped) the MSE. The optional
  difference term ``Delta e_t = e_t - e_{t-1}`` (``0`` at ``t = 0``)
  penalises wrong slopes.

  Args:
    predictions: floating ``[..., T]`` (time on the last axis).
    targets: ``[..., T]``, same shape.
    window: moving-average window ``k >= 1`` (default 5), static.
    trend_weight, residual_weight, diff_weight: non-negative weights
      (defaults 1.0, 0.25, 0.0); may be traced.
    return_components: also return the unweighted parts ``{"trend": mean
      bar e^2, "residual": mean (e - bar e)^2, "diff": mean (Delta e)^2}``
      (each reduced the same way as the total, so the total is
      ``trend_weight * trend + residual_weight * residual + diff_weight *
      diff``), static; default False.
    weights: optional weights, broadcastable to ``[..., T]``.
    where: optional boolean mask over steps, broadcastable to ``[..., T]``;
      masked steps are excluded from the sums (their errors are set to 0
      before smoothing, so they do not leak into neighbours' trends).
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    The total: a scalar for "mean"/"sum", ``predictions.shape`` for "none";
    with ``return_components=True`` the pair ``(total, components)``.

  Raises:
    LossInputError: shape mismatch; ``window < 1``; negative concrete weights.

  Notes:
    The survey's contextual-loss direction for time series; no peer library
    implements it. The decomposition is Autoformer's ``series_decomp``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> t = jnp.zeros((1, 4)); p = jnp.array([[1., 1., 1., 1.]])
    >>> print(jaxloss.trend_aware_loss(p, t, window=3))
    1.0
  """
  p, t, _ = _prepare("predictions", predictions, targets, where)
  if p.ndim < 1:
    raise LossInputError(f"predictions has shape {p.shape}; expected a time axis")
  if window < 1:
    raise LossInputError(f"window must be >= 1, got {window}")
  e = p - t
  trend = moving_average(e, window)
  resid = e - trend
  diff = jnp.concatenate([jnp.zeros_like(e[..., :1]), jnp.diff(e, axis=-1)], axis=-1)
  dtype = e.dtype
  total = (jnp.asarray(trend_weight, dtype) * trend * trend
           + jnp.asarray(residual_weight, dtype) * resid * resid
           + jnp.asarray(diff_weight, dtype) * diff * diff)
  out = reduce_loss(total, reduction, where=where, weights=weights)
  if not return_components:
    return out
  parts = {"trend": trend * trend, "residual": resid * resid, "diff": diff * diff}
  comps = {k: reduce_loss(v, reduction, where=where, weights=weights) for k, v in parts.items()}
  return out, comps
