"""Probabilistic losses: negative log-likelihoods of predicted distributions.

Conventions of this module:

* Distribution parameters come in as arrays a model predicts, in the natural
  (constrained) parametrisation: variances, scales, rates, shapes > 0. Map the
  raw network outputs with ``jax.nn.softplus`` (DeepAR) or ``jnp.exp`` first.
  Positive parameters are clamped at ``eps`` *in the forward pass only*, the
  way ``torch.nn.functional.gaussian_nll_loss`` does it (a clamp on a detached
  copy): the gradient flows as if unclamped, so a parameter driven below
  ``eps`` is still pushed back.
* The first argument is the prediction (a mean, location, rate or samples),
  the second the targets; further distribution parameters are positional after
  them (``gaussian_nll(mean, targets, var)`` as in torch). Parameter arrays
  broadcast to the targets' shape; the unreduced loss has the targets' shape.
* ``where`` (boolean, broadcastable to the unreduced loss) excludes entries,
  ``weights`` scales them; ``"mean"`` is the sum over the unmasked count.
* bfloat16/float16 inputs are computed in float32 and return float32.

The rest of the family (catalog family "probabilistic"): proper scores (CRPS,
interval score) and point-forecast errors (MAPE, sMAPE, MASE, WAPE,
trend-aware) in :mod:`jaxloss.probabilistic.forecasting`; CTC, soft-DTW and
DILATE in :mod:`jaxloss.probabilistic.sequence`. The quantile (pinball) loss is
``jaxloss.regression.quantile_loss``.

The survey (Elharrouss et al. 2025, "Loss Functions for Time Series
Forecasting") names MSE/MAE/Huber for point forecasts, DeepAR's negative
log-likelihood and the quantile loss for probabilistic forecasts, and
contextual losses that weigh trend errors above noise.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax.scipy.special import betaln, gammaln

from jaxloss import _numerics as nx
from jaxloss._api import (
    check_broadcastable,
    check_floating,
    check_same_shape,
    debug_check_nonnegative,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import SURVEY, register

__all__ = [
    "beta_nll", "gamma_nll", "gaussian_nll", "laplace_nll", "negative_binomial_nll",
    "poisson_nll", "student_t_nll",
]

_DEEPAR = "Salinas et al., DeepAR: Probabilistic forecasting with autoregressive RNNs, IJF 2020"
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


def _prepare(first_name, first, targets, where, params=(), targets_name="targets"):
  """Validates ``first``/``targets``/``params``; casts; fills masked entries.

  ``params`` is a sequence of ``(name, array, fill)``; each must broadcast to
  the targets' shape. Masked entries of every input are replaced (by 0 for
  the first two, by ``fill`` for parameters) so a NaN there cannot reach the
  value or the gradient. The parameters are positive (variances, scales,
  rates): a negative entry fails the value check (``jaxloss.set_checks``) and
  is otherwise clamped at ``eps`` by the caller.
  """
  check_floating(first_name, first)
  check_same_shape(first_name, first, targets_name, targets)
  shape = shape_of(targets)
  dtype = nx.compute_dtype(first, targets, *(p for _, p, _ in params))
  a = nx.mask_fill(first.astype(dtype), where)
  t = nx.mask_fill(jnp.asarray(targets).astype(dtype), where)
  out = []
  for name, p, fill in params:
    check_broadcastable(name, p, shape, targets_name)
    p = jnp.broadcast_to(jnp.asarray(p).astype(dtype), shape)
    p = nx.mask_fill(p, where, fill)
    debug_check_nonnegative(name, p)
    out.append(p)
  return a, t, out


# --------------------------------------------------------------------------
# Likelihoods.
# --------------------------------------------------------------------------


@register(tasks=("probabilistic forecasting", "heteroscedastic regression",
                 "uncertainty estimation"),
          input_kind="values", peer="torch.nn.functional.gaussian_nll_loss",
          references=("Nix & Weigend, Estimating the mean and variance of the target "
                      "probability distribution, ICNN 1994", _DEEPAR, SURVEY))
@loss_function(static=("full",), ranges={"eps": ">= 0"})
def gaussian_nll(mean, targets, var, *, full=False, eps=1e-6, weights=None,
                 where=None, reduction="mean"):
  r"""Gaussian negative log-likelihood with a predicted variance.

  .. math::
    \ell_i = \tfrac12\Big(\log \max(v_i, \varepsilon)
      + \frac{(\mu_i - y_i)^2}{\max(v_i, \varepsilon)}\Big)
      \;[+\, \tfrac12 \log 2\pi \text{ if full}]

  The clamp acts on the value only (torch clamps a detached copy), so the
  gradient with respect to ``var`` is that of the unclamped formula.
  Predict ``var`` through ``softplus`` or ``exp``.

  Args:
    mean: floating ``[...]``, the predicted means.
    targets: ``[...]``, same shape.
    var: predicted variances, shape ``[...]``, or ``mean.shape[:-1]`` (one
      variance per row, as torch allows), or anything broadcastable to
      ``[...]`` (e.g. a trailing axis of 1, or a scalar: homoscedastic).
    full: add the constant ``0.5 * log(2 pi)`` (default False, as torch).
    eps: variance clamp (default 1e-6, torch's); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``mean.shape`` for "none".

  Raises:
    LossInputError: ``targets`` shape differs from ``mean``'s, or ``var`` does
      not broadcast to it; concrete ``eps < 0``.

  Notes:
    The Gaussian likelihood of DeepAR. Matches torch in value and gradient,
    including the detached clamp. torch raises on negative ``var`` entries;
    here they are clamped at ``eps``, and raise with ``jaxloss.set_checks(True)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gaussian_nll(jnp.array([0., 1.]), jnp.array([1., 1.]),
    ...                            jnp.array([1., 4.]), reduction="none"))
    [0.5       0.693147]
  """
  check_floating("mean", mean)
  var = jnp.asarray(var)
  if var.shape != jnp.shape(mean) and mean.ndim >= 1 and var.shape == mean.shape[:-1]:
    var = var[..., None]
  m, t, (v,) = _prepare("mean", mean, targets, where, [("var", var, 1.0)])
  v = nx.clamp_min_straight_through(v, jnp.asarray(eps, v.dtype))
  d = m - t
  values = 0.5 * (jnp.log(v) + d * d / v)
  if full:
    values = values + 0.5 * _LOG_2PI
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("probabilistic forecasting", "robust regression"),
          input_kind="values",
          peer="torch.distributions.StudentT(df, loc, scale).log_prob (negated); "
               "gluonts StudentTOutput",
          references=("Lange et al., Robust statistical modeling using the t distribution, "
                      "JASA 1989", _DEEPAR))
@loss_function(ranges={"eps": ">= 0"})
def student_t_nll(loc, targets, scale, df, *, eps=1e-6, weights=None, where=None,
                  reduction="mean"):
  r"""Student-t negative log-likelihood (location, scale, degrees of freedom).

  .. math::
    \ell_i = \log\Gamma(\tfrac{\nu}{2}) - \log\Gamma(\tfrac{\nu+1}{2})
      + \tfrac12 \log(\nu\pi) + \log\sigma
      + \tfrac{\nu+1}{2}\log\Big(1 + \frac{(y-\mu)^2}{\nu\sigma^2}\Big)

  The full log-density (with its constant), as ``torch.distributions`` and
  GluonTS. ``scale`` and ``df`` are clamped at ``eps`` (value only).

  Args:
    loc: floating ``[...]``.
    targets: ``[...]``, same shape.
    scale: ``sigma > 0``, broadcastable to ``[...]``.
    df: degrees of freedom ``nu > 0``, broadcastable to ``[...]`` (GluonTS
      predicts ``2 + softplus(.)``).
    eps: clamp for ``scale`` and ``df`` (default 1e-6); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``loc.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    Equals ``-torch.distributions.StudentT(df, loc, scale).log_prob(targets)``
    and ``-scipy.stats.t.logpdf(targets, df, loc, scale)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.student_t_nll(jnp.array([0.]), jnp.array([0.]), jnp.array([1.]),
    ...                             jnp.array([1.])))
    1.144729
  """
  m, t, (s, nu) = _prepare("loc", loc, targets, where, [("scale", scale, 1.0), ("df", df, 1.0)])
  e = jnp.asarray(eps, m.dtype)
  s = nx.clamp_min_straight_through(s, e)
  nu = nx.clamp_min_straight_through(nu, e)
  z = (t - m) / s
  values = (gammaln(0.5 * nu) - gammaln(0.5 * (nu + 1.0)) + 0.5 * jnp.log(nu * math.pi)
            + jnp.log(s) + 0.5 * (nu + 1.0) * jnp.log1p(z * z / nu))
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("probabilistic forecasting", "robust regression"),
          input_kind="values",
          peer="torch.distributions.Laplace(loc, scale).log_prob (negated); "
               "gluonts LaplaceOutput",
          references=("Kendall & Gal, What uncertainties do we need in Bayesian deep "
                      "learning for computer vision?, NeurIPS 2017",))
@loss_function(ranges={"eps": ">= 0"})
def laplace_nll(loc, targets, scale, *, eps=1e-6, weights=None, where=None,
                reduction="mean"):
  r"""Laplace negative log-likelihood (an L1 loss with a learned scale).

  .. math::
    \ell_i = \log(2 b_i) + \frac{|y_i - \mu_i|}{b_i}, \quad b_i = \max(\text{scale}_i, \varepsilon)

  Args:
    loc: floating ``[...]``.
    targets: ``[...]``, same shape.
    scale: ``b > 0``, broadcastable to ``[...]``.
    eps: scale clamp (value only, default 1e-6); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``loc.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    Equals ``-torch.distributions.Laplace(loc, scale).log_prob(targets)`` and
    ``-scipy.stats.laplace.logpdf(targets, loc, scale)``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.laplace_nll(jnp.array([0.]), jnp.array([1.]), jnp.array([0.5])))
    2.0
  """
  m, t, (b,) = _prepare("loc", loc, targets, where, [("scale", scale, 1.0)])
  b = nx.clamp_min_straight_through(b, jnp.asarray(eps, m.dtype))
  values = jnp.log(2.0 * b) + jnp.abs(t - m) / b
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("count regression", "demand forecasting", "probabilistic forecasting"),
          input_kind="log-rates", peer="torch.nn.functional.poisson_nll_loss",
          references=("Cameron & Trivedi, Regression Analysis of Count Data, 1998",
                      "pytorch_forecasting.metrics.PoissonLoss"))
@loss_function(static=("log_input", "full"), ranges={"eps": ">= 0"})
def poisson_nll(log_rate, targets, *, log_input=True, full=False, eps=1e-8,
                weights=None, where=None, reduction="mean"):
  r"""Poisson negative log-likelihood, torch's ``poisson_nll_loss``.

  .. math::
    \ell_i = \begin{cases} e^{x_i} - y_i x_i & \text{log\_input} \\
             x_i - y_i \log(x_i + \varepsilon) & \text{otherwise} \end{cases}
      \;+\; [\text{full}]\,[y_i > 1]\big(y_i \log y_i - y_i + \tfrac12\log(2\pi y_i)\big)

  ``log(y!)`` is dropped (constant in the prediction); ``full=True`` adds
  torch's Stirling approximation of it for targets > 1.

  Args:
    log_rate: floating ``[...]``: the log-rate (``log_input=True``, default)
      or the rate itself (``log_input=False``).
    targets: ``[...]`` non-negative counts (float), same shape.
    log_input: whether the first argument is a log-rate (default True), static.
    full: add the Stirling term (default False), static.
    eps: added to the rate inside the log when ``log_input=False`` (default
      1e-8, torch's); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``log_rate.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    Matches torch with all its options. Keras ``poisson`` is
    ``log_input=False, eps=1e-7``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.poisson_nll(jnp.array([0., 1.]), jnp.array([1., 3.]), full=True,
    ...                           reduction="none"))
    [1.        1.482363]
  """
  x, y, _ = _prepare("log_rate", log_rate, targets, where)
  if log_input:
    values = jnp.exp(x) - y * x
  else:
    values = x - y * jnp.log(x + jnp.asarray(eps, x.dtype))
  if full:
    big = y > 1
    safe_y = jnp.where(big, y, 2.0)
    stirling = safe_y * jnp.log(safe_y) - safe_y + 0.5 * jnp.log(2.0 * math.pi * safe_y)
    values = values + jnp.where(big, stirling, 0.0)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("count forecasting", "demand forecasting", "probabilistic forecasting"),
          input_kind="values",
          peer="pytorch_forecasting NegativeBinomialDistributionLoss / gluonts "
               "NegativeBinomialOutput (DeepAR's mu, alpha)",
          references=(_DEEPAR, SURVEY))
@loss_function(ranges={"eps": ">= 0"})
def negative_binomial_nll(mu, targets, alpha, *, eps=1e-8, weights=None, where=None,
                          reduction="mean"):
  r"""Negative binomial NLL in DeepAR's mean / dispersion parametrisation.

  .. math::
    -\log p(y) = -\log\frac{\Gamma(y + 1/\alpha)}{\Gamma(y+1)\Gamma(1/\alpha)}
      + \tfrac{1}{\alpha}\log(1 + \alpha\mu) - y \log\frac{\alpha\mu}{1 + \alpha\mu}

  Mean ``mu``, variance ``mu + alpha mu^2``; ``alpha -> 0`` is the Poisson
  limit. The Gamma ratio is computed as ``-betaln(1/alpha, y+1) -
  log(1/alpha + y)``, which stays accurate for tiny ``alpha`` where the
  difference of two huge ``lgamma`` values would cancel. ``mu`` and
  ``alpha`` are clamped at ``eps`` (value only); DeepAR maps both through
  ``softplus``.

  Args:
    mu: floating ``[...]``, predicted means > 0.
    targets: ``[...]`` non-negative counts (float), same shape.
    alpha: dispersion > 0, broadcastable to ``[...]``.
    eps: clamp for ``mu`` and ``alpha`` (default 1e-8); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``mu.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    DeepAR's equation for the negative binomial likelihood. Equals
    ``-scipy.stats.nbinom(n=1/alpha, p=1/(1 + alpha mu)).logpmf(y)``
    and ``torch.distributions.NegativeBinomial(total_count=1/alpha,
    probs=alpha mu/(1 + alpha mu))``, the distribution behind GluonTS'
    ``NegativeBinomialOutput`` and pytorch-forecasting's loss.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.negative_binomial_nll(jnp.array([2.]), jnp.array([3.]),
    ...                                     jnp.array([0.5])))
    2.079442
  """
  m, y, (a,) = _prepare("mu", mu, targets, where, [("alpha", alpha, 1.0)])
  e = jnp.asarray(eps, m.dtype)
  m = nx.clamp_min_straight_through(m, e)
  a = nx.clamp_min_straight_through(a, e)
  r = 1.0 / a
  log_am = jnp.log(a * m)
  l1p = jnp.log1p(a * m)
  log_coef = -betaln(r, y + 1.0) - jnp.log(r + y)
  values = -log_coef + r * l1p - y * (log_am - l1p)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("positive-valued regression", "probabilistic forecasting"),
          input_kind="values",
          peer="torch.distributions.Gamma(concentration, rate).log_prob (negated); "
               "gluonts GammaOutput",
          references=("scipy.stats.gamma", "GluonTS GammaOutput"))
@loss_function(ranges={"eps": ">= 0"})
def gamma_nll(concentration, targets, rate, *, eps=1e-8, weights=None, where=None,
              reduction="mean"):
  r"""Gamma negative log-likelihood (shape ``k``, rate ``beta``).

  .. math::
    \ell_i = \log\Gamma(k) - k\log\beta - (k - 1)\log y + \beta y

  ``concentration``, ``rate`` (value-only clamp) and ``targets`` (plain clamp)
  are floored at ``eps``, so a zero target gives a finite loss.

  Args:
    concentration: floating ``[...]``, shape parameter ``k > 0``.
    targets: ``[...]`` positive values, same shape.
    rate: ``beta > 0``, broadcastable to ``[...]``.
    eps: floor (default 1e-8); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``concentration.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  Notes:
    Equals ``-torch.distributions.Gamma(concentration, rate).log_prob`` and
    ``-scipy.stats.gamma(k, scale=1/rate).logpdf``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gamma_nll(jnp.array([1.]), jnp.array([2.]), jnp.array([1.])))
    2.0
  """
  k, y, (b,) = _prepare("concentration", concentration, targets, where, [("rate", rate, 1.0)])
  e = jnp.asarray(eps, k.dtype)
  k = nx.clamp_min_straight_through(k, e)
  b = nx.clamp_min_straight_through(b, e)
  y = jnp.maximum(y, e)
  values = gammaln(k) - k * jnp.log(b) - (k - 1.0) * jnp.log(y) + b * y
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=("proportion regression", "probabilistic forecasting"),
          input_kind="values",
          peer="torch.distributions.Beta(concentration1, concentration0).log_prob "
               "(negated); gluonts BetaOutput",
          references=("scipy.stats.beta", "GluonTS BetaOutput"))
@loss_function(ranges={"eps": "[0, 0.5)"})
def beta_nll(concentration1, targets, concentration0, *, eps=1e-6, weights=None,
             where=None, reduction="mean"):
  r"""Beta-distribution negative log-likelihood for targets in (0, 1).

  .. math::
    \ell_i = \log B(a, b) - (a - 1)\log y - (b - 1)\log(1 - y)

  Not to be confused with the "beta-NLL" of Seitzer et al. (2022), a
  variance-weighted Gaussian NLL. The targets are clamped to ``[eps, 1 - eps]``
  and the concentrations at ``eps`` (value only).

  Args:
    concentration1: floating ``[...]``, ``a > 0`` (torch's name).
    targets: ``[...]`` in (0, 1), same shape.
    concentration0: ``b > 0``, broadcastable to ``[...]``.
    eps: clamp (default 1e-6); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``concentration1.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps`` outside [0, 0.5).

  Notes:
    Equals ``-torch.distributions.Beta(concentration1,
    concentration0).log_prob`` and ``-scipy.stats.beta(a, b).logpdf``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.beta_nll(jnp.array([2.]), jnp.array([0.5]), jnp.array([2.])))
    -0.405466
  """
  a, y, (b,) = _prepare("concentration1", concentration1, targets, where,
                        [("concentration0", concentration0, 1.0)])
  e = jnp.asarray(eps, a.dtype)
  a = nx.clamp_min_straight_through(a, e)
  b = nx.clamp_min_straight_through(b, e)
  y = jnp.clip(y, e, 1.0 - e)
  # lgamma form rather than betaln: same accuracy for moderate concentrations
  # and several times cheaper to compile.
  log_beta = gammaln(a) + gammaln(b) - gammaln(a + b)
  values = log_beta - (a - 1.0) * jnp.log(y) - (b - 1.0) * jnp.log1p(-y)
  return reduce_loss(values, reduction, where=where, weights=weights)
