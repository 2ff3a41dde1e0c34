"""Diffusion-model objectives: noise schedules, forward noising and denoising losses.

Conventions of this module (DDPM notation, discrete time ``t = 0 .. T-1``):

* A schedule is a :class:`NoiseSchedule` ``(betas, alphas_cumprod)`` of length
  ``T``; :math:`\\bar\\alpha_t` = ``alphas_cumprod[t]``.
* :math:`x_t = \\sqrt{\\bar\\alpha_t}\\, x_0 + \\sqrt{1 - \\bar\\alpha_t}\\, \\epsilon`;
  the model predicts :math:`\\epsilon` ("epsilon"), :math:`x_0` ("x0") or
  :math:`v = \\sqrt{\\bar\\alpha_t}\\,\\epsilon - \\sqrt{1-\\bar\\alpha_t}\\, x_0` ("v").
* The signal-to-noise ratio is :math:`\\mathrm{SNR}_t = \\bar\\alpha_t / (1 - \\bar\\alpha_t)`.
* Data is ``[B, ...]``; ``timesteps`` are integer ``[B]``; losses are one value
  per example (mean over the non-batch axes), as in diffusers' training scripts.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_integer,
    check_min_rank,
    check_option,
    check_rank,
    check_same_shape,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.generative import _common as cm

__all__ = [
    "NoiseSchedule", "convert_prediction", "cosine_schedule", "diffusion_loss",
    "linear_schedule", "loss_per_timestep", "q_sample", "sigmoid_schedule", "snr",
]

PREDICTION_TYPES = ("epsilon", "x0", "v")
_DDPM = "Ho et al., Denoising Diffusion Probabilistic Models, NeurIPS 2020"
_IDDPM = "Nichol & Dhariwal, Improved Denoising Diffusion Probabilistic Models, ICML 2021"
_MINSNR = "Hang et al., Efficient Diffusion Training via Min-SNR Weighting Strategy, ICCV 2023"
_VPRED = "Salimans & Ho, Progressive Distillation for Fast Sampling of Diffusion Models, ICLR 2022"
_SIGMOID = "Chen, On the Importance of Noise Scheduling for Diffusion Models, arXiv:2301.10972"


class NoiseSchedule(NamedTuple):
  """A discrete noise schedule: ``betas`` and ``alphas_cumprod``, both ``[T]``."""

  betas: jax.Array
  alphas_cumprod: jax.Array


def _from_betas(betas):
  betas = np.asarray(betas, np.float64)
  return NoiseSchedule(jnp.asarray(betas), jnp.asarray(np.cumprod(1.0 - betas)))


def _from_alphas_bar(fn, num_timesteps, max_beta):
  """Betas from a continuous :math:`\\bar\\alpha(t)` on [0, 1] (iDDPM, Eq. 17)."""
  t = np.arange(num_timesteps + 1, dtype=np.float64) / num_timesteps
  a = fn(t)
  a = a / a[0]
  betas = np.clip(1.0 - a[1:] / a[:-1], 0.0, max_beta)
  return _from_betas(betas)


def _check_steps(num_timesteps):
  if int(num_timesteps) != num_timesteps or num_timesteps < 1:
    raise LossInputError(f"num_timesteps must be a positive integer, got {num_timesteps!r}")


def linear_schedule(num_timesteps=1000, *, beta_start=1e-4, beta_end=2e-2):
  """DDPM's linear beta schedule (Ho et al. 2020; diffusers ``"linear"``).

  Returns a :class:`NoiseSchedule`; computed in float64 NumPy and returned as
  JAX arrays (float32 unless x64 is enabled).

  >>> s = linear_schedule(1000)
  >>> print(s.betas[0], s.betas[-1])
  0.0001 0.02
  """
  _check_steps(num_timesteps)
  return _from_betas(np.linspace(beta_start, beta_end, num_timesteps, dtype=np.float64))


def cosine_schedule(num_timesteps=1000, *, s=0.008, max_beta=0.999):
  """The cosine schedule of Nichol & Dhariwal (2021), Eq. 17, betas clipped at ``max_beta``.

  :math:`\\bar\\alpha_t = f(t)/f(0)`, :math:`f(t) = \\cos^2\\big(\\frac{t/T + s}{1 + s}\\frac{\\pi}{2}\\big)`.
  Matches diffusers' ``"squaredcos_cap_v2"``.

  >>> s = cosine_schedule(1000)
  >>> print(round(float(s.alphas_cumprod[499]), 4))
  0.4938
  """
  _check_steps(num_timesteps)
  return _from_alphas_bar(lambda t: np.cos((t + s) / (1 + s) * math.pi / 2) ** 2,
                          num_timesteps, max_beta)


def sigmoid_schedule(num_timesteps=1000, *, start=-3.0, end=3.0, tau=1.0, max_beta=0.999):
  """The sigmoid schedule of Chen (2023) / Jabri et al. (2023).

  :math:`\\bar\\alpha(t) \\propto \\sigma(e/\\tau) - \\sigma((t(e - s) + s)/\\tau)`, normalised to
  :math:`\\bar\\alpha(0) = 1`; betas clipped at ``max_beta`` (as in
  lucidrains' ``sigmoid_beta_schedule``).

  >>> s = sigmoid_schedule(10)
  >>> print(s.alphas_cumprod.shape)
  (10,)
  """
  _check_steps(num_timesteps)

  def sig(z):
    return 1.0 / (1.0 + np.exp(-z))

  v_end = sig(end / tau)
  return _from_alphas_bar(lambda t: v_end - sig((t * (end - start) + start) / tau),
                          num_timesteps, max_beta)


def _check_schedule(alphas_cumprod, timesteps, batch):
  check_rank("alphas_cumprod", alphas_cumprod, 1, "[T]")
  check_integer("timesteps", timesteps)
  if jnp.shape(timesteps) != (batch,):
    raise LossInputError(
        f"timesteps has shape {jnp.shape(timesteps)}; expected ({batch},), one per example")
  n = jnp.shape(alphas_cumprod)[0]
  # A value check (no-op unless run under checkify/chexify): jit clips the gather.
  checkify.debug_check(jnp.all((jnp.asarray(timesteps) >= 0) & (jnp.asarray(timesteps) < n)),
                       f"timesteps must be in [0, {n})")


def _coeffs(alphas_cumprod, timesteps, ndim, dtype):
  """``sqrt(abar_t)`` and ``sqrt(1 - abar_t)`` shaped ``[B, 1, ..., 1]``."""
  a = jnp.asarray(alphas_cumprod, dtype)[jnp.asarray(timesteps)]
  a = a.reshape(a.shape + (1,) * (ndim - 1))
  return jnp.sqrt(jnp.clip(a, 0.0, 1.0)), jnp.sqrt(jnp.clip(1.0 - a, 0.0, 1.0))


def snr(timesteps, alphas_cumprod):
  """Signal-to-noise ratio :math:`\\bar\\alpha_t / (1 - \\bar\\alpha_t)` (inf where abar is 1).

  >>> print(snr(jnp.array([0]), jnp.array([0.5])))
  [1.]
  """
  a = jnp.asarray(alphas_cumprod)[jnp.asarray(timesteps)]
  return nx.safe_div(a, 1.0 - a, fallback=jnp.inf)


def q_sample(x0, noise, timesteps, alphas_cumprod):
  """Forward diffusion :math:`x_t = \\sqrt{\\bar\\alpha_t} x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon`.

  Args:
    x0: floating array ``[B, ...]``.
    noise: array of the same shape (standard normal).
    timesteps: integer ``[B]``.
    alphas_cumprod: ``[T]``.

  >>> print(q_sample(jnp.ones((1, 2)), jnp.zeros((1, 2)), jnp.array([0]), jnp.array([0.25])))
  [[0.5 0.5]]
  """
  check_min_rank("x0", x0, 1, "a leading batch axis")
  check_same_shape("x0", x0, "noise", noise)
  _check_schedule(alphas_cumprod, timesteps, jnp.shape(x0)[0])
  dtype = nx.compute_dtype(x0, noise)
  sa, sb = _coeffs(alphas_cumprod, timesteps, jnp.ndim(x0), dtype)
  return sa * jnp.asarray(x0, dtype) + sb * jnp.asarray(noise, dtype)


def convert_prediction(prediction, x_t, timesteps, alphas_cumprod, *, source, target):
  """Converts a model output between the epsilon, x0 and v parametrisations.

  Uses :math:`x_t = a x_0 + b \\epsilon`, :math:`v = a\\epsilon - b x_0`
  (:math:`a = \\sqrt{\\bar\\alpha_t}, b = \\sqrt{1 - \\bar\\alpha_t}`, :math:`a^2 + b^2 = 1`):
  :math:`x_0 = (x_t - b\\epsilon)/a = a x_t - b v`,
  :math:`\\epsilon = (x_t - a x_0)/b = b x_t + a v`.

  >>> xt, t, ac = jnp.ones((1, 1)), jnp.array([0]), jnp.array([0.5])
  >>> print(convert_prediction(jnp.zeros((1, 1)), xt, t, ac, source="v", target="epsilon"))
  [[0.707107]]
  """
  check_option("source", source, PREDICTION_TYPES)
  check_option("target", target, PREDICTION_TYPES)
  check_same_shape("prediction", prediction, "x_t", x_t)
  dtype = nx.compute_dtype(prediction, x_t)
  p, xt = jnp.asarray(prediction, dtype), jnp.asarray(x_t, dtype)
  a, b = _coeffs(alphas_cumprod, timesteps, p.ndim, dtype)
  if source == target:
    return p
  if source == "epsilon":
    eps, x0 = p, nx.safe_div(xt - b * p, a)
  elif source == "x0":
    eps, x0 = nx.safe_div(xt - a * p, b), p
  else:
    eps, x0 = b * xt + a * p, a * xt - b * p
  return {"epsilon": eps, "x0": x0, "v": a * eps - b * x0}[target]


def loss_per_timestep(losses, timesteps, num_timesteps, *, num_bins=None):
  """Averages per-example losses by timestep, for per-timestep reporting.

  Args:
    losses: ``[B]`` per-example losses (``diffusion_loss(..., reduction="none")``).
    timesteps: integer ``[B]``.
    num_timesteps: ``T``.
    num_bins: group the timesteps into this many equal bins (default ``T``).

  Returns:
    ``(means, counts)``, both ``[num_bins]``; empty bins have mean 0.

  >>> m, c = loss_per_timestep(jnp.array([1., 3., 5.]), jnp.array([0, 0, 9]), 10, num_bins=2)
  >>> print(m, c)
  [2. 5.] [2. 1.]
  """
  bins = num_timesteps if num_bins is None else num_bins
  idx = (jnp.asarray(timesteps) * bins) // num_timesteps
  losses = jnp.asarray(losses)
  total = jax.ops.segment_sum(losses, idx, num_segments=bins)
  counts = jax.ops.segment_sum(jnp.ones_like(losses), idx, num_segments=bins)
  return nx.safe_div(total, counts), counts


def _min_snr_weight(s, gamma, prediction_type):
  """Min-SNR-gamma weights (Hang et al. 2023) expressed for each parametrisation."""
  clipped = jnp.minimum(s, gamma)
  if prediction_type == "x0":
    return clipped
  if prediction_type == "v":
    return nx.safe_div(clipped, s + 1.0, fallback=1.0)
  # epsilon: min(SNR, gamma) / SNR -> 1 as SNR -> 0.
  return jnp.where(s > 0, nx.safe_div(clipped, s, fallback=1.0), 1.0)


def _diffusion_impl(model_fn_or_prediction, x0, noise, timesteps, *, alphas_cumprod,
                    prediction_type="epsilon", weighting=None, snr_gamma=5.0, model_fn=None,
                    params=None, condition=None, weights=None, where=None, reduction="mean"):
  check_floating("x0", x0)
  check_min_rank("x0", x0, 1, "a leading batch axis")
  check_same_shape("x0", x0, "noise", noise)
  _check_schedule(alphas_cumprod, timesteps, jnp.shape(x0)[0])
  dtype = nx.compute_dtype(x0, noise)
  x0 = cm.batch_mask_fill(x0.astype(dtype), where)
  noise = cm.batch_mask_fill(jnp.asarray(noise).astype(dtype), where)
  a, b = _coeffs(alphas_cumprod, timesteps, x0.ndim, dtype)
  if model_fn is not None:
    x_t = a * x0 + b * noise
    prediction = cm.call(model_fn, params, x_t, timesteps, condition)
    name = "model_fn(x_t, timesteps)"
  else:
    prediction, name = model_fn_or_prediction, "model_fn_or_prediction"
  if jnp.shape(prediction) != jnp.shape(x0):
    raise LossInputError(
        f"x0 has shape {jnp.shape(x0)} but {name} has shape {jnp.shape(prediction)}; "
        "expected the same shape")
  check_floating(name, prediction)
  prediction = cm.batch_mask_fill(prediction.astype(dtype), where)
  if prediction_type == "epsilon":
    target = noise
  elif prediction_type == "x0":
    target = x0
  else:
    target = a * noise - b * x0
  d = prediction - target
  values = cm.per_example_mean(d * d)
  if weighting == "min_snr":
    ac = jnp.asarray(alphas_cumprod, dtype)[timesteps]
    s = nx.safe_div(ac, 1.0 - ac, fallback=jnp.inf)
    values = values * _min_snr_weight(s, jnp.asarray(snr_gamma, dtype), prediction_type)
  return reduce_loss(values, reduction, where=where, weights=weights)


_diffusion_impl.__name__ = "diffusion_loss"
_diffusion_jit = loss_function(
    _diffusion_impl, static=("prediction_type", "weighting", "model_fn"),
    choices={"prediction_type": PREDICTION_TYPES, "weighting": (None, "min_snr")},
    ranges={"snr_gamma": "> 0"})


@register(tasks=("diffusion models", "text-to-image generation",
                                      "image-to-image translation", "image inpainting"),
          input_kind="model output (epsilon, x0 or v) or model function",
          peer="diffusers train_text_to_image.py: F.mse_loss(model_pred, target) with "
               "compute_snr min-SNR weights",
          references=(_DDPM, _IDDPM, _VPRED, _MINSNR, SURVEY))
def diffusion_loss(model_fn_or_prediction, x0, noise, timesteps, *, alphas_cumprod,
                   prediction_type="epsilon", weighting=None, snr_gamma=5.0, params=None,
                   condition=None, weights=None, where=None, reduction="mean"):
  r"""Denoising loss of a diffusion model for epsilon-, x0- or v-prediction.

  .. math::
    \ell_i = w(\mathrm{SNR}_{t_i})\, \operatorname{mean}\big(
      (\hat y_i - y_i)^2 \big),\quad
    y = \epsilon,\ x_0 \text{ or } v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,x_0

  With ``weighting="min_snr"`` (Hang et al. 2023) the weight is
  :math:`\min(\mathrm{SNR}, \gamma)/\mathrm{SNR}` for epsilon,
  :math:`\min(\mathrm{SNR}, \gamma)` for x0 and
  :math:`\min(\mathrm{SNR}, \gamma)/(\mathrm{SNR} + 1)` for v — the same
  objective in each parametrisation, so a model output converted with
  :func:`convert_prediction` gives the same weighted loss.

  The first argument is either the model's prediction (an array) or a
  **static** callable ``model_fn(x_t, timesteps)`` (``model_fn(params, x_t,
  timesteps)`` with ``params=``, plus ``condition`` last when given), which is
  then applied to :math:`x_t` = :func:`q_sample` ``(x0, noise, timesteps)``.

  Args:
    model_fn_or_prediction: floating ``[B, ...]`` model output, or a callable.
    x0: clean data ``[B, ...]``.
    noise: the noise used to make :math:`x_t`, same shape.
    timesteps: integer ``[B]`` in ``[0, T)``.
    alphas_cumprod: ``[T]`` cumulative products :math:`\bar\alpha_t`
      (e.g. ``cosine_schedule(T).alphas_cumprod``).
    prediction_type: "epsilon" (default) | "x0" | "v".
    weighting: None (default, uniform) | "min_snr".
    snr_gamma: :math:`\gamma` of min-SNR weighting (default 5.0, the paper's).
    params: optional model parameters passed to ``model_fn`` (traced).
    condition: optional conditioning passed to ``model_fn`` (e.g. text
      embeddings).
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none" (``[B]``, to report the
      loss per timestep with :func:`loss_per_timestep`).

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: shapes of ``x0``, ``noise`` and the prediction differ;
      ``timesteps`` is not ``[B]``; ``alphas_cumprod`` is not ``[T]``.
    LossTypeError: ``timesteps`` is not integer.

  Notes:
    Epsilon-prediction is Ho et al.'s, v-prediction Salimans & Ho's, the
    weighting Hang et al.'s min-SNR-gamma. As diffusers' training scripts:
    the per-element MSE averaged over the non-batch axes, ``snr_gamma``
    weights. The survey's "Diffusion Noise Prediction Loss".

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> ac = jaxloss.linear_schedule(10).alphas_cumprod
    >>> x0, eps, t = jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.array([0, 9])
    >>> print(jaxloss.diffusion_loss(jnp.ones((2, 3)), x0, eps, t, alphas_cumprod=ac))
    1.0
  """
  kw = dict(alphas_cumprod=alphas_cumprod, prediction_type=prediction_type,
            weighting=weighting, snr_gamma=snr_gamma, params=params, condition=condition,
            weights=weights, where=where, reduction=reduction)
  if callable(model_fn_or_prediction) and not hasattr(model_fn_or_prediction, "shape"):
    return _diffusion_jit(None, x0, noise, timesteps, model_fn=model_fn_or_prediction, **kw)
  return _diffusion_jit(model_fn_or_prediction, x0, noise, timesteps, **kw)


diffusion_loss._jitted = _diffusion_jit._jitted  # noqa: SLF001 - the contract's retrace check
