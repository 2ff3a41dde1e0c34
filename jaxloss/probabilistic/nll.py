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
  the second the target; further distribution parameters are positional after
  them (``gaussian_nll(mean, target, var)`` as in torch). Parameter arrays
  broadcast to the target's shape; the unreduced loss has the target's shape.
* ``where`` (boolean, broadcastable to the unreduced loss) excludes entries,
  ``weights`` scales them; ``"mean"`` is the sum over the unmasked count.
* bfloat16/float16 inputs are computed in float32 and return float32.

The rest of the family (catalog family "probabilistic"): proper scores (CRPS,
interval score) and point-forecast errors (MAPE, sMAPE, MASE, WAPE,
trend-aware) in :mod:`jaxloss.forecasting`; CTC, soft-DTW and DILATE in
:mod:`jaxloss.sequence`. The quantile (pinball) loss is
``jaxloss.regression.quantile_loss``.

The survey (Elharrouss et al. 2025, "Loss Functions for Time Series
Forecasting") names MSE/MAE/Huber for point forecasts, DeepAR's negative
log-likelihood and the quantile loss for probabilistic forecasts, and
contextual losses that weigh trend errors above noise.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import betaln, gammaln

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
    check_broadcastable,
    check_floating,
    check_same_shape,
    loss_function,
    reduce_loss,
    shape_of,
)
from jaxloss.catalog import register

__all__ = [
    "beta_nll", "gamma_nll", "gaussian_nll", "laplace_nll", "negative_binomial_nll",
    "poisson_nll", "student_t_nll",
]

_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")
_DEEPAR = "Salinas et al., DeepAR: Probabilistic forecasting with autoregressive RNNs, IJF 2020"
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


def _prepare(first_name, first, target, where, params=(), target_name="target"):
  """Validates ``first``/``target``/``params``; casts; fills masked entries.

  ``params`` is a sequence of ``(name, array, fill)``; each must broadcast to
  the target's shape. Masked entries of every input are replaced (by 0 for
  the first two, by ``fill`` for parameters) so a NaN there cannot reach the
  value or the gradient.
  """
  check_floating(first_name, first)
  check_same_shape(first_name, first, target_name, target)
  shape = shape_of(target)
  dtype = nx.compute_dtype(first, target, *(p for _, p, _ in params))
  a = nx.mask_fill(first.astype(dtype), where)
  t = nx.mask_fill(jnp.asarray(target).astype(dtype), where)
  out = []
  for name, p, fill in params:
    check_broadcastable(name, p, shape, target_name)
    p = jnp.broadcast_to(jnp.asarray(p).astype(dtype), shape)
    out.append(nx.mask_fill(p, where, fill))
  return a, t, out


def _examples_pos(key, n_pos, shape=(8, 5)):
  """(first, target, *positive params) example."""
  keys = jax.random.split(key, 2 + n_pos)
  first = ex.normal(keys[0], shape)
  target = ex.normal(keys[1], shape)
  pos = [ex.uniform(k, shape, 0.5, 2.0) for k in keys[2:]]
  return (first, target, *pos)


# --------------------------------------------------------------------------
# Likelihoods.
# --------------------------------------------------------------------------


def _gauss_example(key):
  return _examples_pos(key, 1), {}


def _gauss_edges(key):
  m, t, v = _examples_pos(key, 1)
  return [((t, t, v), {}),                              # perfect mean
          ((m, t, jnp.zeros_like(v)), {}),              # variance 0 -> eps
          ((m, t, jnp.full_like(v, 1e-9)), {"full": True}),
          ((m * 1e3, t, v * 1e4), {}),
          ((m, t, v[..., 0]), {})]                      # one variance per row


@register(tasks=("probabilistic forecasting", "heteroscedastic regression",
                 "uncertainty estimation"),
          input_kind="values", peer="torch.nn.functional.gaussian_nll_loss",
          references=("Nix & Weigend, Estimating the mean and variance of the target "
                      "probability distribution, ICNN 1994", _DEEPAR, _SURVEY),
          example=_gauss_example, edge_cases=_gauss_edges, grad_argnums=(0, 2))
@loss_function(static=("full",), ranges={"eps": ">= 0"})
def gaussian_nll(mean, target, var, *, full=False, eps=1e-6, weights=None,
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
    target: ``[...]``, same shape.
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
    LossInputError: ``target`` shape differs from ``mean``'s, or ``var`` does
      not broadcast to it; concrete ``eps < 0``.

  References:
    Nix & Weigend 1994; the Gaussian likelihood of DeepAR. Matches
    ``torch.nn.functional.gaussian_nll_loss`` (value and gradient, including
    the detached clamp). torch raises on negative ``var`` entries; here they
    are clamped (a value check is not possible under jit).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gaussian_nll(jnp.array([0., 1.]), jnp.array([1., 1.]),
    ...                            jnp.array([1., 4.]), reduction="none"))
    [0.5       0.6931472]
  """
  check_floating("mean", mean)
  var = jnp.asarray(var)
  if var.shape != jnp.shape(mean) and mean.ndim >= 1 and var.shape == mean.shape[:-1]:
    var = var[..., None]
  m, t, (v,) = _prepare("mean", mean, target, where, [("var", var, 1.0)])
  v = nx.clamp_min_straight_through(v, jnp.asarray(eps, v.dtype))
  d = m - t
  values = 0.5 * (jnp.log(v) + d * d / v)
  if full:
    values = values + 0.5 * _LOG_2PI
  return reduce_loss(values, reduction, where=where, weights=weights)


def _t_example(key):
  return _examples_pos(key, 2), {}


def _t_edges(key):
  m, t, s, nu = _examples_pos(key, 2)
  return [((t, t, s, nu), {}), ((m, t, jnp.zeros_like(s), nu), {}),
          ((m, t, s, jnp.full_like(nu, 1e4)), {}), ((m * 1e4, t, s, nu), {})]


@register(tasks=("probabilistic forecasting", "robust regression"),
          input_kind="values",
          peer="torch.distributions.StudentT(df, loc, scale).log_prob (negated); "
               "gluonts StudentTOutput",
          references=("Lange et al., Robust statistical modeling using the t distribution, "
                      "JASA 1989", _DEEPAR),
          example=_t_example, edge_cases=_t_edges, grad_argnums=(0, 2, 3))
@loss_function(ranges={"eps": ">= 0"})
def student_t_nll(loc, target, scale, df, *, eps=1e-6, weights=None, where=None,
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
    target: ``[...]``, same shape.
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

  References:
    Lange et al. 1989. Matches ``-torch.distributions.StudentT(df, loc,
    scale).log_prob(target)`` and ``scipy.stats.t.logpdf`` (negated).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.student_t_nll(jnp.array([0.]), jnp.array([0.]), jnp.array([1.]),
    ...                             jnp.array([1.])))
    1.1447293
  """
  m, t, (s, nu) = _prepare("loc", loc, target, where, [("scale", scale, 1.0), ("df", df, 1.0)])
  e = jnp.asarray(eps, m.dtype)
  s = nx.clamp_min_straight_through(s, e)
  nu = nx.clamp_min_straight_through(nu, e)
  z = (t - m) / s
  values = (gammaln(0.5 * nu) - gammaln(0.5 * (nu + 1.0)) + 0.5 * jnp.log(nu * math.pi)
            + jnp.log(s) + 0.5 * (nu + 1.0) * jnp.log1p(z * z / nu))
  return reduce_loss(values, reduction, where=where, weights=weights)


def _lap_edges(key):
  m, t, s = _examples_pos(key, 1)
  return [((t, t, s), {}), ((m, t, jnp.zeros_like(s)), {}), ((m * 1e4, t, s), {})]


@register(tasks=("probabilistic forecasting", "robust regression"),
          input_kind="values",
          peer="torch.distributions.Laplace(loc, scale).log_prob (negated); "
               "gluonts LaplaceOutput",
          references=("Kendall & Gal, What uncertainties do we need in Bayesian deep "
                      "learning for computer vision?, NeurIPS 2017",),
          example=_gauss_example, edge_cases=_lap_edges, grad_argnums=(0, 2))
@loss_function(ranges={"eps": ">= 0"})
def laplace_nll(loc, target, scale, *, eps=1e-6, weights=None, where=None,
                reduction="mean"):
  r"""Laplace negative log-likelihood (an L1 loss with a learned scale).

  .. math::
    \ell_i = \log(2 b_i) + \frac{|y_i - \mu_i|}{b_i}, \quad b_i = \max(\text{scale}_i, \varepsilon)

  Args:
    loc: floating ``[...]``.
    target: ``[...]``, same shape.
    scale: ``b > 0``, broadcastable to ``[...]``.
    eps: scale clamp (value only, default 1e-6); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``loc.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  References:
    Kendall & Gal 2017. Matches ``-torch.distributions.Laplace(loc,
    scale).log_prob(target)`` and ``scipy.stats.laplace.logpdf`` (negated).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.laplace_nll(jnp.array([0.]), jnp.array([1.]), jnp.array([0.5])))
    2.0
  """
  m, t, (b,) = _prepare("loc", loc, target, where, [("scale", scale, 1.0)])
  b = nx.clamp_min_straight_through(b, jnp.asarray(eps, m.dtype))
  values = jnp.log(2.0 * b) + jnp.abs(t - m) / b
  return reduce_loss(values, reduction, where=where, weights=weights)


def _count_example(key, shape=(8, 5)):
  k1, k2 = jax.random.split(key)
  return ex.normal(k1, shape), jax.random.poisson(k2, 3.0, shape).astype(jnp.float32)


def _poisson_example(key):
  return _count_example(key), {}


def _poisson_edges(key):
  r, y = _count_example(key)
  return [((r, y), {"full": True}), ((jnp.log(y + 1e-3), y), {}),
          ((jnp.full_like(r, -30.0), jnp.zeros_like(y)), {}),
          ((jnp.abs(r), y), {"log_input": False}),
          ((jnp.zeros_like(r), y), {"log_input": False, "full": True})]


@register(tasks=("count regression", "demand forecasting", "probabilistic forecasting"),
          input_kind="log-rates", peer="torch.nn.functional.poisson_nll_loss",
          references=("Cameron & Trivedi, Regression Analysis of Count Data, 1998",
                      "pytorch_forecasting.metrics.PoissonLoss"),
          example=_poisson_example, edge_cases=_poisson_edges)
@loss_function(static=("log_input", "full"), ranges={"eps": ">= 0"})
def poisson_nll(log_rate, target, *, log_input=True, full=False, eps=1e-8,
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
    target: ``[...]`` non-negative counts (float), same shape.
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

  References:
    Matches ``torch.nn.functional.poisson_nll_loss`` (all options). Keras
    ``poisson`` is ``log_input=False, eps=1e-7``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.poisson_nll(jnp.array([0., 1.]), jnp.array([1., 3.]), full=True,
    ...                           reduction="none"))
    [1.        1.4823633]
  """
  x, y, _ = _prepare("log_rate", log_rate, target, where)
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


def _nb_example(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  mu = ex.uniform(k1, shape, 0.5, 5.0)
  y = jax.random.poisson(k2, 3.0, shape).astype(jnp.float32)
  return (mu, y, ex.uniform(k3, shape, 0.1, 1.0)), {}


def _nb_edges(key):
  (mu, y, a), kw = _nb_example(key)
  return [((mu, y, jnp.full_like(a, 1e-7)), kw),          # Poisson limit
          ((jnp.zeros_like(mu), jnp.zeros_like(y), a), kw),
          ((mu, y * 1e3, a * 1e2), kw), ((y, y, a), kw)]


@register(tasks=("count forecasting", "demand forecasting", "probabilistic forecasting"),
          input_kind="values",
          peer="pytorch_forecasting NegativeBinomialDistributionLoss / gluonts "
               "NegativeBinomialOutput (DeepAR's mu, alpha)",
          references=(_DEEPAR, _SURVEY),
          example=_nb_example, edge_cases=_nb_edges, grad_argnums=(0, 2))
@loss_function(ranges={"eps": ">= 0"})
def negative_binomial_nll(mu, target, alpha, *, eps=1e-8, weights=None, where=None,
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
    target: ``[...]`` non-negative counts (float), same shape.
    alpha: dispersion > 0, broadcastable to ``[...]``.
    eps: clamp for ``mu`` and ``alpha`` (default 1e-8); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``mu.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  References:
    Salinas et al. 2020 (DeepAR), eq. for the negative binomial likelihood.
    Equals ``-scipy.stats.nbinom(n=1/alpha, p=1/(1 + alpha mu)).logpmf(y)``
    and ``torch.distributions.NegativeBinomial(total_count=1/alpha,
    probs=alpha mu/(1 + alpha mu))``, the distribution behind GluonTS'
    ``NegativeBinomialOutput`` and pytorch-forecasting's loss.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.negative_binomial_nll(jnp.array([2.]), jnp.array([3.]),
    ...                                     jnp.array([0.5])))
    2.0794415
  """
  m, y, (a,) = _prepare("mu", mu, target, where, [("alpha", alpha, 1.0)])
  e = jnp.asarray(eps, m.dtype)
  m = nx.clamp_min_straight_through(m, e)
  a = nx.clamp_min_straight_through(a, e)
  r = 1.0 / a
  log_am = jnp.log(a * m)
  l1p = jnp.log1p(a * m)
  log_coef = -betaln(r, y + 1.0) - jnp.log(r + y)
  values = -log_coef + r * l1p - y * (log_am - l1p)
  return reduce_loss(values, reduction, where=where, weights=weights)


def _gamma_example(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.uniform(k1, shape, 0.5, 3.0), ex.uniform(k2, shape, 0.1, 4.0),
          ex.uniform(k3, shape, 0.5, 2.0)), {}


def _gamma_edges(key):
  (k, y, r), kw = _gamma_example(key)
  return [((k, jnp.zeros_like(y), r), kw), ((jnp.zeros_like(k), y, r), kw),
          ((k * 1e3, y, r * 1e3), kw)]


@register(tasks=("positive-valued regression", "probabilistic forecasting"),
          input_kind="values",
          peer="torch.distributions.Gamma(concentration, rate).log_prob (negated); "
               "gluonts GammaOutput",
          references=("scipy.stats.gamma", "GluonTS GammaOutput"),
          example=_gamma_example, edge_cases=_gamma_edges, grad_argnums=(0, 2))
@loss_function(ranges={"eps": ">= 0"})
def gamma_nll(concentration, target, rate, *, eps=1e-8, weights=None, where=None,
              reduction="mean"):
  r"""Gamma negative log-likelihood (shape ``k``, rate ``beta``).

  .. math::
    \ell_i = \log\Gamma(k) - k\log\beta - (k - 1)\log y + \beta y

  ``concentration``, ``rate`` (value-only clamp) and ``target`` (plain clamp)
  are floored at ``eps``, so a zero target gives a finite loss.

  Args:
    concentration: floating ``[...]``, shape parameter ``k > 0``.
    target: ``[...]`` positive values, same shape.
    rate: ``beta > 0``, broadcastable to ``[...]``.
    eps: floor (default 1e-8); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``concentration.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps < 0``.

  References:
    Matches ``-torch.distributions.Gamma(concentration, rate).log_prob`` and
    ``-scipy.stats.gamma(k, scale=1/rate).logpdf``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.gamma_nll(jnp.array([1.]), jnp.array([2.]), jnp.array([1.])))
    2.0
  """
  k, y, (b,) = _prepare("concentration", concentration, target, where, [("rate", rate, 1.0)])
  e = jnp.asarray(eps, k.dtype)
  k = nx.clamp_min_straight_through(k, e)
  b = nx.clamp_min_straight_through(b, e)
  y = jnp.maximum(y, e)
  values = gammaln(k) - k * jnp.log(b) - (k - 1.0) * jnp.log(y) + b * y
  return reduce_loss(values, reduction, where=where, weights=weights)


def _beta_example(key, shape=(8, 5)):
  k1, k2, k3 = jax.random.split(key, 3)
  return (ex.uniform(k1, shape, 0.5, 3.0), ex.uniform(k2, shape, 0.05, 0.95),
          ex.uniform(k3, shape, 0.5, 3.0)), {}


def _beta_edges(key):
  (a, y, b), kw = _beta_example(key)
  return [((a, jnp.zeros_like(y), b), kw), ((a, jnp.ones_like(y), b), kw),
          ((jnp.zeros_like(a), y, b), kw)]


@register(tasks=("proportion regression", "probabilistic forecasting"),
          input_kind="values",
          peer="torch.distributions.Beta(concentration1, concentration0).log_prob "
               "(negated); gluonts BetaOutput",
          references=("scipy.stats.beta", "GluonTS BetaOutput"),
          example=_beta_example, edge_cases=_beta_edges, grad_argnums=(0, 2))
@loss_function(ranges={"eps": "[0, 0.5)"})
def beta_nll(concentration1, target, concentration0, *, eps=1e-6, weights=None,
             where=None, reduction="mean"):
  r"""Beta-distribution negative log-likelihood for targets in (0, 1).

  .. math::
    \ell_i = \log B(a, b) - (a - 1)\log y - (b - 1)\log(1 - y)

  Not to be confused with the "beta-NLL" of Seitzer et al. (2022), a
  variance-weighted Gaussian NLL. The target is clamped to ``[eps, 1 - eps]``
  and the concentrations at ``eps`` (value only).

  Args:
    concentration1: floating ``[...]``, ``a > 0`` (torch's name).
    target: ``[...]`` in (0, 1), same shape.
    concentration0: ``b > 0``, broadcastable to ``[...]``.
    eps: clamp (default 1e-6); may be traced.
    weights: optional per-entry weights, broadcastable to ``[...]``.
    where: optional boolean mask, broadcastable to ``[...]``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``concentration1.shape`` for "none".

  Raises:
    LossInputError: shape mismatch; concrete ``eps`` outside [0, 0.5).

  References:
    Matches ``-torch.distributions.Beta(concentration1,
    concentration0).log_prob`` and ``-scipy.stats.beta(a, b).logpdf``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.beta_nll(jnp.array([2.]), jnp.array([0.5]), jnp.array([2.])))
    -0.40546596
  """
  a, y, (b,) = _prepare("concentration1", concentration1, target, where,
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
