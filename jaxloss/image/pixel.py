"""Pixel-space and spectral reconstruction losses: PSNR, total variation,
image gradients, focal frequency loss and masked (inpainting) reconstruction.

The conventions (channels-last images, per-image ``where``) are those of
:mod:`jaxloss.image`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _examples as ex
from jaxloss import _numerics as nx
from jaxloss._api import (
  LossInputError,
  check_floating,
  check_min_rank,
  debug_check_probabilities,
  loss_function,
  reduce_loss,
)
from jaxloss.catalog import register
from jaxloss.image._common import (
  _IMAGE_AXES,
  _IMAGE_TASKS,
  _SURVEY,
  _image_pair,
  _images_example,
  _ssim_example,
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


def _psnr_edges(key):
  p, t = _images_example(key)
  kw = {"data_range": 1.0}
  return [((t, t), kw), ((t + 1e-7, t), kw), ((255.0 * p, 255.0 * t), {"data_range": 255.0})]


@register(tasks=("image quality assessment",) + _IMAGE_TASKS,
          input_kind="images",
          peer="piq.psnr (a metric: higher is better)",
          references=("Huynh-Thu & Ghanbari, Scope of validity of PSNR in image/video quality "
                      "assessment, Electronics Letters 2008",),
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


@register(tasks=_IMAGE_TASKS, input_kind="images",
          peer="kornia.losses.psnr_loss (-PSNR; per-image MSE as piq.psnr)",
          references=("Huynh-Thu & Ghanbari, Scope of validity of PSNR in image/video quality "
                      "assessment, Electronics Letters 2008", _SURVEY),
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


@register(tasks=("image restoration", "style transfer", "denoising",
                                  "image inpainting"),
          input_kind="images",
          peer="kornia.losses.total_variation (anisotropic, summed over channels); "
               "isotropic: Rudin-Osher-Fatemi / Chambolle forward differences",
          references=("Rudin, Osher & Fatemi, Nonlinear total variation based noise removal "
                      "algorithms, Physica D 1992",
                      "Chambolle, An algorithm for total variation minimization, JMIV 2004",
                      _SURVEY),
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


@register(tasks=("image restoration", "super-resolution", "depth estimation",
                                  "image dehazing"),
          input_kind="images",
          peer="L1 between forward-difference image gradients (edge loss); no single peer function",
          references=("Mathieu, Couprie & LeCun, Deep multi-scale video prediction beyond mean "
                      "square error (gradient difference loss), ICLR 2016", _SURVEY),
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


@register(tasks=("image reconstruction", "image synthesis",
                                  "image-to-image generation"),
          input_kind="images",
          peer="focal_frequency_loss.FocalFrequencyLoss (official; loss_weight=1)",
          references=("Jiang, Dai, Wu & Loy, Focal Frequency Loss for Image Reconstruction and "
                      "Synthesis, ICCV 2021", _SURVEY),
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


@register(tasks=("image inpainting",), input_kind="images",
          peer="Liu et al. 2018 partial-conv L_hole / L_valid (NVIDIA inpainting loss)",
          references=("Liu, Reda, Shih, Wang, Tao & Catanzaro, Image Inpainting for Irregular "
                      "Holes Using Partial Convolutions, ECCV 2018", _SURVEY),
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
