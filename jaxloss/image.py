"""Image fidelity losses: structural (SSIM, MS-SSIM), PSNR, smoothness, spectral, inpainting.

Conventions of this module:

* Images are floating arrays ``(..., H, W, C)`` (channels last, Flax's NHWC);
  every leading axis is a batch axis, so one image ``(H, W, C)`` works and
  ``jax.vmap`` over the batch equals the batched call. The unreduced loss
  (``reduction="none"``) has one value per image, shape ``(...)``.
* ``data_range`` (the value range of the images: 1.0 for [0, 1], 255.0 for
  8-bit) is a *required* keyword of every loss that needs it: pytorch-msssim's
  silent default of 255 on [0, 1] images gives SSIM ~0.9998 for anything.
* ``where`` (boolean, shape ``(...)``) excludes whole images; ``weights``
  scales them. bfloat16/float16 images are computed in float32.

Why not build on dm-pix. dm-pix's ``ssim`` filters with ``jnp.convolve``
vmapped over rows, has no "same" padding, no contrast-structure output
(needed for MS-SSIM) and no reduction/``where``; the Gaussian filter here is
a separable 11-tap weighted sum of shifted slices that XLA fuses, applied to
the five moment maps stacked into one array (one pass instead of five), and
``benchmarks/bench_image.py`` times it against ``dm_pix.ssim``. Adding a
runtime dependency for a 20-line filter was not worth it; the tests compare
with dm-pix when it is installed.

The Charbonnier loss of image restoration is :func:`jaxloss.charbonnier_loss`
(regression family); it is not redefined here.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_min_rank,
    check_same_shape,
    debug_check_probabilities,
    loss_function,
    reduce_loss,
)
from jaxloss.catalog import register

__all__ = [
    "focal_frequency_loss", "gradient_loss", "l1_ssim_loss", "masked_reconstruction_loss",
    "ms_ssim", "ms_ssim_loss", "psnr", "psnr_loss", "ssim", "ssim_loss",
    "total_variation_loss",
]

# Wang, Simoncelli & Bovik 2003, Table/Sec. 3.2: weights of the 5 scales.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_IMAGE_AXES = (-3, -2, -1)


# --------------------------------------------------------------------------
# Shared helpers.
# --------------------------------------------------------------------------


def _image_pair(predictions, targets, where):
  """Validates an image pair and returns both, masked, in the compute dtype."""
  check_floating("predictions", predictions)
  check_min_rank("predictions", predictions, 3, "(..., H, W, C) images")
  check_same_shape("predictions", predictions, "targets", targets)
  dtype = nx.compute_dtype(predictions, targets)
  # Masked images are replaced by zeros *before* any arithmetic, so a NaN in
  # an excluded image reaches neither the value nor the gradient.
  x = nx.mask_fill(predictions.astype(dtype), where, trailing=3)
  y = nx.mask_fill(jnp.asarray(targets).astype(dtype), where, trailing=3)
  return x, y


def _gaussian_window(size: int, sigma, dtype):
  coords = jnp.arange(size, dtype=dtype) - (size // 2)
  sigma = jnp.asarray(sigma, dtype)
  g = jnp.exp(-(coords * coords) / (2.0 * sigma * sigma))
  return g / jnp.sum(g)


def _correlate(x, window, axis: int):
  """Valid 1-D correlation of ``x`` with ``window`` along ``axis`` (>= 0).

  A weighted sum of shifted slices: XLA fuses it into one elementwise pass.
  """
  k = window.shape[0]
  n = x.shape[axis] - k + 1
  out = window[0] * jax.lax.slice_in_dim(x, 0, n, axis=axis)
  for i in range(1, k):
    out = out + window[i] * jax.lax.slice_in_dim(x, i, i + n, axis=axis)
  return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _filter_valid(x, window, axis: int):
  """:func:`_correlate` with a hand-written VJP.

  Autodiff of the shifted slices builds one padded full-size array per tap
  (5x the temporary memory and ~2x the time on CPU); the transpose of a
  valid correlation is the full correlation with the reversed window, which
  is again one fused pass over the zero-padded cotangent.
  """
  return _correlate(x, window, axis)


def _filter_fwd(x, window, axis):
  return _correlate(x, window, axis), (x, window)


def _filter_bwd(axis, res, g):
  x, window = res
  k = window.shape[0]
  pad = [(0, 0)] * g.ndim
  pad[axis] = (k - 1, k - 1)
  gx = _correlate(jnp.pad(g, pad), window[::-1], axis)
  # Cotangent of the window (a traced kernel_sigma); dead code, removed by
  # XLA, when the window is a constant.
  n = g.shape[axis]
  gw = jnp.stack([jnp.sum(g * jax.lax.slice_in_dim(x, i, i + n, axis=axis)) for i in range(k)])
  return gx, gw.astype(window.dtype)


_filter_valid.defvjp(_filter_fwd, _filter_bwd)


def _check_spatial(name, shape, kernel_size, padding):
  h, w = shape[-3], shape[-2]
  need = kernel_size if padding == "valid" else kernel_size // 2 + 1
  if min(h, w) < need:
    raise LossInputError(
        f"{name} has shape {tuple(shape)}: spatial size ({h}, {w}) is too small "
        f"for kernel_size={kernel_size} with padding={padding!r}; expected H, W >= {need}")


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
  f = _filter_valid(_filter_valid(stack, window, nd - 4), window, nd - 3)
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


def _images_example(key, shape=(3, 24, 20, 2)):
  k1, k2 = jax.random.split(key)
  t = ex.uniform(k1, shape)
  p = jnp.clip(t + 0.2 * ex.normal(k2, shape), 0.0, 1.0)
  return p, t


def _ssim_example(key):
  p, t = _images_example(key)
  return (p, t), {"data_range": 1.0}


def _ssim_edges(key):
  p, t = _images_example(key)
  kw = {"data_range": 1.0}
  return [((t, t), kw),                                        # identical
          ((jnp.zeros_like(t), jnp.zeros_like(t)), kw),        # constant, zero variance
          ((jnp.full_like(t, 0.5), t), kw),                    # one constant image
          ((1.0 - t, t), kw),                                  # negative structure
          ((t + 1e-7, t), kw),                                 # round-off level difference
          ((255.0 * p, 255.0 * t), {"data_range": 255.0}),
          ((p, t), {"data_range": 1.0, "padding": "same"})]


_SURVEY = ("Elharrouss et al., Loss Functions in Deep Learning: A Comprehensive Review, "
           "arXiv:2504.04242, 2025")
_WANG04 = ("Wang, Bovik, Sheikh & Simoncelli, Image Quality Assessment: From Error Visibility "
           "to Structural Similarity, IEEE TIP 2004")
_WANG03 = ("Wang, Simoncelli & Bovik, Multiscale Structural Similarity for Image Quality "
           "Assessment, Asilomar 2003")
_ZHAO17 = ("Zhao, Gallo, Frosio & Kautz, Loss Functions for Image Restoration with Neural "
           "Networks, IEEE TCI 2017")

_IMAGE_TASKS = ("image restoration", "image-to-image generation", "image dehazing",
                "super-resolution", "denoising")


# --------------------------------------------------------------------------
# SSIM.
# --------------------------------------------------------------------------


@register(family="image", tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="pytorch_msssim.ssim / piq.ssim(downsample=False) / dm_pix.ssim (a metric: higher is better)",
          references=(_WANG04,),
          efficiency=("medium", "5 Gaussian-filtered moment maps, separable 11-tap filter"),
          complexity=("medium", "window, constants, padding and data_range to get right"),
          stability=("high", "denominators >= C1, C2 > 0; finite gradient at identical images"),
          example=_ssim_example, edge_cases=_ssim_edges, grad_argnums=(0, 1))
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

  References:
    Wang et al. 2004. Matches ``pytorch_msssim.ssim(size_average=False)``
    (channels averaged), ``piq.ssim(downsample=False)``,
    ``monai.metrics.SSIMMetric`` and ``dm_pix.ssim``; ``padding="same"``
    matches ``kornia.metrics.ssim(padding="same")`` averaged (without its
    ``eps=1e-12``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16).reshape(1, 16, 16, 1)
    >>> print(jaxloss.ssim(x, x, data_range=1.0), jaxloss.ssim(x, x ** 2, data_range=1.0))
    1.0 0.7792212
  """
  values = _ssim_index(predictions, targets, where, data_range=data_range,
                       kernel_size=kernel_size, kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                       padding=padding)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(family="image", tasks=_IMAGE_TASKS, input_kind="images",
          peer="piq.ssim(downsample=False) / monai SSIMLoss (1 - SSIM); kornia ssim_loss is (1 - SSIM)/2",
          references=(_WANG04, _ZHAO17, _SURVEY),
          efficiency=("medium", "5 Gaussian-filtered moment maps, separable 11-tap filter"),
          complexity=("medium", "window, constants, padding and data_range to get right"),
          stability=("high", "denominators >= C1, C2 > 0; finite gradient at identical images"),
          example=_ssim_example, edge_cases=_ssim_edges, grad_argnums=(0, 1))
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

  References:
    Wang et al. 2004; Zhao et al. 2017 (SSIM as a training loss). Matches
    ``piq.SSIMLoss(downsample=False)`` and ``monai.losses.SSIMLoss``
    (``1 - SSIM``). kornia's ``ssim_loss`` is ``clamp((1 - SSIM_map) / 2, 0, 1)``
    averaged, i.e. half this loss (with ``padding="same"``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16).reshape(1, 16, 16, 1)
    >>> print(jaxloss.ssim_loss(x, x ** 2, data_range=1.0))
    0.22077882
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


def _safe_pow(v, w):
  """``max(v, 0) ** w`` with a zero (not NaN/inf) gradient where ``v <= 0``."""
  positive = v > 0
  safe_v = jnp.where(positive, v, jnp.ones_like(v))
  return jnp.where(positive, safe_v ** w, jnp.zeros_like(v))


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
    term = _safe_pow(term, scale_weights[level])
    value = term if value is None else value * term
  return jnp.mean(value, axis=-1)  # channels


_MS_STATIC = ("kernel_size",)
_MS_RANGES = {"data_range": "> 0", "kernel_sigma": "> 0", "k1": ">= 0", "k2": "> 0",
              "kernel_size": ">= 1"}


# Three scales keep the catalog example small (the contract tests compile it
# many times); tests/test_image.py covers the default five scales.
_MS_EXAMPLE_SCALES = (0.2, 0.3, 0.5)


def _ms_example(key):
  p, t = _images_example(key, (2, 45, 50, 1))
  return (p, t), {"data_range": 1.0, "scale_weights": _MS_EXAMPLE_SCALES}


def _ms_edges(key):
  p, t = _images_example(key, (2, 45, 50, 1))
  kw = {"data_range": 1.0, "scale_weights": _MS_EXAMPLE_SCALES}
  return [((t, t), kw), ((jnp.zeros_like(t), jnp.zeros_like(t)), kw),
          ((1.0 - t, t), kw), ((t + 1e-7, t), kw),
          ((jnp.full_like(t, 0.5), t), kw)]


def _ms_bad(key):
  p, t = _images_example(key, (2, 64, 64, 1))  # too small for the default 5 scales
  return (p, t), {"data_range": 1.0}


@register(family="image", tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="pytorch_msssim.ms_ssim / piq.multi_scale_ssim (a metric: higher is better)",
          references=(_WANG03,),
          efficiency=("medium", "SSIM at 5 scales (~1.33x one SSIM)"),
          complexity=("medium", "pooling, clamping and the image-size constraint"),
          stability=("medium", "fractional powers; clamped terms get a zero gradient"),
          example=_ms_example, edge_cases=_ms_edges, grad_argnums=(0, 1),
          bad_input=_ms_bad)
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

  References:
    Wang et al. 2003. Matches ``pytorch_msssim.ms_ssim(size_average=False)``
    and ``piq.multi_scale_ssim`` (weights and pooling) except for the finite
    gradient at clamped terms.

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


@register(family="image", tasks=_IMAGE_TASKS, input_kind="images",
          peer="1 - pytorch_msssim.ms_ssim; piq.MultiScaleSSIMLoss",
          references=(_WANG03, _ZHAO17, _SURVEY),
          efficiency=("medium", "SSIM at 5 scales (~1.33x one SSIM)"),
          complexity=("medium", "pooling, clamping and the image-size constraint"),
          stability=("medium", "fractional powers; clamped terms get a zero gradient"),
          example=_ms_example, edge_cases=_ms_edges, grad_argnums=(0, 1),
          bad_input=_ms_bad)
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

  References:
    Wang et al. 2003; Zhao et al. 2017. Matches ``1 - pytorch_msssim.ms_ssim``
    and ``piq.MultiScaleSSIMLoss``. kornia's ``MS_SSIMLoss`` is a different
    objective (the Zhao et al. mix, see :func:`jaxloss.l1_ssim_loss`).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 176 * 176).reshape(1, 176, 176, 1)
    >>> print(jaxloss.ms_ssim_loss(x, x ** 2, data_range=1.0))
    0.07484266
  """
  values = 1.0 - _ms_ssim_index("ms_ssim_loss", predictions, targets, where,
                                data_range=data_range, kernel_size=kernel_size,
                                kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                                scale_weights=scale_weights)
  return reduce_loss(values, reduction, where=where, weights=weights)


def _l1_ssim_example(key):
  (p, t), kw = _ms_example(key)
  return (p, t), kw


def _l1_ssim_edges(key):
  return _ms_edges(key)


@register(family="image", tasks=_IMAGE_TASKS, input_kind="images",
          peer="Zhao et al. 2017 Mix (alpha 0.84); kornia MS_SSIMLoss is a Gaussian-L1 variant (alpha 0.025)",
          references=(_ZHAO17, _WANG03, _SURVEY),
          efficiency=("medium", "MS-SSIM plus one elementwise pass"),
          complexity=("medium", "two terms, one mixing weight"),
          stability=("medium", "as MS-SSIM; the L1 part has a bounded gradient"),
          example=_l1_ssim_example, edge_cases=_l1_ssim_edges, grad_argnums=(0, 1),
          per_example=False, where_trailing=None, bad_input=_ms_bad)
@loss_function(static=_MS_STATIC, ranges={**_MS_RANGES, "alpha": "[0, 1]"})
def l1_ssim_loss(predictions, targets, *, data_range, alpha=0.84, kernel_size=11,
                 kernel_sigma=1.5, k1=0.01, k2=0.03, scale_weights=None):
  r"""Mixed MS-SSIM + L1 loss of Zhao et al. (2017), returning its parts.

  .. math::
    \mathcal{L} = \alpha\,\big(1 - \mathrm{MS\text{-}SSIM}(p, t)\big)
      + (1 - \alpha)\,\frac{1}{N}\sum_i \frac{|p_i - t_i|}{L}

  The L1 term is divided by ``data_range`` ``L`` so that both terms are on
  the [0, 1] scale the paper uses. The paper weights the L1 error of each
  patch's centre pixel by a Gaussian; averaged over every position with a
  normalised window that is the plain mean (up to borders), which is what is
  used here, as in most re-implementations.

  Args:
    predictions: floating images ``(..., H, W, C)`` with ``min(H, W) > 160``
      for the default scales.
    targets: images of the same shape.
    data_range: value range of the images; required, > 0.
    alpha: weight of the MS-SSIM term in [0, 1] (default 0.84, the paper's).
    kernel_size: odd Gaussian window size (default 11), static.
    kernel_sigma: window standard deviation (default 1.5).
    k1: luminance constant (default 0.01).
    k2: contrast constant (default 0.03).
    scale_weights: MS-SSIM per-scale exponents (default Wang et al.'s five).

  Returns:
    ``(total, {"l1": l1, "ms_ssim": ms})``: scalars averaged over all images;
    ``ms`` is the loss part ``1 - MS-SSIM`` and ``l1`` the normalised mean
    absolute error (unweighted), ``total = alpha * ms + (1 - alpha) * l1``.
    There is no ``reduction``/``where`` (vmap it for per-image values).

  Raises:
    LossInputError: as :func:`jaxloss.ms_ssim_loss`; concrete ``alpha``
      outside [0, 1].

  References:
    Zhao et al. 2017 ("Mix" loss, alpha = 0.84). kornia's ``MS_SSIMLoss``
    mixes with a Gaussian-weighted L1, ``alpha=0.025`` and a factor 200.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 176 * 176).reshape(1, 176, 176, 1)
    >>> total, parts = jaxloss.l1_ssim_loss(x, x ** 2, data_range=1.0)
    >>> print(total, parts["l1"], parts["ms_ssim"])
    0.0895 0.1667 0.0748
  """
  ms = 1.0 - _ms_ssim_index("l1_ssim_loss", predictions, targets, None,
                            data_range=data_range, kernel_size=kernel_size,
                            kernel_sigma=kernel_sigma, k1=k1, k2=k2,
                            scale_weights=scale_weights)
  x, y = _image_pair(predictions, targets, None)
  l1 = jnp.mean(jnp.abs(x - y)) / jnp.asarray(data_range, x.dtype)
  ms = jnp.mean(ms)
  alpha = jnp.asarray(alpha, x.dtype)
  total = alpha * ms + (1.0 - alpha) * l1
  return total, {"l1": l1, "ms_ssim": ms}


# --------------------------------------------------------------------------
# PSNR.
# --------------------------------------------------------------------------


def _psnr_values(predictions, targets, where, data_range, eps):
  x, y = _image_pair(predictions, targets, where)
  d = (x - y) / jnp.asarray(data_range, x.dtype)
  mse = jnp.mean(d * d, axis=_IMAGE_AXES)
  # eps keeps identical images finite (80 dB for eps=1e-8) with gradient 0.
  return -10.0 * jnp.log10(mse + jnp.asarray(eps, x.dtype))


def _psnr_edges(key):
  p, t = _images_example(key)
  kw = {"data_range": 1.0}
  return [((t, t), kw), ((t + 1e-7, t), kw), ((255.0 * p, 255.0 * t), {"data_range": 255.0})]


@register(family="image", tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="piq.psnr (a metric: higher is better)",
          references=("Huynh-Thu & Ghanbari, Scope of validity of PSNR in image/video quality "
                      "assessment, Electronics Letters 2008",),
          efficiency=("high", "one elementwise pass and a log per image"),
          complexity=("low", "data_range only"),
          stability=("high", "eps keeps identical images finite"),
          example=_ssim_example, edge_cases=_psnr_edges, grad_argnums=(0, 1))
@loss_function(ranges={"data_range": "> 0", "eps": ">= 0"})
def psnr(predictions, targets, *, data_range, eps=1e-8, weights=None, where=None,
         reduction="mean"):
  r"""Peak signal-to-noise ratio in dB per image; higher is better (a metric).

  .. math::
    \mathrm{PSNR}_b = -10 \log_{10}\Big(\frac{1}{HWC}\sum_i
      \frac{(p_{b,i} - t_{b,i})^2}{L^2} + \varepsilon\Big)

  The MSE is taken per image (as piq; kornia's ``psnr`` uses the MSE of the
  whole batch). ``eps = 1e-8`` (piq's) caps identical images at 80 dB;
  ``eps=0`` gives ``inf`` there.

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    data_range: value range ``L`` of the images; required, > 0.
    eps: added to the normalised MSE (default 1e-8), >= 0.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, concrete ``data_range <= 0``.

  References:
    Matches ``piq.psnr`` (per-image MSE, ``EPS = 1e-8``).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.psnr(jnp.full((1, 4, 4, 1), 0.1), jnp.zeros((1, 4, 4, 1)), data_range=1.0))
    19.999998
  """
  values = _psnr_values(predictions, targets, where, data_range, eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(family="image", tasks=_IMAGE_TASKS, input_kind="images",
          peer="kornia.losses.psnr_loss (-PSNR; per-image MSE as piq.psnr)",
          references=("Huynh-Thu & Ghanbari, Scope of validity of PSNR in image/video quality "
                      "assessment, Electronics Letters 2008", _SURVEY),
          efficiency=("high", "one elementwise pass and a log per image"),
          complexity=("low", "data_range only"),
          stability=("high", "eps keeps identical images finite; gradient ~ 1/MSE grows near 0"),
          example=_ssim_example, edge_cases=_psnr_edges, grad_argnums=(0, 1))
@loss_function(ranges={"data_range": "> 0", "eps": ">= 0"})
def psnr_loss(predictions, targets, *, data_range, eps=1e-8, weights=None, where=None,
              reduction="mean"):
  r"""PSNR loss: the negative PSNR in dB per image.

  .. math::
    \ell_b = 10 \log_{10}\Big(\frac{1}{HWC}\sum_i \frac{(p_{b,i} - t_{b,i})^2}{L^2}
      + \varepsilon\Big)

  Minimising it is minimising the log of each image's MSE. See
  :func:`jaxloss.psnr`.

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    data_range: value range ``L`` of the images; required, > 0.
    eps: added to the normalised MSE (default 1e-8), >= 0.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, concrete ``data_range <= 0``.

  References:
    Matches ``kornia.losses.psnr_loss`` (``-PSNR``) but with a per-image MSE
    (kornia: one MSE over the batch) and piq's ``eps``.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.psnr_loss(jnp.full((1, 4, 4, 1), 0.1), jnp.zeros((1, 4, 4, 1)),
    ...                         data_range=1.0))
    -19.999998
  """
  values = -_psnr_values(predictions, targets, where, data_range, eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Smoothness and gradients.
# --------------------------------------------------------------------------


def _single_example(key):
  return (ex.uniform(key, (3, 12, 10, 2)),), {}


def _single_edges(key):
  x = ex.uniform(key, (3, 12, 10, 2))
  return [((jnp.zeros_like(x),), {}),                       # constant: sqrt at 0
          ((jnp.zeros_like(x),), {"mode": "isotropic"}),
          ((x,), {"mode": "isotropic"}),
          ((x * 1e4,), {"mode": "isotropic", "normalize": True})]


def _single_bad(key):
  return (ex.uniform(key, (12, 10)),), {}


@register(family="image", tasks=("image restoration", "style transfer", "denoising",
                                  "image inpainting"),
          input_kind="images",
          peer="kornia.losses.total_variation (anisotropic, summed over channels); "
               "isotropic: Rudin-Osher-Fatemi / Chambolle forward differences",
          references=("Rudin, Osher & Fatemi, Nonlinear total variation based noise removal "
                      "algorithms, Physica D 1992",
                      "Chambolle, An algorithm for total variation minimization, JMIV 2004",
                      _SURVEY),
          efficiency=("high", "one pass of neighbour differences"),
          complexity=("low", "no hyperparameter"),
          stability=("high", "L1 kink at 0; isotropic sqrt made safe at 0"),
          example=_single_example, edge_cases=_single_edges, bad_input=_single_bad)
@loss_function(static=("mode", "normalize"),
               choices={"mode": ("anisotropic", "isotropic"), "normalize": (False, True)})
def total_variation_loss(images, *, mode="anisotropic", normalize=False, weights=None,
                         where=None, reduction="mean"):
  r"""Total variation of each image (a smoothness regulariser; no target).

  .. math::
    \text{anisotropic: } \sum_{i,j,c} |x_{i+1,j,c} - x_{i,j,c}| + |x_{i,j+1,c} - x_{i,j,c}|
    \qquad
    \text{isotropic: } \sum_{i,j,c} \sqrt{(\nabla_h x)_{i,j,c}^2 + (\nabla_w x)_{i,j,c}^2}

  The isotropic form uses forward differences that are 0 past the last
  row/column (Chambolle 2004), per channel, with a square root whose gradient
  is 0 (not NaN) on flat regions. ``normalize=True`` divides each direction's
  sum by its number of differences (kornia's ``reduction="mean"``, averaged
  over channels) for the anisotropic form, and the isotropic sum by
  ``H * W * C``.

  Args:
    images: floating images ``(..., H, W, C)``.
    mode: "anisotropic" (default, L1 of neighbour differences) |
      "isotropic" (pixelwise L2 of the gradient), static.
    normalize: average instead of sum within each image (default False),
      static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none" over images.

  Returns:
    A scalar for "mean"/"sum"; ``images.shape[:-3]`` for "none".

  Raises:
    LossInputError: rank < 3.
    LossTypeError: ``images`` is not floating.

  References:
    Rudin et al. 1992; Chambolle 2004. The anisotropic sum matches
    ``kornia.losses.total_variation(reduction="sum")`` summed over channels.
    piq's ``total_variation(norm_type="l2")`` is a different, global form
    (the square root of all squared differences of an image).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 1.], [1., 1.]]).reshape(1, 2, 2, 1)
    >>> print(jaxloss.total_variation_loss(x), jaxloss.total_variation_loss(x, mode="isotropic"))
    2.0 1.4142135
  """
  check_floating("images", images)
  check_min_rank("images", images, 3, "(..., H, W, C) images")
  x = nx.mask_fill(images.astype(nx.compute_dtype(images)), where, trailing=3)
  dh = x[..., 1:, :, :] - x[..., :-1, :, :]
  dw = x[..., :, 1:, :] - x[..., :, :-1, :]
  if mode == "anisotropic":
    agg = jnp.mean if normalize else jnp.sum
    values = agg(jnp.abs(dh), axis=_IMAGE_AXES) + agg(jnp.abs(dw), axis=_IMAGE_AXES)
  else:
    lead = [(0, 0)] * (x.ndim - 3)
    dh = jnp.pad(dh, lead + [(0, 1), (0, 0), (0, 0)])
    dw = jnp.pad(dw, lead + [(0, 0), (0, 1), (0, 0)])
    mag = nx.safe_sqrt(dh * dh + dw * dw)
    values = (jnp.mean if normalize else jnp.sum)(mag, axis=_IMAGE_AXES)
  return reduce_loss(values, reduction, where=where, weights=weights)


def _grad_example(key):
  p, t = _images_example(key, (3, 12, 10, 2))
  return (p, t), {}


def _grad_edges(key):
  p, t = _images_example(key, (3, 12, 10, 2))
  return [((t, t), {}), ((p + 5.0, p), {}), ((p * 1e4, t), {})]


@register(family="image", tasks=("image restoration", "super-resolution", "depth estimation",
                                  "image dehazing"),
          input_kind="images",
          peer="L1 between forward-difference image gradients (edge loss); no single peer function",
          references=("Mathieu, Couprie & LeCun, Deep multi-scale video prediction beyond mean "
                      "square error (gradient difference loss), ICLR 2016", _SURVEY),
          efficiency=("high", "one pass of neighbour differences"),
          complexity=("low", "no hyperparameter"),
          stability=("high", "bounded L1 gradient"),
          example=_grad_example, edge_cases=_grad_edges, grad_argnums=(0, 1))
@loss_function
def gradient_loss(predictions, targets, *, weights=None, where=None, reduction="mean"):
  r"""Image-gradient (edge) L1 loss between prediction and target.

  .. math::
    \ell_b = \operatorname{mean}_{i,j,c}|\nabla_h p - \nabla_h t|
           + \operatorname{mean}_{i,j,c}|\nabla_w p - \nabla_w t|

  Forward differences along H and W; each direction is averaged over its own
  number of differences. It is blind to a constant offset between the images
  (pair it with a pixel loss). This is the alpha = 1 gradient difference loss
  of Mathieu et al. in its common "difference of gradients" form (their
  paper compares gradient *magnitudes*, ``||∇p| - |∇t||``).

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch or rank < 3.

  References:
    Mathieu et al. 2016 (gradient difference loss).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.array([[0., 1.], [0., 1.]]).reshape(1, 2, 2, 1)
    >>> print(jaxloss.gradient_loss(p, jnp.zeros_like(p)), jaxloss.gradient_loss(p + 3., p))
    1.0 0.0
  """
  x, y = _image_pair(predictions, targets, where)
  d = x - y  # gradients are linear: grad(p) - grad(t) = grad(p - t)
  dh = jnp.abs(d[..., 1:, :, :] - d[..., :-1, :, :])
  dw = jnp.abs(d[..., :, 1:, :] - d[..., :, :-1, :])
  values = jnp.mean(dh, axis=_IMAGE_AXES) + jnp.mean(dw, axis=_IMAGE_AXES)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Focal frequency loss.
# --------------------------------------------------------------------------


def _ffl_example(key):
  p, t = _images_example(key, (3, 8, 12, 2))
  return (p, t), {}


def _ffl_edges(key):
  p, t = _images_example(key, (3, 8, 12, 2))
  return [((t, t), {}), ((p, t), {"patch_factor": 2, "log_matrix": True}),
          ((p, t), {"alpha": 0.0}), ((t, t), {"batch_matrix": True}),
          ((p * 1e3, t), {"alpha": 2.0})]


@register(family="image", tasks=("image reconstruction", "image synthesis",
                                  "image-to-image generation"),
          input_kind="images",
          peer="focal_frequency_loss.FocalFrequencyLoss (official; loss_weight=1)",
          references=("Jiang, Dai, Wu & Loy, Focal Frequency Loss for Image Reconstruction and "
                      "Synthesis, ICCV 2021", _SURVEY),
          efficiency=("medium", "two FFTs per image, O(HW log HW)"),
          complexity=("medium", "patching, spectrum weight normalisation"),
          stability=("high", "weights are stop-gradient and clamped to [0, 1]"),
          example=_ffl_example, edge_cases=_ffl_edges, grad_argnums=(0, 1))
@loss_function(static=("patch_factor", "log_matrix", "batch_matrix"),
               ranges={"alpha": ">= 0", "patch_factor": ">= 1"})
def focal_frequency_loss(predictions, targets, *, alpha=1.0, patch_factor=1, log_matrix=False,
                         batch_matrix=False, weights=None, where=None, reduction="mean"):
  r"""Focal frequency loss (Jiang et al. 2021): a spectrum-weighted frequency distance.

  .. math::
    \ell_b = \frac{1}{P C h w}\sum_{p,c,u,v} w_{p,c,u,v}\,|F_p(u,v) - T_p(u,v)|^2,
    \quad w = \operatorname{sg}\Big[\frac{|F - T|^\alpha}{\max_{u,v} |F - T|^\alpha}\Big]

  ``F``, ``T`` are the orthonormal 2-D DFTs of each channel of the
  ``patch_factor**2`` non-overlapping ``h x w`` patches of the prediction and
  the target. The weight matrix is normalised by its maximum per patch and
  channel (or over the whole batch with ``batch_matrix=True``), optionally
  after ``log(1 + .)`` (``log_matrix``), set to 0 where the maximum is 0,
  clamped to [0, 1], and not differentiated (stop-gradient), all as in the
  official implementation.

  Args:
    predictions: floating images ``(..., H, W, C)``; ``H`` and ``W`` divisible
      by ``patch_factor``.
    targets: images of the same shape.
    alpha: exponent of the spectrum weight (default 1.0), >= 0.
    patch_factor: patches per side (default 1), static.
    log_matrix: log-scale the weight matrix (default False), static.
    batch_matrix: normalise the weights by the batch maximum (default False),
      static. This couples the images of a batch: per-image values then
      depend on the others (and ``vmap`` differs from the batched call).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none". The
    "mean" equals the official loss (one mean over everything).

  Raises:
    LossInputError: shape mismatch, rank < 3, ``H`` or ``W`` not divisible by
      ``patch_factor``.

  References:
    Jiang et al. 2021. Matches the official ``FocalFrequencyLoss`` with its
    defaults (``loss_weight=1``; ``ave_spectrum`` and a predefined ``matrix``
    are not offered).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> p = jnp.zeros((1, 2, 2, 1)).at[0, 0, 0, 0].set(1.)
    >>> print(jaxloss.focal_frequency_loss(p, jnp.zeros_like(p)))
    0.25
  """
  x, y = _image_pair(predictions, targets, where)
  h, w = x.shape[-3], x.shape[-2]
  pf = patch_factor
  if h % pf or w % pf:
    raise LossInputError(
        f"predictions has shape {x.shape}: H={h} and W={w} must be divisible by "
        f"patch_factor={pf}")
  lead = x.shape[:-3]
  c = x.shape[-1]

  def patches(a):  # (..., H, W, C) -> (..., P, C, h, w)
    a = a.reshape(lead + (pf, h // pf, pf, w // pf, c))
    n = len(lead)
    a = jnp.transpose(a, tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return a.reshape(lead + (pf * pf, c, h // pf, w // pf))

  diff = (jnp.fft.fft2(patches(x), norm="ortho")
          - jnp.fft.fft2(patches(y), norm="ortho"))
  dist = jnp.real(diff) ** 2 + jnp.imag(diff) ** 2
  wm = jax.lax.stop_gradient(dist)
  wm = jnp.power(nx.safe_sqrt(wm), jnp.asarray(alpha, wm.dtype))
  if log_matrix:
    wm = jnp.log1p(wm)
  if batch_matrix:
    peak = jnp.max(wm)
  else:
    peak = jnp.max(wm, axis=(-2, -1), keepdims=True)
  # 0/0 where prediction == target on a whole patch: the official code sets
  # the NaN weights to 0; safe_div does that without making them.
  wm = jnp.clip(nx.safe_div(wm, peak), 0.0, 1.0)
  wm = jax.lax.stop_gradient(wm)
  values = jnp.mean(wm * dist, axis=(-4, -3, -2, -1))
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# Inpainting.
# --------------------------------------------------------------------------


def _inpaint_example(key):
  k1, k2 = jax.random.split(key)
  p, t = _images_example(k1, (3, 12, 10, 3))
  mask = jax.random.bernoulli(k2, 0.7, (3, 12, 10, 1)).astype(jnp.float32)
  return (p, t, mask), {}


def _inpaint_edges(key):
  (p, t, m), _ = _inpaint_example(key)
  return [((t, t, m), {}), ((p, t, jnp.zeros_like(m)), {}), ((p, t, jnp.ones_like(m)), {}),
          ((p, t, m[..., 0] > 0.5), {"hole_weight": 0.0})]


@register(family="image", tasks=("image inpainting",), input_kind="images",
          peer="Liu et al. 2018 partial-conv L_hole / L_valid (NVIDIA inpainting loss)",
          references=("Liu, Reda, Shih, Wang, Tao & Catanzaro, Image Inpainting for Irregular "
                      "Holes Using Partial Convolutions, ECCV 2018", _SURVEY),
          efficiency=("high", "one elementwise pass"),
          complexity=("low", "two region weights"),
          stability=("high", "bounded L1 gradients"),
          example=_inpaint_example, edge_cases=_inpaint_edges, grad_argnums=(0,),
          per_example=False, where_trailing=None)
@loss_function(ranges={"hole_weight": ">= 0", "valid_weight": ">= 0"})
def masked_reconstruction_loss(predictions, targets, mask, *, hole_weight=6.0,
                               valid_weight=1.0):
  r"""Hole / valid L1 reconstruction loss for inpainting (Liu et al. 2018), with its parts.

  .. math::
    \mathcal{L}_{hole} = \frac{1}{N}\|(1 - M)\odot(p - t)\|_1,\quad
    \mathcal{L}_{valid} = \frac{1}{N}\|M\odot(p - t)\|_1,\quad
    \mathcal{L} = \lambda_{hole}\mathcal{L}_{hole} + \lambda_{valid}\mathcal{L}_{valid}

  ``M`` is 1 on known (valid) pixels and 0 in the holes, as in the paper;
  ``N`` is the number of elements of the target batch (both terms are means
  over *all* elements, not over each region, as the paper and its reference
  implementation normalise). The perceptual, style and TV terms of the paper
  are separate losses.

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    mask: 1 = valid, 0 = hole; boolean or float in [0, 1], of shape
      ``predictions.shape``, ``(..., H, W, 1)`` or ``(..., H, W)``.
    hole_weight: ``lambda_hole`` (default 6.0, the paper's), >= 0.
    valid_weight: ``lambda_valid`` (default 1.0), >= 0.

  Returns:
    ``(total, {"hole": hole, "valid": valid})``, scalars; the parts are
    unweighted. There is no ``reduction``/``where`` (the mask is the input).

  Raises:
    LossInputError: shape mismatch of ``targets`` or ``mask``.

  References:
    Liu et al. 2018, Eq. (1)-(2) with lambda_hole = 6, lambda_valid = 1.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> t = jnp.zeros((1, 2, 2, 1)); p = jnp.ones_like(t)
    >>> m = jnp.array([[1., 1.], [1., 0.]]).reshape(1, 2, 2, 1)
    >>> total, parts = jaxloss.masked_reconstruction_loss(p, t, m)
    >>> print(total, parts["hole"], parts["valid"])
    2.25 0.25 0.75
  """
  x, y = _image_pair(predictions, targets, None)
  m = jnp.asarray(mask)
  if m.shape == x.shape[:-1]:
    m = m[..., None]
  try:
    ok = jnp.broadcast_shapes(m.shape, x.shape) == x.shape and m.ndim == x.ndim
  except ValueError:
    ok = False
  if not ok:
    raise LossInputError(
        f"mask has shape {tuple(jnp.shape(mask))} but predictions has shape {x.shape}; "
        f"expected {x.shape}, {x.shape[:-1] + (1,)} or {x.shape[:-1]}")
  m = m.astype(x.dtype)
  debug_check_probabilities("mask", m)
  err = jnp.abs(x - y)
  n = err.size
  hole = jnp.sum((1.0 - m) * err) / n
  valid = jnp.sum(m * err) / n
  total = jnp.asarray(hole_weight, x.dtype) * hole + jnp.asarray(valid_weight, x.dtype) * valid
  return total, {"hole": hole, "valid": valid}
