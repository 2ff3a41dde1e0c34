"""Pixel-space and spectral reconstruction losses: PSNR, total variation,
image gradients, focal frequency loss and masked (inpainting) reconstruction.

The conventions (channels-last images, per-image ``where``) are those of
:mod:`jaxloss.image`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_min_rank,
  debug_check_probabilities,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import SURVEY, register
from jaxloss.image._common import (
  _IMAGE_AXES,
  _IMAGE_TASKS,
  _image_pair,
)

__all__ = ["focal_frequency_loss", "gradient_loss", "masked_reconstruction_loss", "psnr",
           "psnr_loss", "total_variation_loss"]


# --------------------------------------------------------------------------
# PSNR.
# --------------------------------------------------------------------------


def _psnr_values(predictions, targets, where, data_range, eps):
  x, y = _image_pair(predictions, targets, where)
  d = (x - y) / jnp.asarray(data_range, x.dtype)
  mse = jnp.mean(d * d, axis=_IMAGE_AXES)
  # eps keeps identical images finite (80 dB for eps=1e-8) with gradient 0.
  return -10.0 * jnp.log10(mse + jnp.asarray(eps, x.dtype))


@register(tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="piq.psnr (a metric: higher is better)",
          references=("Huynh-Thu & Ghanbari, Scope of validity of PSNR in image/video quality "
                      "assessment, Electronics Letters 2008",))
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

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> print(jaxloss.psnr(jnp.full((1, 4, 4, 1), 0.1), jnp.zeros((1, 4, 4, 1)), data_range=1.0))
    19.999998
  """
  values = _psnr_values(predictions, targets, where, data_range, eps)
  return reduce_loss(values, reduction, where=where, weights=weights)


@register(tasks=_IMAGE_TASKS, input_kind="images",
          peer="kornia.losses.psnr_loss (-PSNR; per-image MSE as piq.psnr)",
          references=("Huynh-Thu & Ghanbari, Scope of validity of PSNR in image/video quality "
                      "assessment, Electronics Letters 2008", SURVEY))
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

  Notes:
    Unlike kornia's ``psnr_loss``, the MSE is per image (kornia: one MSE over
    the batch) and ``eps`` is piq's.

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


@register(tasks=("image restoration", "style transfer", "denoising",
                                  "image inpainting"),
          input_kind="images",
          peer="kornia.losses.total_variation (anisotropic, summed over channels); "
               "isotropic: Rudin-Osher-Fatemi / Chambolle forward differences",
          references=("Rudin, Osher & Fatemi, Nonlinear total variation based noise removal "
                      "algorithms, Physica D 1992",
                      "Chambolle, An algorithm for total variation minimization, JMIV 2004",
                      SURVEY))
@loss_function(static=("mode", "normalize"),
               choices={"mode": ("anisotropic", "isotropic"), "normalize": (False, True)})
def total_variation_loss(predictions, *, mode="anisotropic", normalize=False, weights=None,
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
    predictions: floating images ``(..., H, W, C)``.
    mode: "anisotropic" (default, L1 of neighbour differences) |
      "isotropic" (pixelwise L2 of the gradient), static.
    normalize: average instead of sum within each image (default False),
      static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none" over images.

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none".

  Raises:
    LossInputError: rank < 3.
    LossTypeError: ``predictions`` is not floating.

  Notes:
    The anisotropic sum matches ``kornia.losses.total_variation(reduction="sum")``
    summed over channels. piq's ``total_variation(norm_type="l2")`` is a different, global form
    (the square root of all squared differences of an image).

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> x = jnp.array([[0., 1.], [1., 1.]]).reshape(1, 2, 2, 1)
    >>> print(jaxloss.total_variation_loss(x), jaxloss.total_variation_loss(x, mode="isotropic"))
    2.0 1.414214
  """
  check_floating("predictions", predictions)
  check_min_rank("predictions", predictions, 3, "(..., H, W, C) images")
  x = nx.mask_fill(predictions.astype(nx.compute_dtype(predictions)), where, trailing=3)
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


@register(tasks=("image restoration", "super-resolution", "depth estimation",
                                  "image dehazing"),
          input_kind="images",
          peer="L1 between forward-difference image gradients (edge loss); no single peer function",
          references=("Mathieu, Couprie & LeCun, Deep multi-scale video prediction beyond mean "
                      "square error (gradient difference loss), ICLR 2016", SURVEY))
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


@register(tasks=("image reconstruction", "image synthesis",
                                  "image-to-image generation"),
          input_kind="images",
          peer="focal_frequency_loss.FocalFrequencyLoss (official; loss_weight=1)",
          references=("Jiang, Dai, Wu & Loy, Focal Frequency Loss for Image Reconstruction and "
                      "Synthesis, ICCV 2021", SURVEY))
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

  Notes:
    The official ``FocalFrequencyLoss`` options ``ave_spectrum`` and a
    predefined ``matrix`` are not offered.

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


@register(tasks=("image inpainting",), input_kind="images",
          peer="Liu et al. 2018 partial-conv L_hole / L_valid (NVIDIA inpainting loss)",
          references=("Liu, Reda, Shih, Wang, Tao & Catanzaro, Image Inpainting for Irregular "
                      "Holes Using Partial Convolutions, ECCV 2018, Eq. (1)-(2)", SURVEY),
          components=("hole", "valid"))
@loss_function(static=("return_components",),
               ranges={"hole_weight": ">= 0", "valid_weight": ">= 0"})
def masked_reconstruction_loss(predictions, targets, mask, *, hole_weight=6.0,
                               valid_weight=1.0, return_components=False, weights=None,
                               where=None, reduction="mean"):
  r"""Hole / valid L1 reconstruction loss for inpainting (Liu et al. 2018), per image.

  .. math::
    \mathcal{L}_{hole} = \frac{1}{N}\|(1 - M)\odot(p - t)\|_1,\quad
    \mathcal{L}_{valid} = \frac{1}{N}\|M\odot(p - t)\|_1,\quad
    \ell = \lambda_{hole}\mathcal{L}_{hole} + \lambda_{valid}\mathcal{L}_{valid}

  ``M`` is 1 on known (valid) pixels and 0 in the holes, as in the paper;
  ``N`` is the number of elements of an image (both terms are means over
  *all* elements, not over each region, as the paper and its reference
  implementation normalise), so the "mean" over images is the paper's loss
  of the batch. The perceptual, style and TV terms of the paper are separate
  losses.

  Args:
    predictions: floating images ``(..., H, W, C)``.
    targets: images of the same shape.
    mask: 1 = valid, 0 = hole; boolean or float in [0, 1], of shape
      ``predictions.shape``, ``(..., H, W, 1)`` or ``(..., H, W)``.
    hole_weight: ``lambda_hole`` (default 6.0, the paper's), >= 0; may be
      traced.
    valid_weight: ``lambda_valid`` (default 1.0), >= 0; may be traced.
    return_components: also return the unweighted parts (default False),
      static.
    weights: optional per-image weights, broadcastable to ``(...)``.
    where: optional boolean mask over images, broadcastable to ``(...)``.
    reduction: "mean" (default) | "sum" | "none" (applied to every part).

  Returns:
    A scalar for "mean"/"sum"; ``predictions.shape[:-3]`` for "none". With
    ``return_components=True`` the pair ``(total, {"hole": ..., "valid":
    ...})``, the unweighted parts reduced the same way.

  Raises:
    LossInputError: shape mismatch of ``targets`` or ``mask``.

  Notes:
    The paper's weights are lambda_hole = 6, lambda_valid = 1.

  Examples:
    >>> import jax.numpy as jnp, jaxloss
    >>> t = jnp.zeros((1, 2, 2, 1)); p = jnp.ones_like(t)
    >>> m = jnp.array([[1., 1.], [1., 0.]]).reshape(1, 2, 2, 1)
    >>> total, parts = jaxloss.masked_reconstruction_loss(p, t, m, return_components=True)
    >>> print(total, parts["hole"], parts["valid"])
    2.25 0.25 0.75
  """
  x, y = _image_pair(predictions, targets, where)
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
  if where is not None:   # a NaN in the mask of an excluded image must not leak
    m = nx.mask_fill(jnp.broadcast_to(m, x.shape[:-1] + m.shape[-1:]), where, trailing=3)
  m = m.astype(x.dtype)
  debug_check_probabilities("mask", m)
  err = jnp.abs(x - y)
  n = err.shape[-3] * err.shape[-2] * err.shape[-1]
  hole = jnp.sum((1.0 - m) * err, axis=_IMAGE_AXES) / n
  valid = jnp.sum(m * err, axis=_IMAGE_AXES) / n
  values = (jnp.asarray(hole_weight, x.dtype) * hole
            + jnp.asarray(valid_weight, x.dtype) * valid)
  total = reduce_loss(values, reduction, where=where, weights=weights)
  if not return_components:
    return total
  return total, {"hole": reduce_loss(hole, reduction, where=where, weights=weights),
                 "valid": reduce_loss(valid, reduction, where=where, weights=weights)}
