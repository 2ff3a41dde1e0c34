"""Shared helpers of the image losses: validation, the separable Gaussian filter
(with its hand-written VJP) and references."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss import _numerics as nx
from jaxloss._api import (
    LossInputError,
    check_floating,
    check_min_rank,
    check_same_shape,
)

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


_WANG04 = ("Wang, Bovik, Sheikh & Simoncelli, Image Quality Assessment: From Error Visibility "
           "to Structural Similarity, IEEE TIP 2004")
_WANG03 = ("Wang, Simoncelli & Bovik, Multiscale Structural Similarity for Image Quality "
           "Assessment, Asilomar 2003")
_ZHAO17 = ("Zhao, Gallo, Frosio & Kautz, Loss Functions for Image Restoration with Neural "
           "Networks, IEEE TCI 2017")

_IMAGE_TASKS = ("image restoration", "image-to-image generation", "image dehazing",
                "super-resolution", "denoising")
