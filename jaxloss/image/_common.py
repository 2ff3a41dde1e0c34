"""Shared helpers of the image losses: validation, the separable Gaussian filter
(with its hand-written VJP) and references."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._api import (
  LossInputError,
  paired_inputs,
)

_IMAGE_AXES = (-3, -2, -1)

# --------------------------------------------------------------------------
# Shared helpers.
# --------------------------------------------------------------------------


def _image_pair(predictions, targets, where):
  """Validates an image pair and returns both, masked, in the compute dtype."""
  return paired_inputs(predictions, targets, where, min_rank=3, what="(..., H, W, C) images",
                       trailing=3)


def _gaussian_window(size: int, sigma, dtype):
  coords = jnp.arange(size, dtype=dtype) - (size // 2)
  sigma = jnp.asarray(sigma, dtype)
  g = jnp.exp(-(coords * coords) / (2.0 * sigma * sigma))
  return g / jnp.sum(g)




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
