"""Flow-matching and EDM objectives, with their timestep / noise-level samplers.

Vocabulary shared with :mod:`jaxloss.generative.diffusion`: the first argument is
the model's output or a static callable ``model_fn`` (``model_fn(params, x, t)``
with ``params=``, plus ``condition`` last when given); ``x0`` is clean data
``[B, ...]``; ``noise`` is the other endpoint (standard normal for diffusion,
any source sample for flow matching), same shape; one time or noise level per
example ``[B]``; losses are one value per example (mean over the non-batch
axes) before ``reduction``.

Convention of the flow paths (diffusers / Stable Diffusion 3): ``t = 0`` is the
data, ``t = 1`` the noise,

.. math::
  x_t = \\alpha_t\\, x_0 + \\sigma_t\\, \\epsilon,\\qquad
  u_t = \\dot\\alpha_t\\, x_0 + \\dot\\sigma_t\\, \\epsilon,

so the rectified-flow target is ``noise - x0`` (diffusers'
``FlowMatchEulerDiscreteScheduler``, ``train_dreambooth_sd3.py``). Lipman et
al. / torchcfm / SiT put the data at ``t = 1``: swap the endpoints
(``x0 <-> noise``), use ``1 - t``, and negate the velocity.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.experimental import checkify

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_min_rank,
    check_option,
    check_same_shape,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.generative import _common as cm

__all__ = ["edm_loss", "flow_matching_loss", "flow_weighting", "sample_edm_sigmas",
           "sample_timesteps"]

FLOW_PATHS = ("rectified", "vp", "cosine")
FLOW_WEIGHTINGS = (None, "sigma_sqrt", "cosmap")
TIMESTEP_DENSITIES = ("uniform", "logit_normal", "mode")
_LIPMAN = "Lipman et al., Flow Matching for Generative Modeling, ICLR 2023"
_LIU = ("Liu et al., Flow Straight and Fast: Learning to Generate and Transfer Data with "
        "Rectified Flow, ICLR 2023")
_SD3 = ("Esser et al., Scaling Rectified Flow Transformers for High-Resolution Image "
        "Synthesis (Stable Diffusion 3), ICML 2024")
_SIT = ("Ma et al., SiT: Exploring Flow and Diffusion-based Generative Models with Scalable "
        "Interpolant Transformers, ECCV 2024")
_EDM = ("Karras et al., Elucidating the Design Space of Diffusion-Based Generative Models, "
        "NeurIPS 2022")
# VP path constants of SiT's VPCPlan (Song et al.'s VP-SDE beta_min / beta_max).
_VP_BETA_MIN, _VP_BETA_MAX = 0.1, 20.0
# Smallest t of the VP path (its target velocity diverges at the data end).
_VP_T_MIN = 1e-5
# Floor of sigma in the sigma_sqrt weighting (the smallest sigma of SD3's scheduler is 1/1000).
_SIGMA_FLOOR = 1e-3


# --------------------------------------------------------------------------
# Samplers and weights (helpers, not losses).
# --------------------------------------------------------------------------


def sample_timesteps(key, n, *, density="uniform", logit_mean=0.0, logit_std=1.0,
                     mode_scale=1.29):
  r"""Draws ``n`` flow-matching times in [0, 1] as SD3's training does.

  diffusers ``training_utils.compute_density_for_timestep_sampling``:

  * ``"uniform"``: :math:`u \sim U(0, 1)`;
  * ``"logit_normal"``: :math:`u = \mathrm{sigmoid}(z)`,
    :math:`z \sim N(\text{logit\_mean}, \text{logit\_std}^2)` (SD3's
    "rf/lognorm(0.00, 1.00)");
  * ``"mode"``: :math:`u = 1 - v - s\,(\cos^2(\pi v / 2) - 1 + v)`,
    :math:`v \sim U(0, 1)`, ``s = mode_scale`` (SD3 Eq. 20).

  The draws are the time ``t`` (= sigma of the rectified path) directly;
  diffusers' scripts then map ``u`` to a scheduler index
  (``int(u * num_train_timesteps)``) and read the (possibly shifted) sigma
  there; with the unshifted scheduler that is ``u`` up to the 1/1000 grid.

  Args:
    key: a PRNG key.
    n: number of draws (static int).
    density: "uniform" (default) | "logit_normal" | "mode".
    logit_mean, logit_std: the logit-normal's parameters (defaults 0, 1).
    mode_scale: ``s`` of the "mode" density (default 1.29, diffusers').

  Returns:
    float32 ``[n]``.

  Examples:
    >>> import jax, jaxloss
    >>> t = jaxloss.sample_timesteps(jax.random.key(0), 4, density="logit_normal")
    >>> print(t.shape, bool(((t > 0) & (t < 1)).all()))
    (4,) True
  """
  check_option("density", density, TIMESTEP_DENSITIES)
  if density == "logit_normal":
    z = jax.random.normal(key, (n,))
    return jax.nn.sigmoid(logit_mean + logit_std * z)
  u = jax.random.uniform(key, (n,))
  if density == "mode":
    return 1.0 - u - mode_scale * (jnp.cos(math.pi * u / 2.0) ** 2 - 1.0 + u)
  return u


def flow_weighting(sigmas, scheme="none"):
  r"""SD3's loss weights :math:`w(\sigma)` (diffusers ``compute_loss_weighting_for_sd3``).

  * ``"sigma_sqrt"``: :math:`\sigma^{-2}` (infinite at 0, as diffusers');
  * ``"cosmap"``: :math:`2 / (\pi (1 - 2\sigma + 2\sigma^2))`;
  * ``"none"`` (or None): 1.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.flow_weighting(jnp.array([0.5, 1.0]), "sigma_sqrt"))
    [4. 1.]
  """
  check_option("scheme", scheme, ("none", None, "sigma_sqrt", "cosmap"))
  s = jnp.asarray(sigmas)
  if not jnp.issubdtype(s.dtype, jnp.floating):
    s = s.astype(jnp.float32)
  if scheme == "sigma_sqrt":
    return s ** -2.0
  if scheme == "cosmap":
    return 2.0 / (math.pi * (1.0 - 2.0 * s + 2.0 * s * s))
  return jnp.ones_like(s)


def sample_edm_sigmas(key, n, *, p_mean=-1.2, p_std=1.2):
  r"""EDM's training noise levels: :math:`\ln\sigma \sim N(P_\text{mean}, P_\text{std}^2)`.

  NVlabs/edm ``training/loss.py`` ``EDMLoss`` (defaults -1.2, 1.2).

  Examples:
    >>> import jax, jaxloss
    >>> s = jaxloss.sample_edm_sigmas(jax.random.key(0), 3)
    >>> print(s.shape, bool((s > 0).all()))
    (3,) True
  """
  return jnp.exp(p_mean + p_std * jax.random.normal(key, (n,)))


# --------------------------------------------------------------------------
# Shared input handling.
# --------------------------------------------------------------------------


def _per_example(name, v, batch, dtype):
  v = jnp.asarray(v)
  if v.shape != (batch,):
    raise LossInputError(f"{name} has shape {v.shape}; expected ({batch},), one per example")
  check_floating(name, v)
  return v.astype(dtype)


def _prediction(model_fn_or_prediction, model_fn, params, x_in, t_in, condition, x0, where,
                dtype):
  if model_fn is not None:
    prediction = cm.call(model_fn, params, x_in, t_in, condition)
    name = "model_fn(x_t, t)"
  else:
    prediction, name = model_fn_or_prediction, "model_fn_or_prediction"
  if jnp.shape(prediction) != jnp.shape(x0):
    raise LossInputError(
        f"x0 has shape {jnp.shape(x0)} but {name} has shape {jnp.shape(prediction)}; "
        "expected the same shape")
  check_floating(name, prediction)
  return cm.batch_mask_fill(jnp.asarray(prediction).astype(dtype), where)


def _bshape(v, ndim):
  return v.reshape(v.shape + (1,) * (ndim - 1))


def _path(path, t):
  """``(alpha, sigma, d alpha/dt, d sigma/dt)`` of the path at ``t``."""
  if path == "rectified":
    return 1.0 - t, t, -jnp.ones_like(t), jnp.ones_like(t)
  if path == "cosine":
    h = math.pi / 2.0
    return jnp.cos(h * t), jnp.sin(h * t), -h * jnp.sin(h * t), h * jnp.cos(h * t)
  # vp: SiT's VPCPlan with time reversed to put the data at t = 0.
  t = jnp.clip(t, _VP_T_MIN, 1.0)
  db = _VP_BETA_MAX - _VP_BETA_MIN
  log_a = -0.25 * t * t * db - 0.5 * t * _VP_BETA_MIN
  a = jnp.exp(log_a)
  da = a * (-0.5 * t * db - 0.5 * _VP_BETA_MIN)
  s2 = -jnp.expm1(2.0 * log_a)
  s = jnp.sqrt(s2)
  return a, s, da, -a * da / s


# --------------------------------------------------------------------------
# Flow matching.
# --------------------------------------------------------------------------


def _flow_impl(model_fn_or_prediction, x0, noise, t, *, path="rectified", weighting=None,
               model_fn=None, params=None, condition=None, weights=None, where=None,
               reduction="mean"):
  check_floating("x0", x0)
  check_min_rank("x0", x0, 1, "a leading batch axis")
  check_same_shape("x0", x0, "noise", noise)
  dtype = nx.compute_dtype(x0, noise)
  tt = _per_example("t", t, jnp.shape(x0)[0], dtype)
  x0 = cm.batch_mask_fill(x0.astype(dtype), where)
  noise = cm.batch_mask_fill(jnp.asarray(noise).astype(dtype), where)
  a, s, da, ds = _path(path, tt)
  nd = x0.ndim
  x_t = None
  if model_fn is not None:
    x_t = _bshape(a, nd) * x0 + _bshape(s, nd) * noise
  prediction = _prediction(model_fn_or_prediction, model_fn, params, x_t, t, condition, x0,
                           where, dtype)
  target = _bshape(da, nd) * x0 + _bshape(ds, nd) * noise
  d = prediction - target
  values = cm.per_example_mean(d * d)
  if weighting is not None:
    sig = jnp.maximum(s, _SIGMA_FLOOR) if weighting == "sigma_sqrt" else s
    values = values * flow_weighting(sig, weighting)
  return reduce_loss(values, reduction, where=where, weights=weights)


_flow_impl.__name__ = "flow_matching_loss"
_flow_jit = loss_function(_flow_impl, static=("path", "weighting", "model_fn"),
                          choices={"path": FLOW_PATHS, "weighting": FLOW_WEIGHTINGS})


@register(tasks=("flow matching", "rectified flow", "text-to-image generation",
                 "diffusion models"),
          input_kind="model output (velocity) or model function",
          peer="diffusers train_dreambooth_sd3.py: target = noise - model_input, "
               "weighting = compute_loss_weighting_for_sd3; SiT transport/path.py for vp/cosine",
          references=(_LIPMAN, _LIU, _SD3, _SIT))
def flow_matching_loss(model_fn_or_prediction, x0, noise, t, *, path="rectified",
                       weighting=None, params=None, condition=None, weights=None, where=None,
                       reduction="mean"):
  r"""Conditional flow-matching loss: regress the path's velocity at :math:`x_t`.

  .. math::
    x_t = \alpha_t x_0 + \sigma_t \epsilon,\quad
    u_t = \dot\alpha_t x_0 + \dot\sigma_t \epsilon,\quad
    \ell_i = w(\sigma_{t_i})\,\operatorname{mean}\big((\hat v_i - u_{t_i})^2\big)

  Paths (``t = 0`` data, ``t = 1`` noise):

  * ``"rectified"`` (default): :math:`\alpha = 1 - t,\ \sigma = t`, so
    :math:`u = \epsilon - x_0` (rectified flow, SD3);
  * ``"cosine"``: :math:`\alpha = \cos(\pi t/2),\ \sigma = \sin(\pi t/2)`
    (SiT's "GVP");
  * ``"vp"``: :math:`\alpha = \exp(-\tfrac14 t^2(\beta_1-\beta_0) - \tfrac12 t\beta_0)`,
    :math:`\sigma = \sqrt{1-\alpha^2}`, :math:`\beta_0 = 0.1, \beta_1 = 20`
    (SiT's "VP", Song et al.'s VP-SDE); ``t`` is clipped to
    :math:`[10^{-5}, 1]` because :math:`\dot\sigma` diverges at the data end.

  The first argument is the predicted velocity (an array) or a **static**
  callable ``model_fn(x_t, t)`` (``model_fn(params, x_t, t)`` with ``params=``,
  plus ``condition`` last when given), then applied to :math:`x_t`.

  Args:
    model_fn_or_prediction: floating ``[B, ...]`` velocity, or a callable.
    x0: clean data ``[B, ...]`` (the ``t = 0`` end).
    noise: the ``t = 1`` end, same shape (standard normal for SD3; any
      source sample, e.g. an OT-paired one, works).
    t: floating ``[B]`` in [0, 1] (e.g. :func:`sample_timesteps`).
    path: "rectified" (default) | "cosine" | "vp".
    weighting: None (default) | "sigma_sqrt" | "cosmap": SD3's weights of
      :math:`\sigma_t` (:func:`flow_weighting`); any other per-example weight
      goes in ``weights``.
    params: optional model parameters passed to ``model_fn`` (traced).
    condition: optional conditioning passed to ``model_fn``.
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none" (``[B]``).

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: shapes of ``x0``, ``noise`` and the prediction differ, or
      ``t`` is not ``[B]``.
    LossTypeError: ``t`` is not floating.

  Notes:
    Endpoint convention: diffusers/SD3's (data at ``t = 0``,
    ``noisy = (1 - sigma) x + sigma noise``, ``target = noise - x``). For the
    Lipman / torchcfm / SiT convention (data at ``t = 1``, source ``x0``)
    pass ``x0=data``, ``noise=source``, ``t=1 - t_theirs`` and negate the
    model's velocity. ``"sigma_sqrt"`` floors :math:`\sigma` at 1e-3 (the
    smallest sigma of SD3's 1000-step scheduler) so the loss stays finite at
    ``t = 0``; diffusers' weight is infinite there. As diffusers: per-element
    MSE averaged over the non-batch axes, then weighted.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x0, eps, t = jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.array([0.25, 0.75])
    >>> print(jaxloss.flow_matching_loss(-jnp.ones((2, 3)), x0, eps, t))
    0.0
    >>> l = jaxloss.flow_matching_loss(jnp.zeros((2, 3)), x0, eps, t, weighting="cosmap")
    >>> print(round(float(l), 6))
    1.018592
  """
  kw = dict(path=path, weighting=weighting, params=params, condition=condition,
            weights=weights, where=where, reduction=reduction)
  if callable(model_fn_or_prediction) and not hasattr(model_fn_or_prediction, "shape"):
    return _flow_jit(None, x0, noise, t, model_fn=model_fn_or_prediction, **kw)
  return _flow_jit(model_fn_or_prediction, x0, noise, t, **kw)


flow_matching_loss._jitted = _flow_jit._jitted  # noqa: SLF001 - the contract's retrace check


# --------------------------------------------------------------------------
# EDM.
# --------------------------------------------------------------------------


def _edm_impl(model_fn_or_prediction, x0, noise, sigma, *, sigma_data=0.5,
              prediction_type="raw", model_fn=None, params=None, condition=None, weights=None,
              where=None, reduction="mean"):
  check_floating("x0", x0)
  check_min_rank("x0", x0, 1, "a leading batch axis")
  check_same_shape("x0", x0, "noise", noise)
  dtype = nx.compute_dtype(x0, noise)
  sg = _per_example("sigma", sigma, jnp.shape(x0)[0], dtype)
  checkify.debug_check(jnp.all(sg > 0), "sigma must be > 0")
  x0 = cm.batch_mask_fill(x0.astype(dtype), where)
  # Excluded examples get sigma = 1 so that no coefficient is inf/NaN there.
  if where is not None:
    sg = jnp.where(jnp.asarray(where), sg, jnp.ones((), dtype))
  noise = cm.batch_mask_fill(jnp.asarray(noise).astype(dtype), where)
  sd = jnp.asarray(sigma_data, dtype)
  nd = x0.ndim
  s2 = sg * sg + sd * sd
  root = jnp.sqrt(s2)
  x = x0 + _bshape(sg, nd) * noise
  x_in = c_noise = None
  if model_fn is not None:
    x_in, c_noise = x / _bshape(root, nd), jnp.log(sg) / 4.0
  prediction = _prediction(model_fn_or_prediction, model_fn, params, x_in, c_noise, condition,
                           x0, where, dtype)
  if prediction_type == "raw":
    # lambda(sigma) c_out^2 = 1: the loss is the MSE of F against its effective
    # target (x0 - c_skip x) / c_out = (sigma x0 - sigma_data^2 n) / (sigma_data sqrt(s2)),
    # written without the cancellation of D - x0 at small sigma.
    target = (_bshape(sg, nd) * x0 - sd * sd * noise) / _bshape(sd * root, nd)
    d = prediction - target
    values = cm.per_example_mean(d * d)
  else:
    d = prediction - x0
    lam = s2 / (sg * sd) ** 2
    values = lam * cm.per_example_mean(d * d)
  return reduce_loss(values, reduction, where=where, weights=weights)


_edm_impl.__name__ = "edm_loss"
_edm_jit = loss_function(_edm_impl, static=("prediction_type", "model_fn"),
                         choices={"prediction_type": ("raw", "x0")},
                         ranges={"sigma_data": "> 0"})


@register(tasks=("diffusion models", "image generation"),
          input_kind="raw network output F, denoised D, or model function",
          peer="NVlabs/edm training/loss.py EDMLoss with networks.py EDMPrecond",
          references=(_EDM,))
def edm_loss(model_fn_or_prediction, x0, noise, sigma, *, sigma_data=0.5, prediction_type="raw",
             params=None, condition=None, weights=None, where=None, reduction="mean"):
  r"""EDM denoising loss with Karras et al.'s preconditioning and loss weight.

  .. math::
    D(x;\sigma) = c_\text{skip} x + c_\text{out} F(c_\text{in} x;\ c_\text{noise}),\quad
    \ell_i = \lambda(\sigma_i)\,\operatorname{mean}\big((D(x_0 + \sigma_i n;\sigma_i) - x_0)^2\big)

  with :math:`c_\text{skip} = \sigma_d^2/(\sigma^2+\sigma_d^2)`,
  :math:`c_\text{out} = \sigma\sigma_d/\sqrt{\sigma^2+\sigma_d^2}`,
  :math:`c_\text{in} = 1/\sqrt{\sigma^2+\sigma_d^2}`,
  :math:`c_\text{noise} = \tfrac14\ln\sigma` and
  :math:`\lambda(\sigma) = (\sigma^2+\sigma_d^2)/(\sigma\sigma_d)^2`.

  The first argument is either a **static** callable, the raw network
  ``model_fn(c_in * x, c_noise)`` (``model_fn(params, ...)`` with ``params=``,
  plus ``condition`` last), wrapped in the preconditioning here; or an array:
  the raw output ``F`` (``prediction_type="raw"``, default) or the denoised
  ``D`` (``prediction_type="x0"``).

  Args:
    model_fn_or_prediction: floating ``[B, ...]`` ``F`` or ``D``, or a callable.
    x0: clean data ``[B, ...]``.
    noise: standard normal ``[B, ...]``; the noisy input is
      ``x0 + sigma * noise``.
    sigma: floating ``[B]``, > 0 (e.g. :func:`sample_edm_sigmas`).
    sigma_data: :math:`\sigma_d` (default 0.5, EDM's); may be traced.
    prediction_type: "raw" (default, ``F``) | "x0" (``D``).
    params: optional model parameters passed to ``model_fn`` (traced).
    condition: optional conditioning (class labels) passed to ``model_fn``.
    weights: optional per-example weights ``[B]``.
    where: optional per-example boolean mask ``[B]``.
    reduction: "mean" (default) | "sum" | "none" (``[B]``).

  Returns:
    A scalar for "mean"/"sum"; ``[B]`` for "none".

  Raises:
    LossInputError: shapes of ``x0``, ``noise`` and the prediction differ,
      ``sigma`` is not ``[B]``, or (under checks) a ``sigma <= 0``.

  Notes:
    NVlabs/edm returns the weighted squared error per element and its
    training loop sums it; here it is averaged over the non-batch axes (as
    :func:`diffusion_loss`): multiply by the elements per example for EDM's
    scale. For ``"raw"`` the loss is computed as
    :math:`\operatorname{mean}((F - F^\ast)^2)`, :math:`F^\ast =
    (\sigma x_0 - \sigma_d^2 n)/(\sigma_d\sqrt{\sigma^2+\sigma_d^2})` —
    equal to the formula above since :math:`\lambda c_\text{out}^2 = 1` —
    which stays accurate for tiny and huge :math:`\sigma`; with ``"x0"`` the
    weight :math:`\lambda \sim \sigma^{-2}` amplifies float32 rounding of
    ``D - x0`` at small :math:`\sigma`.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x0, n, s = jnp.ones((2, 3)), jnp.zeros((2, 3)), jnp.array([0.5, 2.0])
    >>> print(jaxloss.edm_loss(jnp.zeros((2, 3)), x0, n, s))
    2.882353
    >>> print(jaxloss.edm_loss(x0, x0, n, s, prediction_type="x0"))
    0.0
  """
  kw = dict(sigma_data=sigma_data, prediction_type=prediction_type, params=params,
            condition=condition, weights=weights, where=where, reduction=reduction)
  if callable(model_fn_or_prediction) and not hasattr(model_fn_or_prediction, "shape"):
    return _edm_jit(None, x0, noise, sigma, model_fn=model_fn_or_prediction, **kw)
  return _edm_jit(model_fn_or_prediction, x0, noise, sigma, **kw)


edm_loss._jitted = _edm_jit._jitted  # noqa: SLF001 - the contract's retrace check
