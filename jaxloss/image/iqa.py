"""Full-reference image quality measures of piq as losses: GMSD, MS-GMSD, MDSI, HaarPSI, VIF, FSIM.

Each loss is the value of the corresponding ``piq`` (0.8) *loss class* per
image, re-derived from the papers and piq's formulas. The conventions are
those of :mod:`jaxloss.image`: images ``(..., H, W, C)`` channels last (piq is
NCHW ``(N, C, H, W)``: pass ``jnp.moveaxis(x, 1, -1)``), every leading axis a
batch axis, ``where``/``weights`` per image. Colour images are RGB
(``C == 3``); greyscale images have ``C == 1``; other channel counts are
rejected (piq fails on them too). ``data_range`` defaults to 1.0 as in piq;
piq asserts the values lie in ``[0, data_range]``, jaxloss does not check it.

Where piq's loss applies the reduction *before* turning the index into a loss
(``HaarPSILoss`` is ``1 - mean(HaarPSI)``, ``VIFLoss`` and ``FSIMLoss`` are
``1 - clamp(mean(index), 0, 1)``), jaxloss converts each image first and then
reduces: identical for ``reduction="mean"`` (VIF, FSIM: when every image's
index is in [0, 1]) and different for ``"sum"`` (piq's ``1 - sum``).

The square roots of piq (gradient magnitudes, standard deviations) have an
infinite derivative at 0, which makes torch's gradient NaN at identical or
flat images; here they are guarded (double ``where``), so value and gradient
are finite everywhere.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.image._common import _IMAGE_TASKS, _image_pair

__all__ = ["MS_GMSD_WEIGHTS", "fsim_loss", "gmsd_loss", "haarpsi_loss", "mdsi_loss", "ms_gmsd_loss",
           "vif_loss"]

_XUE14 = ("Xue, Zhang, Mou & Bovik, Gradient Magnitude Similarity Deviation: A Highly "
          "Efficient Perceptual Image Quality Index, IEEE TIP 2014")
_ZHANG17 = ("Zhang, Sander & Bermak, Gradient Magnitude Similarity Deviation on Multiple "
            "Scales for Color Image Quality Assessment, ICASSP 2017")
_NAFCHI16 = ("Nafchi, Shahkolaei, Hedjam & Cheriet, Mean Deviation Similarity Index: Efficient "
             "and Reliable Full-Reference Image Quality Evaluator, IEEE Access 2016")
_REISENHOFER18 = ("Reisenhofer, Bosse, Kutyniok & Wiegand, A Haar Wavelet-Based Perceptual "
                  "Similarity Index for Image Quality Assessment, Signal Processing: Image "
                  "Communication 2018")
_SHEIKH06 = ("Sheikh & Bovik, Image Information and Visual Quality, IEEE TIP 2006 "
             "(pixel-domain VIF, vifp)")
_ZHANG11 = ("Zhang, Zhang, Mou & Zhang, FSIM: A Feature Similarity Index for Image Quality "
            "Assessment, IEEE TIP 2011")
_IQA_TASKS = ("image quality assessment",) + _IMAGE_TASKS

# Luma of ITU-R BT.601 and the YIQ rows (piq.functional.rgb2yiq).
_YIQ = ((0.299, 0.587, 0.114),
        (0.5959, -0.2746, -0.3213),
        (0.2115, -0.5227, 0.3112))
# MDSI's LHM colour space (piq.functional.rgb2lhm).
_LHM = ((0.2989, 0.587, 0.114),
        (0.3, 0.04, -0.35),
        (0.34, -0.6, 0.17))

# MS-GMSD's scale weights (Zhang et al. 2017; piq's default).
MS_GMSD_WEIGHTS = (0.096, 0.596, 0.289, 0.019)


# --------------------------------------------------------------------------
# Shared helpers: (..., H, W, C) arrays throughout.
# --------------------------------------------------------------------------


def _pair(name, predictions, targets, where, *, channels=(1, 3), min_size=1):
  """Validated image pair; checks the channel count and the minimum spatial size."""
  x, y = _image_pair(predictions, targets, where)
  h, w, c = x.shape[-3:]
  if c not in channels:
    hint = ("RGB or greyscale, channels last" if len(channels) > 1 else
            "RGB, channels last: chromatic=True needs colour; pass chromatic=False for greyscale")
    raise LossInputError(
        f"predictions has shape {x.shape}: {c} channels; expected "
        f"{' or '.join(str(k) for k in channels)} ({hint})")
  if min(h, w) < min_size:
    raise LossInputError(
        f"predictions has shape {x.shape}: spatial size ({h}, {w}) is too small for "
        f"{name}; expected H, W >= {min_size}")
  return x, y


def _colour(x, matrix, rows):
  """Rows ``rows`` of a 3x3 colour transform applied to RGB ``(..., 3)``."""
  m = jnp.asarray([matrix[r] for r in rows], x.dtype)  # (k, 3)
  return jnp.einsum("...c,kc->...k", x, m)


def _pool2(x):
  """piq's 2x2 average pooling (stride 2) of ``(..., H, W, C)``.

  piq pads the bottom *and* right by ``max(H % 2, W % 2)`` zeros (counted in
  the average), then pools with floor: a padded odd side gains its last
  row/column averaged with zeros, a padded even side drops the pad.
  """
  h, w = x.shape[-3], x.shape[-2]
  p = max(h % 2, w % 2)
  x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(0, p), (0, p), (0, 0)])
  h2, w2 = (h + p) // 2, (w + p) // 2
  x = x[..., :2 * h2, :2 * w2, :]
  x = x.reshape(x.shape[:-3] + (h2, 2, w2, 2, x.shape[-1]))
  return jnp.mean(x, axis=(-4, -2))


def _shift_sum(x, axis, offsets):
  n = x.shape[axis] - (max(offsets) - min(offsets))
  lo = -min(offsets)
  return sum(jax.lax.slice_in_dim(x, lo + o, lo + o + n, axis=axis) for o in offsets)


def _prewitt_magnitude(x):
  """Prewitt gradient magnitude (zero padding, same size), per channel.

  The kernels are piq's ``[[-1, 0, 1]] * 3 / 3`` and its transpose; the
  square root is guarded so a flat region has gradient 0, not NaN.
  """
  nd = x.ndim
  ha, wa = nd - 3, nd - 2
  xp = jnp.pad(x, [(0, 0)] * (nd - 3) + [(1, 1), (1, 1), (0, 0)])
  rows = _shift_sum(xp, ha, (-1, 0, 1))          # (..., H, W + 2, C)
  cols = _shift_sum(xp, wa, (-1, 0, 1))          # (..., H + 2, W, C)
  w = x.shape[-2]
  h = x.shape[-3]
  gx = (jax.lax.slice_in_dim(rows, 2, w + 2, axis=wa)
        - jax.lax.slice_in_dim(rows, 0, w, axis=wa)) / 3.0
  gy = (jax.lax.slice_in_dim(cols, 2, h + 2, axis=ha)
        - jax.lax.slice_in_dim(cols, 0, h, axis=ha)) / 3.0
  return nx.safe_sqrt(gx * gx + gy * gy)


def _similarity(a, b, c, alpha=0.0):
  """piq's ``similarity_map``: ``(2ab - alpha ab + c) / (a^2 + b^2 - alpha ab + c)``."""
  ab = a * b
  return (2.0 * ab - alpha * ab + c) / (a * a + b * b - alpha * ab + c)


def _deviation_sq(gms):
  """Per-image variance (population) of a map ``(..., H, W, 1)``."""
  mean = jnp.mean(gms, axis=(-3, -2, -1), keepdims=True)
  return jnp.mean(jnp.square(gms - mean), axis=(-3, -2, -1))


def _gms_variance(x, y, t, alpha=0.0):
  """Squared GMSD of luminance maps ``(..., H, W, 1)``."""
  gms = _similarity(_prewitt_magnitude(x), _prewitt_magnitude(y), t, alpha)
  return _deviation_sq(gms)


def _scale_weights(scale_weights, dtype, default):
  if scale_weights is None:
    scale_weights = default
  if isinstance(scale_weights, (tuple, list)):
    levels = len(scale_weights)
    sw = jnp.stack([jnp.asarray(s, dtype) for s in scale_weights]) if levels else None
  else:
    sw = jnp.asarray(scale_weights, dtype)
    if sw.ndim != 1:
      raise LossInputError(
          f"scale_weights must be a 1-D sequence of per-scale weights, got shape {sw.shape}")
    levels = sw.shape[0]
  if levels < 1:
    raise LossInputError("scale_weights must hold at least one weight, got shape (0,)")
  return sw, levels


# --------------------------------------------------------------------------
# GMSD.
# --------------------------------------------------------------------------


@register(tasks=_IQA_TASKS, input_kind="images",
          peer="piq.GMSDLoss / piq.gmsd (0.8; NCHW there)",
          references=(_XUE14,))
@loss_function(ranges={"data_range": "> 0", "t": "> 0"})
def gmsd_loss(predictions, targets, *, data_range=1.0, t=170.0 / 255.0 ** 2, weights=None,
              where=None, reduction="mean"):
  r"""Gradient Magnitude Similarity Deviation (GMSD, Xue et al. 2014) per image.

  .. math::
    \mathrm{GMS} = \frac{2\,m_p m_t + T}{m_p^2 + m_t^2 + T},\qquad
    \ell_b = \operatorname{std}_{i}\,\mathrm{GMS}_i

  Both images are divided by ``data_range``; RGB images are reduced to their
  luma ``Y = 0.299 R + 0.587 G + 0.114 B``; both are 2x2 average-pooled
  (piq's padding of odd sizes: the bottom and right get
  ``max(H % 2, W % 2)`` zeros); ``m`` is the Prewitt gradient magnitude
  (3x3 kernels ``[-1, 0, 1] / 3``, zero padding) and the loss is the
  population standard deviation of the GMS map over the pixels. GMSD is
  itself a distance (0 for identical images, lower is better): piq's
  ``GMSDLoss`` returns it unchanged, and so does this loss.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``C`` 1 (grey) or 3
      (RGB), ``H, W >= 2``.
    targets: images of the same shape.
    data_range: value range of the images (default 1.0 as piq; 255.0 for
      8-bit), > 0.
    t: stability constant ``T`` on the [0, 1] scale (default
      ``170 / 255**2``, the paper's 170 for 8-bit images).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, ``C`` not 1 or 3, ``H`` or
      ``W`` < 2, concrete ``data_range <= 0`` or ``t <= 0``.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    piq is NCHW; ``gmsd_loss(p, t) == piq.GMSDLoss()(p_nchw, t_nchw)`` with
    ``p = jnp.moveaxis(p_nchw, 1, -1)``. The guarded square roots give a
    finite gradient at identical images, where torch's is NaN.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16 * 3).reshape(1, 16, 16, 3)
    >>> print(round(float(jaxloss.gmsd_loss(x, x)), 6), round(float(jaxloss.gmsd_loss(x, x ** 2)), 4))
    0.0 0.1946
  """
  x, y = _pair("gmsd_loss", predictions, targets, where, min_size=2)
  data_range = jnp.asarray(data_range, x.dtype)
  x, y = x / data_range, y / data_range
  if x.shape[-1] == 3:
    x, y = _colour(x, _YIQ, (0,)), _colour(y, _YIQ, (0,))
  x, y = _pool2(x), _pool2(y)
  values = nx.safe_sqrt(_gms_variance(x, y, jnp.asarray(t, x.dtype)))
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# MS-GMSD.
# --------------------------------------------------------------------------


@register(tasks=_IQA_TASKS, input_kind="images",
          peer="piq.MultiScaleGMSDLoss / piq.multi_scale_gmsd (0.8; NCHW there)",
          references=(_ZHANG17, _XUE14))
@loss_function(static=("chromatic",),
               ranges={"data_range": "> 0", "t": "> 0", "alpha": "[0, 2)", "beta1": ">= 0",
                       "beta2": ">= 0", "beta3": ">= 0"})
def ms_gmsd_loss(predictions, targets, *, data_range=1.0, scale_weights=None, chromatic=False,
                 alpha=0.5, beta1=0.01, beta2=0.32, beta3=15.0, t=170.0, weights=None,
                 where=None, reduction="mean"):
  r"""Multi-scale GMSD (MS-GMSD, Zhang et al. 2017) per image; MS-GMSDc with ``chromatic``.

  .. math::
    \mathrm{GMS}^{(j)} = \frac{(2 - \alpha)\,m_p m_t + T}
      {m_p^2 + m_t^2 - \alpha\,m_p m_t + T},\qquad
    D = \sqrt{\textstyle\sum_j w_j \operatorname{var}_i \mathrm{GMS}^{(j)}_i}

  Images are rescaled to [0, 255] (``x / data_range * 255``), RGB converted to
  YIQ. At scale ``j`` (the first at full resolution, each next one 2x2
  average-pooled as :func:`gmsd_loss`) the masked GMS map of the luma's
  Prewitt magnitudes ``m`` gives a variance; ``w`` are the normalised
  ``scale_weights``. With ``chromatic=True`` (RGB only) the loss is
  MS-GMSDc:

  .. math::
    \gamma = \frac{2}{1 + \beta_2 e^{-\beta_3 D}} - 1,\qquad
    \ell = \gamma D + (1 - \gamma)\,\beta_1\,
      \sqrt{\operatorname{mean}(\Delta I^2) + \operatorname{mean}(\Delta Q^2)}

  with the chroma ``I, Q`` of the coarsest scale. Without ``chromatic`` the
  loss is ``D``: a distance, 0 for identical images, as piq's loss.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``C`` 1 or 3 (3 when
      ``chromatic``), ``H, W >= 2**M + 1`` for ``M`` scales (17 by default).
    targets: images of the same shape.
    data_range: value range of the images (default 1.0 as piq), > 0.
    scale_weights: per-scale weights, normalised to sum 1; their number is the
      number of scales ``M``. Default (None): ``(0.096, 0.596, 0.289, 0.019)``.
    chromatic: add the chromatic term (MS-GMSDc; default False), static.
    alpha: masking coefficient (default 0.5).
    beta1: weight of the chromatic term (default 0.01).
    beta2: constant of ``gamma`` (default 0.32).
    beta3: constant of ``gamma`` (default 15.0).
    t: stability constant on the [0, 255] scale (default 170).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, ``C`` not 1 or 3 (not 3 with
      ``chromatic``), images smaller than ``2**M + 1``, empty
      ``scale_weights``, or concrete out-of-range options.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    Matches ``piq.MultiScaleGMSDLoss`` (NCHW there). Its square roots are
    guarded: finite gradient at identical images (torch: NaN).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 32 * 32 * 3).reshape(1, 32, 32, 3)
    >>> print(round(float(jaxloss.ms_gmsd_loss(x, x)), 6), round(float(jaxloss.ms_gmsd_loss(x, x ** 2)), 4))
    0.0 0.2039
  """
  sw, levels = _scale_weights(scale_weights, nx.compute_dtype(predictions, targets),
                              MS_GMSD_WEIGHTS)
  x, y = _pair("ms_gmsd_loss", predictions, targets, where,
               channels=(3,) if chromatic else (1, 3), min_size=2 ** levels + 1)
  sw = sw / jnp.sum(sw)
  scale = 255.0 / jnp.asarray(data_range, x.dtype)
  x, y = x * scale, y * scale
  if x.shape[-1] == 3:
    x, y = _colour(x, _YIQ, (0, 1, 2)), _colour(y, _YIQ, (0, 1, 2))
  t = jnp.asarray(t, x.dtype)
  total = 0.0
  for level in range(levels):
    if level:
      x, y = _pool2(x), _pool2(y)
    total = total + sw[level] * _gms_variance(x[..., :1], y[..., :1], t, alpha)
  values = nx.safe_sqrt(total)
  if chromatic:
    chroma = nx.safe_sqrt(jnp.mean(jnp.square(x[..., 1:] - y[..., 1:]), axis=(-3, -2, -1)) * 2.0)
    gamma = 2.0 / (1.0 + beta2 * jnp.exp(-beta3 * values)) - 1.0
    values = gamma * values + (1.0 - gamma) * beta1 * chroma
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# MDSI.
# --------------------------------------------------------------------------


def _avg_pool_k(x, k):
  """MDSI's pre-filter: zero padding ``(k-1)//2`` before and ``k//2`` after, ``k x k`` mean
  with stride ``k`` (floor), as piq for ``k > 1``."""
  if k == 1:
    return x
  lo, hi = (k - 1) // 2, k // 2
  x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(lo, hi), (lo, hi), (0, 0)])
  h2, w2 = x.shape[-3] // k, x.shape[-2] // k
  x = x[..., :k * h2, :k * w2, :]
  x = x.reshape(x.shape[:-3] + (h2, k, w2, k, x.shape[-1]))
  return jnp.mean(x, axis=(-4, -2))


def _signed_power(v, p):
  """Modulus and phase of the complex power ``v ** p`` of a real ``v`` (phase 0 or p*pi)."""
  return nx.safe_pow(jnp.abs(v), p), jnp.where(v < 0, jnp.pi * p, 0.0)


@register(tasks=_IQA_TASKS, input_kind="images",
          peer="piq.MDSILoss / piq.mdsi (0.8; NCHW there)",
          references=(_NAFCHI16,))
@loss_function(static=("combination",), choices={"combination": ("sum", "mult")},
               ranges={"data_range": "> 0", "c1": "> 0", "c2": "> 0", "c3": "> 0",
                       "rho": "> 0", "q": "> 0", "o": "> 0"})
def mdsi_loss(predictions, targets, *, data_range=1.0, c1=140.0, c2=55.0, c3=550.0,
              combination="sum", alpha=0.6, beta=0.1, gamma=0.2, rho=1.0, q=0.25, o=0.25,
              weights=None, where=None, reduction="mean"):
  r"""Mean Deviation Similarity Index (MDSI, Nafchi et al. 2016) per image; lower is better.

  .. math::
    \mathrm{GS} = S(g_p, g_t; C_1) + S(g_p, g_a; C_2) - S(g_t, g_a; C_2),\qquad
    \mathrm{CS} = \frac{2(H_p H_t + M_p M_t) + C_3}{H_p^2 + H_t^2 + M_p^2 + M_t^2 + C_3}

  .. math::
    \mathrm{GCS} = \alpha\,\mathrm{GS} + (1 - \alpha)\,\mathrm{CS},\qquad
    \ell = \Big(\operatorname{mean}_i \big|\mathrm{GCS}_i^{\,q}
      - \operatorname{mean}_j \mathrm{GCS}_j^{\,q}\big|^{\rho}\Big)^{o/\rho}

  with ``S(a, b; C) = (2ab + C) / (a^2 + b^2 + C)``. Images are rescaled to
  [0, 255], average-pooled by ``k = max(1, round(min(H, W) / 256))`` (none
  below 384 pixels), converted to the LHM colour space (``L = 0.2989 R + 0.587
  G + 0.114 B``, ``H``, ``M``); ``g`` are Prewitt gradient magnitudes of
  ``L`` of the prediction, the target and their average ``a``. Powers of
  negative ``GCS`` are complex (``|v|^q e^{i q \pi}``) and the deviation is a
  complex modulus, as in the paper's code. ``combination="mult"`` replaces
  GCS by piq's ``GS^gamma * CS^beta`` (real parts multiplied, imaginary parts
  added). MDSI is a distance (0 for identical images); piq's ``MDSILoss``
  returns it unchanged, and so does this loss.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``C`` 3 (RGB) or 1
      (grey, copied to three channels as piq does).
    targets: images of the same shape.
    data_range: value range of the images (default 1.0 as piq), > 0.
    c1: gradient-similarity constant (default 140).
    c2: constant of the similarities to the average image (default 55).
    c3: chromaticity-similarity constant (default 550).
    combination: "sum" (default) | "mult", static.
    alpha: weight of GS in the sum (default 0.6).
    beta: power of CS in "mult" (default 0.1).
    gamma: power of GS in "mult" (default 0.2).
    rho: order of the Minkowski pooling of the deviations (default 1).
    q: power applied to GCS (default 0.25).
    o: final power pooling (default 0.25).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, ``C`` not 1 or 3, an unknown
      ``combination`` or concrete non-positive constants.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    Matches ``piq.MDSILoss`` (NCHW there). The guarded square root and
    fractional powers keep the gradient finite at identical images (the loss
    is 0 there; torch's gradient is NaN).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16 * 3).reshape(1, 16, 16, 3)
    >>> print(round(float(jaxloss.mdsi_loss(x, x)), 6), round(float(jaxloss.mdsi_loss(x, x ** 2)), 4))
    0.0 0.3436
  """
  x, y = _pair("mdsi_loss", predictions, targets, where)
  if x.shape[-1] == 1:
    x = jnp.broadcast_to(x, x.shape[:-1] + (3,))
    y = jnp.broadcast_to(y, y.shape[:-1] + (3,))
  scale = 255.0 / jnp.asarray(data_range, x.dtype)
  x, y = x * scale, y * scale
  k = max(1, round(min(x.shape[-3], x.shape[-2]) / 256))
  x, y = _avg_pool_k(x, k), _avg_pool_k(y, k)
  x, y = _colour(x, _LHM, (0, 1, 2)), _colour(y, _LHM, (0, 1, 2))
  lx, ly = x[..., :1], y[..., :1]
  gx, gy = _prewitt_magnitude(lx), _prewitt_magnitude(ly)
  ga = _prewitt_magnitude((lx + ly) / 2.0)
  gs = _similarity(gx, gy, c1) + _similarity(gx, ga, c2) - _similarity(gy, ga, c2)
  hx, mx, hy, my = x[..., 1:2], x[..., 2:], y[..., 1:2], y[..., 2:]
  cs = (2.0 * (hx * hy + mx * my) + c3) / (hx * hx + hy * hy + mx * mx + my * my + c3)
  if combination == "sum":
    # GCS ** q: modulus |GCS|^q, phase q*pi for negative GCS.
    mod, phase = _signed_power(alpha * gs + (1.0 - alpha) * cs, q)
  else:
    gm, gp = _signed_power(gs, gamma)
    cm, cp = _signed_power(cs, beta)
    re = gm * jnp.cos(gp) * cm * jnp.cos(cp)
    im = gm * jnp.sin(gp) + cm * jnp.sin(cp)
    r2 = re * re + im * im
    nonzero = r2 > 0
    # atan2's gradient is NaN at (0, 0): evaluate it at (1, 0) there (double where).
    phase = jnp.where(nonzero, jnp.arctan2(jnp.where(nonzero, im, 0.0),
                                           jnp.where(nonzero, re, 1.0)), 0.0) * q
    mod = nx.safe_pow(r2, q / 2.0)
  zr, zi = mod * jnp.cos(phase), mod * jnp.sin(phase)
  axes = (-3, -2, -1)
  dr = zr - jnp.mean(zr, axis=axes, keepdims=True)
  di = zi - jnp.mean(zi, axis=axes, keepdims=True)
  dev = nx.safe_sqrt(dr * dr + di * di)
  values = nx.safe_pow(jnp.mean(nx.safe_pow(dev, rho), axis=axes), o / rho)
  return reduce_loss(values, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# HaarPSI.
# --------------------------------------------------------------------------

_HAAR_SCALES = 3


def _haar_coefficients(x, k):
  """Horizontal and vertical Haar responses of size ``k`` (``(..., H, W, 1)`` each).

  piq's kernel is ``+1/k`` on the top ``k/2`` rows and ``-1/k`` below (and its
  transpose), applied as a correlation after zero padding ``k/2 - 1`` before
  and ``k/2`` after (MATLAB's ``conv2(..., 'same')``); it is separable into a
  signed step along one axis and a box along the other.
  """
  nd = x.ndim
  ha, wa = nd - 3, nd - 2
  lo, hi = k // 2 - 1, k // 2
  xp = jnp.pad(x, [(0, 0)] * (nd - 3) + [(lo, hi), (lo, hi), (0, 0)])
  step = jnp.asarray([1.0] * (k // 2) + [-1.0] * (k // 2), x.dtype) / k
  box = jnp.ones((k,), x.dtype)
  horizontal = nx.filter_valid(nx.filter_valid(xp, step, ha), box, wa)
  vertical = nx.filter_valid(nx.filter_valid(xp, box, ha), step, wa)
  return horizontal, vertical


@register(tasks=_IQA_TASKS, input_kind="images",
          peer="piq.HaarPSILoss (1 - piq.haarpsi; 0.8, NCHW there)",
          references=(_REISENHOFER18,))
@loss_function(static=("subsample",),
               ranges={"data_range": "> 0", "c": "> 0", "alpha": "> 0"})
def haarpsi_loss(predictions, targets, *, data_range=1.0, subsample=True, c=30.0, alpha=4.2,
                 weights=None, where=None, reduction="mean"):
  r"""Haar wavelet-based perceptual similarity loss ``1 - HaarPSI`` (Reisenhofer et al. 2018).

  .. math::
    S_o = \tfrac12 \sum_{s=1}^{2} \frac{2|h^{p}_{s,o}||h^{t}_{s,o}| + C}
                                      {|h^{p}_{s,o}|^2 + |h^{t}_{s,o}|^2 + C},\qquad
    W_o = \max(|h^{p}_{3,o}|, |h^{t}_{3,o}|)

  .. math::
    \mathrm{HaarPSI} = \Big(\frac{1}{\alpha}\operatorname{logit}
      \frac{\sum_{o,i} \sigma(\alpha S_{o,i})\,W_{o,i} + \epsilon}
           {\sum_{o,i} W_{o,i} + \epsilon}\Big)^{2},\qquad
    \ell = 1 - \mathrm{HaarPSI}

  Images are rescaled to [0, 255], RGB converted to YIQ, 2x2 average-pooled
  when ``subsample`` (as :func:`gmsd_loss`); ``h_{s,o}`` are the Haar
  responses of the luma at scale ``s`` (kernel ``2^s``) in orientation ``o``
  (horizontal, vertical); the coarsest scale weights the pixels. For RGB a
  third "orientation" compares the 2x2-averaged magnitudes of the chroma
  ``I`` and ``Q`` (mean of their two similarities) with the mean of the two
  weights. ``epsilon`` is the dtype's machine epsilon, as piq.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``C`` 1 or 3,
      ``H, W >= 16``.
    targets: images of the same shape.
    data_range: value range of the images (default 1.0 as piq), > 0.
    subsample: 2x2 average pooling first (default True), static.
    c: similarity constant (default 30).
    alpha: sigmoid sharpness (default 4.2).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, ``C`` not 1 or 3, ``H`` or
      ``W`` < 16, or concrete non-positive constants.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    piq's ``HaarPSILoss`` is ``1 - reduce(HaarPSI)``: the same for "mean",
    ``1 - sum`` for "sum" (here the sum of the per-image losses). The logit
    is computed as ``log(S + eps) - log(sum(sigmoid(-alpha S_i) W_i))``
    (equal, without piq's ``1 - r`` cancellation) and capped at ``alpha``,
    its value for identical images: the loss is >= 0, identical images give 0
    up to round-off (< 1e-6), and an all-zero pair (no Haar energy, where
    piq's ``eps / eps = 1`` makes the logit infinite) gives 0.
    piq has a ``scales`` option but only works for its default 3; it is
    fixed at 3 here.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16 * 3).reshape(1, 16, 16, 3)
    >>> print(round(float(jaxloss.haarpsi_loss(x, x)), 6), round(float(jaxloss.haarpsi_loss(x, x ** 2)), 4))
    0.0 0.2047
  """
  x, y = _pair("haarpsi_loss", predictions, targets, where, min_size=2 ** (_HAAR_SCALES + 1))
  rgb = x.shape[-1] == 3
  scale = 255.0 / jnp.asarray(data_range, x.dtype)
  x, y = x * scale, y * scale
  if rgb:
    x, y = _colour(x, _YIQ, (0, 1, 2)), _colour(y, _YIQ, (0, 1, 2))
  if subsample:
    x, y = _pool2(x), _pool2(y)
  cx = [_haar_coefficients(x[..., :1], 2 ** (s + 1)) for s in range(_HAAR_SCALES)]
  cy = [_haar_coefficients(y[..., :1], 2 ** (s + 1)) for s in range(_HAAR_SCALES)]
  sims, wts = [], []
  for o in range(2):
    wts.append(jnp.maximum(jnp.abs(cx[-1][o]), jnp.abs(cy[-1][o])))
    sims.append(sum(_similarity(jnp.abs(cx[s][o]), jnp.abs(cy[s][o]), c)
                    for s in range(_HAAR_SCALES - 1)) / (_HAAR_SCALES - 1))
  if rgb:
    def chroma(v):  # |2x2 mean| of I, Q after one zero row/column at the bottom/right
      vp = jnp.pad(v[..., 1:], [(0, 0)] * (v.ndim - 3) + [(0, 1), (0, 1), (0, 0)])
      return jnp.abs(_shift_sum(_shift_sum(vp, v.ndim - 3, (0, 1)), v.ndim - 2, (0, 1)) / 4.0)
    sims.append(jnp.mean(_similarity(chroma(x), chroma(y), c), axis=-1, keepdims=True))
    wts.append((wts[0] + wts[1]) / 2.0)
  sim, wt = jnp.concatenate(sims, axis=-1), jnp.concatenate(wts, axis=-1)
  alpha = jnp.asarray(alpha, x.dtype)
  eps = jnp.finfo(x.dtype).eps
  axes = (-3, -2, -1)
  # logit((S + eps) / (W + eps)) = log(S + eps) - log(W - S), with
  # W - S = sum(sigmoid(-alpha s) w) summed directly: no 1 - r cancellation.
  num = jnp.sum(jax.nn.sigmoid(alpha * sim) * wt, axis=axes) + eps
  den = jnp.sum(jax.nn.sigmoid(-alpha * sim) * wt, axis=axes)
  positive = den > 0
  logit = jnp.where(positive, jnp.log(num) - jnp.log(jnp.where(positive, den, 1.0)), alpha)
  # s <= 1 bounds the logit by alpha (HaarPSI <= 1); the cap removes the eps
  # excess and round-off, and covers blank images (W = 0, piq: infinite).
  index = jnp.square(jnp.where(logit < alpha, logit / alpha, 1.0))
  return reduce_loss(1.0 - index, reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# VIF (pixel domain).
# --------------------------------------------------------------------------

_VIF_MIN_SIZE = 41
_VIF_EPS = 1e-8


def _vif_window(k, dtype):
  """piq's ``gaussian_filter(k, k / 5)`` as its normalised 1-D factor."""
  coords = jnp.arange(k, dtype=dtype) - (k - 1) / 2.0
  g = jnp.exp(-(coords * coords) / (2.0 * (k / 5.0) ** 2))
  return g / jnp.sum(g)


def _gauss_valid(x, win):
  """Valid separable filtering of ``(..., H, W, C)`` by ``win`` along H and W.

  One depthwise convolution per axis: with VIF's 17-tap window XLA compiles
  it (and its transpose) much faster than the shifted-slice sums SSIM uses.
  """
  lead, (h, w, c) = x.shape[:-3], x.shape[-3:]
  v = x.reshape((-1, h, w, c))
  k = win.shape[0]
  dn = ("NHWC", "HWIO", "NHWC")
  for shape in ((k, 1, 1, 1), (1, k, 1, 1)):
    kern = jnp.broadcast_to(win.reshape(shape), shape[:3] + (c,))
    v = jax.lax.conv_general_dilated(v, kern, (1, 1), "VALID", dimension_numbers=dn,
                                     feature_group_count=c)
  return v.reshape(lead + v.shape[1:])


def _vif_terms(x, y, sigma_n_sq):
  """Summed numerator and denominator information of VIF over 4 scales, per image."""
  eps = _VIF_EPS
  num = den = 0.0
  for level in range(4):
    k = 2 ** (4 - level) + 1
    win = _vif_window(k, x.dtype)
    if level:
      x, y = (v[..., ::2, ::2, :] for v in jnp.split(_gauss_valid(jnp.concatenate([x, y], -1),
                                                                   win), 2, axis=-1))
    stats = _gauss_valid(jnp.concatenate([x, y, x * x, y * y, x * y], axis=-1), win)
    mu_x, mu_y, e_xx, e_yy, e_xy = jnp.split(stats, 5, axis=-1)
    sxx = jnp.maximum(e_xx - mu_x * mu_x, 0.0)
    syy = jnp.maximum(e_yy - mu_y * mu_y, 0.0)
    sxy = e_xy - mu_x * mu_y
    # The target y is the reference: distortion model x = g y + v (Sheikh & Bovik).
    g = sxy / (syy + eps)
    sv = sxx - g * sxy
    ok_y = syy >= eps
    g = jnp.where(ok_y, g, 0.0)
    sv = jnp.where(ok_y, sv, sxx)
    syy = jnp.where(ok_y, syy, 0.0)
    ok_x = sxx >= eps
    g = jnp.where(ok_x, g, 0.0)
    sv = jnp.where(ok_x, sv, 0.0)
    sv = jnp.where(g >= 0, sv, sxx)
    g = jnp.maximum(g, 0.0)
    sv = jnp.maximum(sv, eps)  # piq: sv if sv > eps else eps
    axes = (-3, -2, -1)
    num = num + jnp.sum(jnp.log10(1.0 + g * g * syy / (sv + sigma_n_sq)), axis=axes)
    den = den + jnp.sum(jnp.log10(1.0 + syy / sigma_n_sq), axis=axes)
  return num, den


@register(tasks=_IQA_TASKS, input_kind="images",
          peer="piq.VIFLoss (1 - clamp(piq.vif_p, 0, 1); 0.8, NCHW there)",
          references=(_SHEIKH06,))
@loss_function(ranges={"data_range": "> 0", "sigma_n_sq": "> 0"})
def vif_loss(predictions, targets, *, data_range=1.0, sigma_n_sq=2.0, weights=None, where=None,
             reduction="mean"):
  r"""Visual information fidelity loss ``1 - clip(VIF, 0, 1)`` (pixel domain, Sheikh & Bovik).

  .. math::
    \mathrm{VIF} = \frac{\sum_{j,i} \log_{10}\big(1 + g_{j,i}^2\,\sigma_{t;j,i}^2
                           / (\sigma_{v;j,i}^2 + \sigma_n^2)\big) + \epsilon}
                        {\sum_{j,i} \log_{10}\big(1 + \sigma_{t;j,i}^2 / \sigma_n^2\big)
                           + \epsilon},\qquad
    g = \frac{\sigma_{pt}}{\sigma_t^2 + \epsilon},\quad
    \sigma_v^2 = \sigma_p^2 - g\,\sigma_{pt}

  The *target* is the reference image and the prediction its distorted
  version (VIF is not symmetric). Images are rescaled to [0, 255], RGB
  reduced to luma; at 4 scales ``j`` local moments are taken with Gaussian
  windows of size ``2^{5-j} + 1`` (sigma = size / 5, valid), the image being
  filtered and decimated by 2 between scales; the degenerate-variance rules
  of the reference code (``vifp_mscale``) with ``epsilon = 1e-8`` follow.
  VIF is usually in [0, 1] (above 1 for contrast enhancement); the loss
  clips it to [0, 1] as piq's ``VIFLoss``.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``C`` 1 or 3,
      ``H, W >= 41``.
    targets: reference images of the same shape.
    data_range: value range of the images (default 1.0 as piq), > 0.
    sigma_n_sq: variance of the visual noise (default 2.0, on the [0, 255]
      scale).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, ``C`` not 1 or 3, ``H`` or
      ``W`` < 41, concrete ``data_range <= 0`` or ``sigma_n_sq <= 0``.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    piq's ``VIFLoss`` is ``1 - clamp(reduce(VIF), 0, 1)``; here each image's
    VIF is clipped, then the losses are reduced: the same for "mean" when
    every VIF lies in [0, 1], different for "sum". Where VIF > 1 the loss is
    0 with a zero gradient. The variances are ``E[x^2] - E[x]^2`` of the
    [0, 255]-scaled images, as piq: float32 round-off there is ~1e-4
    relative in VIF (pass float64 for more).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 48 * 48).reshape(1, 48, 48, 1)
    >>> print(round(float(jaxloss.vif_loss(x, x)), 4), round(float(jaxloss.vif_loss(x ** 2, x)), 4))
    0.0 0.1828
  """
  x, y = _pair("vif_loss", predictions, targets, where, min_size=_VIF_MIN_SIZE)
  scale = 255.0 / jnp.asarray(data_range, x.dtype)
  x, y = x * scale, y * scale
  if x.shape[-1] == 3:
    x, y = _colour(x, _YIQ, (0,)), _colour(y, _YIQ, (0,))
  num, den = _vif_terms(x, y, jnp.asarray(sigma_n_sq, x.dtype))
  vif = (num + _VIF_EPS) / (den + _VIF_EPS)
  return reduce_loss(1.0 - jnp.clip(vif, 0.0, 1.0), reduction, where=where, weights=weights)


# --------------------------------------------------------------------------
# FSIM.
# --------------------------------------------------------------------------


def _fsim_filters(h, w, scales, orientations, min_length, mult, sigma_f, delta_theta):
  """Log-Gabor filters ``(O, S, H, W)`` in the (unshifted) frequency domain, and
  ``sum_s f_s^2`` and ``sum_{s < s'} f_s f_{s'}`` of their spatial responses, per
  orientation (Kovesi's phase congruency, as piq). Built in NumPy float64 from the
  static sizes: constants of the traced program."""
  def axis(n):
    if n % 2:
      return np.arange(-(n - 1) / 2, n / 2) / (n - 1)
    return np.arange(-n / 2, n / 2) / n
  gx, gy = np.meshgrid(axis(h), axis(w), indexing="ij")
  radius = np.sqrt(gx ** 2 + gy ** 2)
  theta = np.arctan2(-gy, gx)
  lowpass = np.fft.ifftshift(1.0 / (1.0 + (radius / 0.45) ** 30))
  radius, theta = np.fft.ifftshift(radius), np.fft.ifftshift(theta)
  radius[0, 0] = 1.0
  log_gabor = []
  for s in range(scales):
    omega = 1.0 / (min_length * mult ** s)
    g = np.exp(-np.log(radius / omega) ** 2 / (2 * np.log(sigma_f) ** 2)) * lowpass
    g[0, 0] = 0.0
    log_gabor.append(g)
  theta_sigma = np.pi / (orientations * delta_theta)
  spread = []
  for o in range(orientations):
    a = o * np.pi / orientations
    ds = np.sin(theta) * np.cos(a) - np.cos(theta) * np.sin(a)
    dc = np.cos(theta) * np.cos(a) + np.sin(theta) * np.sin(a)
    spread.append(np.exp(-np.arctan2(ds, dc) ** 2 / (2 * theta_sigma ** 2)))
  filters = np.stack(spread)[:, None] * np.stack(log_gabor)[None]  # (O, S, H, W)
  spatial = np.fft.ifft2(filters).real * np.sqrt(h * w)
  sum_sq = np.sum(spatial ** 2, axis=(1, 2, 3))
  cross = sum(np.sum(spatial[:, s:s + 1] * spatial[:, s + 1:], axis=(1, 2, 3))
              for s in range(scales - 1)) if scales > 1 else np.zeros(orientations)
  em_n = np.sum(filters[:, 0] ** 2, axis=(1, 2))
  return filters, sum_sq, cross, em_n


def _phase_congruency(lum, filt, k):
  """Phase congruency map ``(..., H, W)`` of a luma ``(..., H, W)`` (piq's Kovesi variant)."""
  filters, sum_sq, cross, em_n = filt
  dtype = lum.dtype
  eps = jnp.finfo(dtype).eps
  h, w = lum.shape[-2:]
  eo = jnp.fft.ifft2(jnp.fft.fft2(lum)[..., None, None, :, :] * jnp.asarray(filters, dtype))
  even, odd = jnp.real(eo).astype(dtype), jnp.imag(eo).astype(dtype)  # (..., O, S, H, W)
  amplitude = nx.safe_sqrt(even * even + odd * odd)
  sum_e = jnp.sum(even, axis=-3, keepdims=True)
  sum_o = jnp.sum(odd, axis=-3, keepdims=True)
  norm = nx.safe_sqrt(sum_e * sum_e + sum_o * sum_o) + eps
  mean_e, mean_o = sum_e / norm, sum_o / norm
  energy = jnp.sum(even * mean_e + odd * mean_o - jnp.abs(even * mean_o - odd * mean_e), axis=-3)
  # Noise from the smallest scale: torch.median is the lower median.
  e2 = (even[..., 0, :, :] ** 2 + odd[..., 0, :, :] ** 2).reshape(even.shape[:-4] + (-1, h * w))
  median = jnp.sort(e2, axis=-1)[..., (h * w - 1) // 2]  # (..., O)
  noise_power = (-median / np.log(0.5)) / jnp.asarray(em_n, dtype)
  noise_energy2 = (2.0 * noise_power * jnp.asarray(sum_sq, dtype)
                   + 4.0 * noise_power * jnp.asarray(cross, dtype))
  tau = nx.safe_sqrt(noise_energy2 / 2.0)
  threshold = (tau * np.sqrt(np.pi / 2) + k * np.sqrt(2 - np.pi / 2) * tau) / 1.7
  energy = jnp.maximum(energy - threshold[..., None, None], 0.0)  # (..., O, H, W)
  return (jnp.sum(energy, axis=-3) + eps) / (jnp.sum(amplitude, axis=(-4, -3)) + eps)


def _scharr_magnitude(x):
  """Scharr gradient magnitude ``[[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]] / 16`` (zero padding)."""
  nd = x.ndim
  ha, wa = nd - 3, nd - 2
  h, w = x.shape[-3], x.shape[-2]
  xp = jnp.pad(x, [(0, 0)] * (nd - 3) + [(1, 1), (1, 1), (0, 0)])
  sl = jax.lax.slice_in_dim
  rows = 3.0 * sl(xp, 0, h, axis=ha) + 10.0 * sl(xp, 1, h + 1, axis=ha) + 3.0 * sl(xp, 2, h + 2,
                                                                                   axis=ha)
  cols = 3.0 * sl(xp, 0, w, axis=wa) + 10.0 * sl(xp, 1, w + 1, axis=wa) + 3.0 * sl(xp, 2, w + 2,
                                                                                   axis=wa)
  gx = (sl(rows, 2, w + 2, axis=wa) - sl(rows, 0, w, axis=wa)) / 16.0
  gy = (sl(cols, 2, h + 2, axis=ha) - sl(cols, 0, h, axis=ha)) / 16.0
  return nx.safe_sqrt(gx * gx + gy * gy)


@register(tasks=_IQA_TASKS, input_kind="images",
          peer="piq.FSIMLoss (1 - clamp(piq.fsim, 0, 1); 0.8, NCHW there)",
          references=(_ZHANG11,))
@loss_function(static=("chromatic", "scales", "orientations", "min_length", "mult", "sigma_f",
                       "delta_theta"),
               ranges={"data_range": "> 0", "scales": ">= 1", "orientations": ">= 1",
                       "min_length": "> 0", "mult": "> 0", "sigma_f": "(0, 1)",
                       "delta_theta": "> 0", "k": ">= 0"})
def fsim_loss(predictions, targets, *, data_range=1.0, chromatic=True, scales=4, orientations=4,
              min_length=6, mult=2, sigma_f=0.55, delta_theta=1.2, k=2.0, weights=None,
              where=None, reduction="mean"):
  r"""Feature similarity loss ``1 - clip(FSIM, 0, 1)`` (Zhang et al. 2011); FSIMc by default.

  .. math::
    S_{PC} = \frac{2 PC_p PC_t + T_1}{PC_p^2 + PC_t^2 + T_1},\quad
    S_{G} = \frac{2 G_p G_t + T_2}{G_p^2 + G_t^2 + T_2},\quad
    \mathrm{FSIM} = \frac{\sum_i S_{PC,i} S_{G,i} [S_{I,i} S_{Q,i}]^{\lambda} PC_{m,i}}
                         {\sum_i PC_{m,i}}

  Images are rescaled to [0, 255], average-pooled by
  ``max(1, round(min(H, W) / 256))`` (stride = size, no padding), RGB
  converted to YIQ. ``PC`` is the phase congruency of the luma (log-Gabor
  filters over ``scales`` x ``orientations`` applied by FFT, noise threshold
  from the median smallest-scale energy, as Kovesi's code in piq), ``G``
  the Scharr gradient magnitude, ``PC_m = max(PC_p, PC_t)``; ``T_1 = 0.85``,
  ``T_2 = 160``. With ``chromatic`` (FSIMc, piq's default) the chroma
  similarities ``S_I, S_Q`` (constant 200) enter with power ``lambda = 0.03``.

  Args:
    predictions: floating images ``(..., H, W, C)``, ``C`` 3 (``C`` 1 needs
      ``chromatic=False``), ``H, W >= 2`` after the pooling.
    targets: images of the same shape.
    data_range: value range of the images (default 1.0 as piq), > 0.
    chromatic: FSIMc (default True, as piq), static.
    scales: number of log-Gabor scales (default 4), static.
    orientations: number of filter orientations (default 4), static.
    min_length: wavelength of the smallest scale (default 6), static.
    mult: wavelength ratio of successive scales (default 2), static.
    sigma_f: bandwidth ratio of the log-Gabor filters (default 0.55), static.
    delta_theta: angular spacing / angular sigma (default 1.2), static.
    k: noise standard deviations in the threshold (default 2.0).
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none".

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: shape mismatch, rank < 3, ``C`` not 1 or 3 (not 3 with
      ``chromatic``), images under 2 x 2 after pooling, or concrete
      out-of-range options.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    piq's ``FSIMLoss`` is ``1 - clamp(reduce(FSIM), 0, 1)``; here each image
    is clipped, then reduced (the same for "mean" while every FSIM is in
    [0, 1]). ``min_length``, ``mult``, ``sigma_f`` and ``delta_theta`` shape
    the filters, built once per shape in NumPy: they are static. Square roots are
    guarded (finite gradient at identical and blank images).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.linspace(0., 1., 16 * 16 * 3).reshape(1, 16, 16, 3)
    >>> print(round(float(jaxloss.fsim_loss(x, x)), 4), round(float(jaxloss.fsim_loss(x, x ** 2)), 4))
    0.0 0.1696
  """
  x, y = _pair("fsim_loss", predictions, targets, where, channels=(3,) if chromatic else (1, 3))
  scale = 255.0 / jnp.asarray(data_range, x.dtype)
  x, y = x * scale, y * scale
  p = max(1, round(min(x.shape[-3], x.shape[-2]) / 256))
  if p > 1:
    h2, w2 = x.shape[-3] // p, x.shape[-2] // p
    pool = lambda v: jnp.mean(v[..., :h2 * p, :w2 * p, :].reshape(  # noqa: E731
        v.shape[:-3] + (h2, p, w2, p, v.shape[-1])), axis=(-4, -2))
    x, y = pool(x), pool(y)
  if min(x.shape[-3], x.shape[-2]) < 2:
    raise LossInputError(f"predictions has shape {predictions.shape}: spatial size is too small "
                         f"for fsim_loss; expected H, W >= 2 (after {p}x{p} pooling)")
  consts = tuple(float(v) for v in (min_length, mult, sigma_f, delta_theta))
  if x.shape[-1] == 3:
    x, y = _colour(x, _YIQ, (0, 1, 2)), _colour(y, _YIQ, (0, 1, 2))
  filt = _fsim_filters(x.shape[-3], x.shape[-2], scales, orientations, *consts)
  k = jnp.asarray(k, x.dtype)
  pc_x = _phase_congruency(x[..., 0], filt, k)[..., None]
  pc_y = _phase_congruency(y[..., 0], filt, k)[..., None]
  s_pc = _similarity(pc_x, pc_y, 0.85)
  s_g = _similarity(_scharr_magnitude(x[..., :1]), _scharr_magnitude(y[..., :1]), 160.0)
  pc_max = jnp.maximum(pc_x, pc_y)
  score = s_g * s_pc * pc_max
  if chromatic:
    s_iq = (_similarity(x[..., 1:2], y[..., 1:2], 200.0)
            * _similarity(x[..., 2:], y[..., 2:], 200.0))
    score = score * nx.safe_pow(jnp.abs(s_iq), 0.03)
  axes = (-3, -2, -1)
  value = jnp.sum(score, axis=axes) / jnp.sum(pc_max, axis=axes)
  return reduce_loss(1.0 - jnp.clip(value, 0.0, 1.0), reduction, where=where, weights=weights)
