"""Structural similarity: SSIM, MS-SSIM and the MS-SSIM + L1 mix (Zhao et al.).

The conventions (channels-last images, required ``data_range``, per-image
``where``) are those of :mod:`jaxloss.image`.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.image._common import (
  _IMAGE_AXES,
  _IMAGE_TASKS,
  _WANG03,
  _WANG04,
  _ZHAO17,
  _check_spatial,
  _gaussian_window,
  _image_pair,
)

__all__ = ["l1_ssim_loss", "ms_ssim", "ms_ssim_loss", "ssim", "ssim_loss"]

# Wang, Simoncelli & Bovik 2003, Table/Sec. 3.2: weights of the 5 scales.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _ssim_maps(x, y, *, data_range, kernel_size, kernel_sigma, k1, k2, padding):
  """SSIM and contrast-structure maps, shape ``(..., H', W', C)``."""
  dtype = x.dtype
  window = _gaussian_window(kernel_size, kernel_sigma, dtype)
  # The five local moments are filtered together as one stacked array.
  stack = jnp.stack([x, y, x * x, y * y, x * y], axis=-1)  # (..., H, W, C, 5)
  if padding == "same":
    r = kernel_size // 2
    pad = [(0, 0)] * (stack.ndim - 4) + [(r, r), (r, r), (0, 0), (0, 0)]
    stack = jnp.pad(stack, pad, mode="reflect")  # kornia's filter2d border
  nd = stack.ndim
  f = nx.filter2d_valid(stack, window, nd - 4, nd - 3)
  mu_x, mu_y, e_xx, e_yy, e_xy = (f[..., i] for i in range(5))
  mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
  var_x = e_xx - mu_xx
  var_y = e_yy - mu_yy
  cov = e_xy - mu_xy
  data_range = jnp.asarray(data_range, dtype)
  c1 = (jnp.asarray(k1, dtype) * data_range) ** 2
  c2 = (jnp.asarray(k2, dtype) * data_range) ** 2
  # Denominators are >= C1, C2 > 0: no safe division needed. Filtering round
  # off can push either ratio slightly beyond [-1, 1] (fused-ssim#37); the
  # clip keeps SSIM <= 1 and only ever touches entries at round-off level.
  cs = jnp.clip((2.0 * cov + c2) / (var_x + var_y + c2), -1.0, 1.0)
  lum = (2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1)
  return jnp.clip(lum * cs, -1.0, 1.0), cs


_SSIM_STATIC = ("kernel_size", "padding")
_SSIM_RANGES = {"data_range": "> 0", "kernel_sigma": "> 0", "k1": ">= 0", "k2": "> 0",
                "kernel_size": ">= 1"}
_SSIM_CHOICES = {"padding": ("valid", "same")}


def _ssim_index(predictions, targets, where, *, data_range, kernel_size, kernel_sigma,
                k1, k2, padding):
  if kernel_size % 2 != 1:
    raise LossInputError(f"kernel_size must be odd, got {kernel_size}")
  x, y = _image_pair(predictions, targets, where)
  _check_spatial("predictions", x.shape, kernel_size, padding)
  smap, _ = _ssim_maps(x, y, data_range=data_range, kernel_size=kernel_size,
                       kernel_sigma=kernel_sigma, k1=k1, k2=k2, padding=padding)
  # The mean of entries <= 1 can round above 1 (sum * 1/N); keep the index in [-1, 1].
  return jnp.clip(jnp.mean(smap, axis=_IMAGE_AXES), -1.0, 1.0)


# --------------------------------------------------------------------------
# SSIM.
# --------------------------------------------------------------------------


@register(tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="pytorch_msssim.ssim(size_average=False) / piq.ssim(downsample=False) / "
               "monai.metrics.SSIMMetric / dm_pix.ssim (a metric: higher is better)",
          references=(_WANG04,))
@loss_function(static=_SSIM_STATIC, ranges=_SSIM_RANGES, choices=_SSIM_CHOICES)
def ssim(predictions, targets, *, data_range, kernel_size=11, kernel_sigma=1.5, k1=0.01,
         k2=0.03, padding="valid", weights=None, where=None, reduction="mean"):
  r"""Structural similarity index (SSIM) per image; higher is better (a metric).

  .. math::
    \mathrm{SSIM}(x, y) = \operatorname{mean}_{p}
      \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
           {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
    \quad C_1 = (K_1 L)^2,\ C_2 = (K_2 L)^2

  Local means, variances and covariance use a normalised Gaussian window
  (``kernel_size`` 11, ``kernel_sigma`` 1.5) per channel; the map is averaged
  over the positions ``p`` and channels of each image. ``padding="valid"``
  (default) keeps only positions where the window fits, as pytorch-msssim,
  piq (``downsample=False``), MONAI and dm-pix do; ``"same"`` reflect-pads by
  ``kernel_size // 2`` first, as kornia (whose default it is). Identical
  images give exactly 1 with a finite (zero) gradient; the map is clipped to
  [-1, 1] against filtering round-off.

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    data_range: value range ``L`` of the images (1.0 for [0, 1]); required,
      > 0; may be traced.
    kernel_size: odd Gaussian window size (default 11), static.
    kernel_sigma: window standard deviation (default 1.5).
    k1: luminance constant (default 0.01).
    k2: contrast constant (default 0.03).
    padding: "valid" (default) | "same", static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none" (the
    index of each image).

  Raises:
    LossInputError: shape mismatch, rank < 3, images smaller than the window,
      an even ``kernel_size``, or concrete ``data_range <= 0``.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    pytorch-msssim's per-channel values are averaged. ``padding="same"``
    matches ``kornia.metrics.ssim(padding="same")`` averaged (without its
    ``eps=1e-12``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16).reshape(1, 16, 16, 1)
    >>> print(jaxloss.ssim(x, x, data_range=1.0), jaxloss.ssim(x, x ** 2, data_range=1.0))
    1.0 0.779221
  """
  values = _ssim_index(predictions, targets, where, data_range=data_range,
                       kernel_size=kernel_size, kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                       padding=padding)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_IMAGE_TASKS, input_kind="images",
          peer="piq.SSIMLoss(downsample=False) / monai.losses.SSIMLoss (1 - SSIM); kornia "
               "ssim_loss is (1 - SSIM)/2",
          references=(_WANG04, _ZHAO17 + " (SSIM as a training loss)", SURVEY))
@loss_function(static=_SSIM_STATIC, ranges=_SSIM_RANGES, choices=_SSIM_CHOICES)
def ssim_loss(predictions, targets, *, data_range, kernel_size=11, kernel_sigma=1.5, k1=0.01,
              k2=0.03, padding="valid", weights=None, where=None, reduction="mean"):
  r"""SSIM loss ``1 - SSIM`` per image.

  .. math::
    \ell_b = 1 - \mathrm{SSIM}(p_b, t_b)

  See :func:`jaxloss.ssim` for the index, the window and the padding. The
  loss lies in [0, 2] and is 0 exactly for identical images.

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    data_range: value range of the images (1.0 for [0, 1]); required, > 0.
    kernel_size: odd Gaussian window size (default 11), static.
    kernel_sigma: window standard deviation (default 1.5).
    k1: luminance constant (default 0.01).
    k2: contrast constant (default 0.03).
    padding: "valid" (default) | "same", static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: as :func:`jaxloss.ssim`.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    kornia's ``ssim_loss`` is ``clamp((1 - SSIM_map) / 2, 0, 1)`` averaged,
    i.e. half this loss (with ``padding="same"``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16).reshape(1, 16, 16, 1)
    >>> print(jaxloss.ssim_loss(x, x ** 2, data_range=1.0))
    0.220779
  """
  values = 1.0 - _ssim_index(predictions, targets, where, data_range=data_range,
                             kernel_size=kernel_size, kernel_sigma=kernel_sigma, k1=k1,
                             k2=k2, padding=padding)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# MS-SSIM.
# --------------------------------------------------------------------------


def _avg_pool2(x):
  """2x2 average pooling, stride 2, of ``(..., H, W, C)``.

  pytorch-msssim pads odd sides by one zero on each side and counts the pad
  (``avg_pool2d(padding=H % 2)``); with stride 2 the trailing pad is never
  reached, so this is one leading zero row/column and a division by 4.
  """
  h, w, c = x.shape[-3:]
  ph, pw = h % 2, w % 2
  x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(ph, 0), (pw, 0), (0, 0)])
  h2, w2 = (h + ph) // 2, (w + pw) // 2
  x = x.reshape(x.shape[:-3] + (h2, 2, w2, 2, c))
  return jnp.mean(x, axis=(-4, -2))


def _ms_ssim_index(name, predictions, targets, where, *, data_range, kernel_size,
                   kernel_sigma, k1, k2, scale_weights):
  if kernel_size % 2 != 1:
    raise LossInputError(f"kernel_size must be odd, got {kernel_size}")
  x, y = _image_pair(predictions, targets, where)
  if scale_weights is None:
    scale_weights = MS_SSIM_WEIGHTS
  if isinstance(scale_weights, (tuple, list)):
    levels = len(scale_weights)
    scale_weights = jnp.stack([jnp.asarray(s, x.dtype) for s in scale_weights])
  else:
    scale_weights = jnp.asarray(scale_weights, x.dtype)
    if scale_weights.ndim != 1:
      raise LossInputError(
          f"scale_weights must be a 1-D sequence of per-scale weights, got shape "
          f"{scale_weights.shape}")
    levels = scale_weights.shape[0]
  if levels < 1:
    raise LossInputError("scale_weights must hold at least one weight, got shape (0,)")
  h, w = x.shape[-3], x.shape[-2]
  need = (kernel_size - 1) * 2 ** (levels - 1)
  if min(h, w) <= need:
    raise LossInputError(
        f"predictions has shape {x.shape}: spatial size ({h}, {w}) is too small for "
        f"{levels} scales ({levels - 1} halvings) with kernel_size={kernel_size}; expected "
        f"min(H, W) > {need}. Use larger images, fewer scale_weights or a smaller kernel_size")
  del name
  opts = dict(data_range=data_range, kernel_size=kernel_size, kernel_sigma=kernel_sigma,
              k1=k1, k2=k2, padding="valid")
  value = None
  for level in range(levels):
    smap, cs = _ssim_maps(x, y, **opts)
    if level < levels - 1:
      # Per image and channel; relu as pytorch-msssim, with a safe power.
      term = jnp.mean(cs, axis=(-3, -2))
      x, y = _avg_pool2(x), _avg_pool2(y)
    else:
      term = jnp.mean(smap, axis=(-3, -2))
    # relu(term) ** w as pytorch-msssim; finite value and gradient at 0 (nx.safe_pow).
    term = nx.safe_pow(jnp.maximum(term, 0.0), scale_weights[level])
    value = term if value is None else value * term
  return jnp.mean(value, axis=-1)  # channels


_MS_STATIC = ("kernel_size",)
_MS_RANGES = {"data_range": "> 0", "kernel_sigma": "> 0", "k1": ">= 0", "k2": "> 0",
              "kernel_size": ">= 1"}


@register(tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="pytorch_msssim.ms_ssim / piq.multi_scale_ssim (a metric: higher is better)",
          references=(_WANG03,))
@loss_function(static=_MS_STATIC, ranges=_MS_RANGES)
def ms_ssim(predictions, targets, *, data_range, kernel_size=11, kernel_sigma=1.5, k1=0.01,
            k2=0.03, scale_weights=None, weights=None, where=None, reduction="mean"):
  r"""Multi-scale SSIM (Wang et al. 2003) per image; higher is better (a metric).

  .. math::
    \mathrm{MS\text{-}SSIM}(x, y) = \operatorname{mean}_c\Big[
      \mathrm{SSIM}_M(x, y)_+^{\,w_M} \prod_{j=1}^{M-1} \mathrm{cs}_j(x, y)_+^{\,w_j}\Big]

  ``cs_j`` is the mean contrast-structure term at scale ``j`` and
  ``SSIM_M`` the mean SSIM at the coarsest scale, per channel; between scales
  both images are 2x2 average-pooled (odd sides zero-padded, pad counted,
  as pytorch-msssim). Terms are clamped at 0 before the fractional power
  (pytorch-msssim's ``relu``), and the power's gradient there is 0 instead of
  pytorch's NaN (pytorch-msssim#11). Always ``padding="valid"``; the images
  need ``min(H, W) > (kernel_size - 1) * 2**(M - 1)`` (160 for the defaults).

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    data_range: value range of the images; required, > 0.
    kernel_size: odd Gaussian window size (default 11), static.
    kernel_sigma: window standard deviation (default 1.5).
    k1: luminance constant (default 0.01).
    k2: contrast constant (default 0.03).
    scale_weights: per-scale exponents ``w_j``; the number of scales ``M`` is
      their length. Default (None): ``(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)``.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, images too small for the number
      of scales, an even ``kernel_size``, or concrete ``data_range <= 0``.

  Notes:
    The peers' weights and pooling, ``pytorch_msssim.ms_ssim`` with
    ``size_average=False``; the only difference is the finite gradient at
    clamped terms.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 176 * 176).reshape(1, 176, 176, 1)
    >>> print(jaxloss.ms_ssim(x, x, data_range=1.0))
    1.0
  """
  values = _ms_ssim_index("ms_ssim", predictions, targets, where, data_range=data_range,
                          kernel_size=kernel_size, kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                          scale_weights=scale_weights)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_IMAGE_TASKS, input_kind="images",
          peer="1 - pytorch_msssim.ms_ssim; piq.MultiScaleSSIMLoss",
          references=(_WANG03, _ZHAO17, SURVEY))
@loss_function(static=_MS_STATIC, ranges=_MS_RANGES)
def ms_ssim_loss(predictions, targets, *, data_range, kernel_size=11, kernel_sigma=1.5,
                 k1=0.01, k2=0.03, scale_weights=None, weights=None, where=None,
                 reduction="mean"):
  r"""MS-SSIM loss ``1 - MS-SSIM`` per image.

  .. math::
    \ell_b = 1 - \mathrm{MS\text{-}SSIM}(p_b, t_b)

  See :func:`jaxloss.ms_ssim` for the index, the pooling and the clamping.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``min(H, W) > 160`` for
      the default 5 scales and 11-pixel window.
    targets: images of the same shape.
    data_range: value range of the images; required, > 0.
    kernel_size: odd Gaussian window size (default 11), static.
    kernel_sigma: window standard deviation (default 1.5).
    k1: luminance constant (default 0.01).
    k2: contrast constant (default 0.03).
    scale_weights: per-scale exponents (default Wang et al.'s five).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: as :func:`jaxloss.ms_ssim`, notably images too small for
      the number of scales.

  Notes:
    kornia's ``MS_SSIMLoss`` is a different objective (the Zhao et al. mix,
    see :func:`jaxloss.l1_ssim_loss`).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 176 * 176).reshape(1, 176, 176, 1)
    >>> print(jaxloss.ms_ssim_loss(x, x ** 2, data_range=1.0))
    0.074843
  """
  values = 1.0 - _ms_ssim_index("ms_ssim_loss", predictions, targets, where,
                                data_range=data_range, kernel_size=kernel_size,
                                kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                                scale_weights=scale_weights)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_IMAGE_TASKS, input_kind="images",
          peer="Zhao et al. 2017 Mix (ssim_weight 0.84); kornia MS_SSIMLoss is a Gaussian-L1 "
               "variant (alpha 0.025)",
          references=(_ZHAO17 + " (\"Mix\" loss, alpha = 0.84)", _WANG03, SURVEY),
          components=("ssim", "l1"))
@loss_function(static=(*_MS_STATIC, "return_components"),
               ranges={**_MS_RANGES, "ssim_weight": ">= 0", "l1_weight": ">= 0"})
def l1_ssim_loss(predictions, targets, *, data_range, ssim_weight=0.84, l1_weight=0.16,
                 kernel_size=11, kernel_sigma=1.5, k1=0.01, k2=0.03, scale_weights=None,
                 return_components=False, weights=None, where=None, reduction="mean"):
  r"""Mixed MS-SSIM + L1 loss of Zhao et al. (2017), per image.

  .. math::
    \ell_b = \lambda_{ssim}\,\big(1 - \mathrm{MS\text{-}SSIM}(p_b, t_b)\big)
      + \lambda_{l1}\,\frac{1}{N}\sum_i \frac{|p_{b,i} - t_{b,i}|}{L}

  The L1 term is divided by ``data_range`` ``L`` so that both terms are on
  the [0, 1] scale the paper uses; ``N`` is the number of entries of an
  image. The paper weights the L1 error of each patch's centre pixel by a
  Gaussian; averaged over every position with a normalised window that is
  the plain mean (up to borders), which is what is used here, as in most
  re-implementations.

  Args:
    predictions: floating images ``(..., H, W, C)`` with ``min(H, W) > 160``
      for the default scales.
    targets: images of the same shape.
    data_range: value range of the images; required, > 0.
    ssim_weight: weight :math:`\lambda_{ssim}` of the MS-SSIM term (default
      0.84, the paper's), >= 0; may be traced.
    l1_weight: weight :math:`\lambda_{l1}` of the L1 term (default 0.16,
      the paper's), >= 0; may be traced.
    kernel_size: odd Gaussian window size (default 11), static.
    kernel_sigma: window standard deviation (default 1.5).
    k1: luminance constant (default 0.01).
    k2: contrast constant (default 0.03).
    scale_weights: MS-SSIM per-scale exponents (default Wang et al.'s five).
    return_components: also return the unweighted parts (default False),
      static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none" (applied to every part).

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none". With
    ``return_components=True`` the pair ``(total, {"ssim": ..., "l1": ...})``,
    the parts reduced the same way: ``ssim`` is the loss term
    ``1 - MS-SSIM`` and ``l1`` the normalised mean absolute error, both
    unweighted (``total = ssim_weight * ssim + l1_weight * l1``).

  Raises:
    LossInputError: as :func:`jaxloss.ms_ssim_loss`; a concrete negative
      ``ssim_weight`` or ``l1_weight``.

  Notes:
    The paper's mixing coefficient ``alpha`` is ``ssim_weight``, with
    ``l1_weight = 1 - alpha``. kornia's ``MS_SSIMLoss`` mixes with a
    Gaussian-weighted L1, ``alpha=0.025`` and a factor 200.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 176 * 176).reshape(1, 176, 176, 1)
    >>> total, parts = jaxloss.l1_ssim_loss(x, x ** 2, data_range=1.0, return_components=True)
    >>> print(total, parts["ssim"], parts["l1"])
    0.0895 0.0748 0.1667
  """
  ms = 1.0 - _ms_ssim_index("l1_ssim_loss", predictions, targets, where,
                            data_range=data_range, kernel_size=kernel_size,
                            kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                            scale_weights=scale_weights)
  x, y = _image_pair(predictions, targets, where)
  l1 = jnp.mean(jnp.abs(x - y), axis=_IMAGE_AXES) / jnp.asarray(data_range, x.dtype)
  values = jnp.asarray(ssim_weight, x.dtype) * ms + jnp.asarray(l1_weight, x.dtype) * l1
  total = reduce_loss(values, reduction, where=where, weights=weights)
  if not return_components:
    return total
  return total, {"ssim": reduce_loss(ms, reduction, where=where, weights=weights),
                 "l1": reduce_loss(l1, reduction, where=where, weights=weights)}
